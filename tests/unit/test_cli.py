"""The chromexpr command line, run as a user runs it (a real subprocess of the installed entry point)."""

from __future__ import annotations

import argparse
import gzip
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMEXPR = str(Path(sys.executable).parent / "chromexpr")


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([CHROMEXPR, *args], capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout + proc.stderr)
    return proc


def bin_reads(reads: Path, tss: Path, out: Path, *flags: str, check: bool = True) -> subprocess.CompletedProcess:
    """``chromexpr bin-reads --reads READS --tss TSS --out OUT FLAGS...``"""
    return run("bin-reads", "--reads", str(reads), "--tss", str(tss), "--out", str(out), *flags, check=check)


@pytest.fixture()
def small_inputs(tmp_path):
    """Two genes on chr1 (one per strand) and hand-placed reads."""
    tss = tmp_path / "tss.tsv"
    tss.write_text("gene_id\tchrom\ttss\tstrand\nGP\tchr1\t1000\t+\nGM\tchr1\t5000\t-\n")
    reads = tmp_path / "reads.tagAlign.gz"
    # + gene GP, W=300, B=100: window [700, 1300); bins [700,800) ... [1200,1300)
    # - gene GM: window [4701, 5301), reversed: bin0 = [5201,5301), bin3 = [4901,5001) (holds TSS 5000)
    lines = [
        "chr1\t750\t786\tN\t1000\t+",  # GP bin 0
        "chr1\t790\t826\tN\t1000\t-",  # GP bins 0 and 1 (crosses 800)
        "chr1\t1300\t1336\tN\t1000\t+",  # starts at GP window end: no bin (half-open)
        "chr1\t4990\t5026\tN\t1000\t+",  # GM genomic [4901,5001) and [5001,5101) -> bins 3 and 2
        "chr1\t5250\t5286\tN\t1000\t+",  # GM genomic [5201,5301) -> bin 0
    ]
    with gzip.open(reads, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    return tss, reads


@pytest.mark.parametrize("engine", ["native", "bedtools"])
def test_bin_reads_hand_checked(small_inputs, tmp_path, engine):
    tss, reads = small_inputs
    out = tmp_path / f"{engine}.tsv"
    bin_reads(reads, tss, out, "--window-bp", "300", "--bin-bp", "100", "--engine", engine)
    table = pd.read_csv(out, sep="\t", index_col=0)
    # columns are named by each bin's start relative to the TSS (transcription order); values as before
    assert list(table.columns) == ["bin_-300", "bin_-200", "bin_-100", "bin_0", "bin_100", "bin_200"]
    np.testing.assert_array_equal(table.loc["GP"].to_numpy(), [2, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(table.loc["GM"].to_numpy(), [1, 0, 1, 1, 0, 0])


def test_bin_reads_bigwig(tmp_path):
    import pyBigWig

    bw_path = tmp_path / "signal.bw"
    bw = pyBigWig.open(str(bw_path), "w")
    bw.addHeader([("chr1", 10_000)])
    # constant 2.0 over [700, 800), 4.0 over [800, 850): bin 0 mean 2, bin 1 mean (50*4)/100 = 2
    bw.addEntries(["chr1", "chr1"], [700, 800], ends=[800, 850], values=[2.0, 4.0])
    bw.close()
    tss = tmp_path / "tss.tsv"
    tss.write_text("gene_id\tchrom\ttss\tstrand\nGP\tchr1\t1000\t+\n")
    out = tmp_path / "bw.tsv"
    run(
        "bin-reads",
        "--bigwig",
        str(bw_path),
        "--stat",
        "max",
        "--tss",
        str(tss),
        "--out",
        str(out),
        "--window-bp",
        "300",
    )
    table = pd.read_csv(out, sep="\t", index_col=0)
    np.testing.assert_allclose(table.loc["GP"].to_numpy(), [2, 4, 0, 0, 0, 0])


def test_bad_input_exits_2_with_file_and_line(tmp_path):
    tss = tmp_path / "tss.tsv"
    tss.write_text("gene_id\tchrom\ttss\tstrand\nG1\tchr1\tabc\t+\n")
    reads = tmp_path / "r.bed"
    reads.write_text("chr1\t1\t5\n")
    proc = bin_reads(reads, tss, tmp_path / "o.tsv", check=False)
    assert proc.returncode == 2
    assert f"{tss}:2" in proc.stderr and "not an integer" in proc.stderr
    assert not (tmp_path / "o.tsv").exists()


def test_reference_ingest_export_round_trip(tmp_path):
    ref = tmp_path / "ref"
    run(
        "reference",
        "--annotation",
        str(REPO / "src/chromexpr/data/demo/genes.tsv"),
        "--chrom-sizes",
        str(REPO / "src/chromexpr/data/demo/chrom.sizes"),
        "--expression",
        str(REPO / "src/chromexpr/data/demo/expression.tsv"),
        "--out-dir",
        str(ref),
    )
    # the demo genes: 3,789 -> 3,318 after the 5 kb TSS filter (data/demo/README.md)
    assert len(pd.read_csv(ref / "tss.tsv", sep="\t")) == 3318
    sample = REPO / "data/real/deepdiff_sample"
    npz = tmp_path / "E003.npz"
    run(
        "ingest",
        "--format",
        "deepdiff",
        "--train",
        str(sample / "E003.train.csv.gz"),
        "--valid",
        str(sample / "E003.valid.csv.gz"),
        "--test",
        str(sample / "E003.test.csv.gz"),
        "--expression",
        str(REPO / "data/real/remc_counts_9cells.tsv.gz"),
        "--cell",
        "E003",
        "--out",
        str(npz),
    )
    csv = tmp_path / "E003.csv.gz"
    run("export", "--dataset", str(npz), "--out", str(csv))
    with gzip.open(csv, "rt") as fh:
        assert fh.readline().strip() == "geneID,binID,H3K27me3,H3K36me3,H3K4me1,H3K4me3,H3K9me3,label"
        n = 1 + sum(1 for _ in fh)
    assert n == 1 + 600 * 200  # 600 genes x 200 bins


def test_help_lists_subcommands():
    out = run("--help").stdout
    for sub in ("bin-reads", "ingest", "reference", "dataset", "export", "simulate", "download", "train", "score"):
        assert sub in out


# --------------------------------------------------------------------------------------------
# bad inputs: the message names the flag or the file (and line), never a config key or a traceback
# --------------------------------------------------------------------------------------------


def _stderr_first_line(proc: subprocess.CompletedProcess) -> str:
    """The first line of the error message (warnings logged before it are skipped)."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return next(line for line in proc.stderr.splitlines() if line.startswith("chromexpr ") and ": error: " in line)


@pytest.mark.parametrize(
    ("flags", "first_line"),
    [
        (["--bin-bp", "33", "--window-bp", "5000"], "--window-bp 5000 is not a multiple of --bin-bp 33"),
        (["--window-bp", "0"], "--window-bp 0 must be positive"),
        (["--window-bp", "-300"], "--window-bp -300 must be positive"),
        (["--bin-bp", "0"], "--bin-bp 0 must be positive"),
    ],
)
def test_bad_geometry_names_the_flag(small_inputs, tmp_path, flags, first_line):
    tss, reads = small_inputs
    proc = bin_reads(reads, tss, tmp_path / "o.tsv", *flags, check=False)
    assert _stderr_first_line(proc) == f"chromexpr bin-reads: error: {first_line}"
    assert "bins." not in proc.stderr and "config key" not in proc.stderr


def _bigwig_chr1(path):
    import pyBigWig

    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("chr1", 10_000)])
    bw.addEntries(["chr1"], [700], ends=[800], values=[2.0])
    bw.close()
    return path


def test_bigwig_missing_chromosomes_error_then_warn(tmp_path):
    bw_path = _bigwig_chr1(tmp_path / "signal.bw")
    tss = tmp_path / "tss.tsv"
    tss.write_text("gene_id\tchrom\ttss\tstrand\nGP\tchr1\t1000\t+\nG17\tchr17\t1000\t+\n")
    out = tmp_path / "bw.tsv"
    args = ["bin-reads", "--bigwig", str(bw_path), "--tss", str(tss), "--out", str(out), "--window-bp", "300"]
    proc = run(*args, check=False)
    assert _stderr_first_line(proc) == (
        f"chromexpr bin-reads: error: {bw_path}: the bigWig lacks 1 chromosome(s) of the TSS table (chr17): "
        "1 of 2 genes lie on them and would be all zeros (the bigWig lists chr1)"
    )
    assert "--missing-chromosomes warn" in proc.stderr and not out.exists()
    proc = run(*args, "--missing-chromosomes", "warn")
    assert "lacks 1 chromosome(s)" in proc.stderr  # the warning
    table = pd.read_csv(out, sep="\t", index_col=0)
    np.testing.assert_allclose(table.loc["G17"].to_numpy(), np.zeros(6))
    np.testing.assert_allclose(table.loc["GP"].to_numpy(), [2, 0, 0, 0, 0, 0])


def test_tss_and_chrom_sizes_naming_mismatch(small_inputs, tmp_path):
    _, reads = small_inputs
    tss = tmp_path / "tss17.tsv"
    tss.write_text("gene_id\tchrom\ttss\tstrand\nG1\t17\t1000\t+\n")
    sizes = tmp_path / "hg19.chrom.sizes"
    sizes.write_text("chr17\t81195210\n")
    proc = bin_reads(reads, tss, tmp_path / "o.tsv", "--chrom-sizes", str(sizes), check=False)
    assert _stderr_first_line(proc) == (
        f"chromexpr bin-reads: error: {tss}:2: TSS chromosomes use '17', chromosome sizes ({sizes}) use "
        "'chr17': a naming mismatch (UCSC 'chr' prefix vs Ensembl) on 1 of 1 chromosomes"
    )


def test_random_bytes_named_bam(small_inputs, tmp_path):
    tss, _ = small_inputs
    bam = tmp_path / "reads.bam"
    bam.write_bytes(np.random.default_rng(3).integers(0, 256, 10_000, dtype=np.uint8).tobytes())
    proc = bin_reads(bam, tss, tmp_path / "o.tsv", "--window-bp", "300", check=False)
    assert _stderr_first_line(proc).startswith(
        f"chromexpr bin-reads: error: {bam}: not a BAM file (no BAM header after BGZF decompression)"
    )


def test_tagalign_as_chrom_sizes(small_inputs, tmp_path):
    tss, reads = small_inputs
    proc = bin_reads(reads, tss, tmp_path / "o.tsv", "--chrom-sizes", str(reads), check=False)
    first = _stderr_first_line(proc)
    assert first.startswith(f"chromexpr bin-reads: error: {reads}:1: expected 2 columns 'chrom size', found 6")
    assert "this looks like a reads file (tagAlign/BED" in first


def test_config_keys_become_flags_in_messages(tmp_path):
    ann = tmp_path / "genes.tsv"
    ann.write_text("gene_id\tchrom\ttss\tstrand\n" + "".join(f"G{i}\tchr1\t{10_000 * (i + 1)}\t+\n" for i in range(9)))
    sizes = tmp_path / "chrom.sizes"
    sizes.write_text("chr1\t1000000\n")
    base = ["reference", "--annotation", str(ann), "--chrom-sizes", str(sizes), "--out-dir", str(tmp_path / "ref")]
    proc = run(*base, "--min-tss-distance", "-1", check=False)
    assert (
        _stderr_first_line(proc)
        == "chromexpr reference: error: --min-tss-distance: min_tss_distance must be >= 0, got -1"
    )
    proc = run(*base, "--split", "chromosome", check=False)
    assert _stderr_first_line(proc) == (
        "chromexpr reference: error: the chromosome split needs --valid-chromosomes and --test-chromosomes"
    )
    assert "config key" not in proc.stderr


def test_output_path_problems_are_named(small_inputs, tmp_path):
    tss, reads = small_inputs
    (tmp_path / "adir").mkdir()
    proc = bin_reads(reads, tss, tmp_path / "adir", "--window-bp", "300", check=False)
    assert _stderr_first_line(proc) == (
        f"chromexpr bin-reads: error: {tmp_path / 'adir'}: the output is a directory; cannot write a file there"
    )
    proc = bin_reads(reads, tss, tss / "o.tsv", "--window-bp", "300", check=False)  # a file where a folder should be
    assert _stderr_first_line(proc).endswith(f"cannot create the output's folder: {tss} is a file")


def test_no_gene_left_to_bin_names_the_tss_table(small_inputs, tmp_path):
    tss, reads = small_inputs
    sizes = tmp_path / "small.sizes"
    sizes.write_text("chr1\t2000\n")
    proc = bin_reads(reads, tss, tmp_path / "o.tsv", "--chrom-sizes", str(sizes), "--window-bp", "5000", check=False)
    assert _stderr_first_line(proc).startswith(
        f"chromexpr bin-reads: error: {tss}: none of the 2 genes is left to bin: every window (TSS +/- 5,000 bp)"
    )


def test_ingest_without_files(tmp_path):
    proc = run("ingest", "--format", "deepchrome", "--cell", "E003", "--out", str(tmp_path / "x.npz"), check=False)
    assert _stderr_first_line(proc) == "chromexpr ingest: error: no input file given"
    assert "--train" in proc.stderr


def test_check_config_accepts_the_shipped_configs():
    proc = run(
        "check-config",
        str(REPO / "config/config.yaml"),
        str(REPO / "config/remc.yaml"),
        "--schema",
        str(REPO / "config/schemas/config.schema.yaml"),
    )
    assert proc.stdout.strip().endswith("valid (remc source, 56 cells, 5 marks, 14 models)")


def test_check_config_names_file_line_and_key(tmp_path):
    schema = str(REPO / "config/schemas/config.schema.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("cells: [E003]\nmarks: [H3K4me3, H3K27me3\n")
    proc = run("check-config", str(REPO / "config/config.yaml"), str(broken), "--schema", schema, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith(
        f"chromexpr check-config: error: {broken}:3: YAML syntax error: while parsing a flow sequence started at line 2"
    )
    typo = tmp_path / "typo.yaml"
    typo.write_text("cells: [E003]\nnormalise: {log1p: true}\n")
    proc = run("check-config", str(REPO / "config/config.yaml"), str(typo), "--schema", schema, check=False)
    assert proc.returncode == 2
    assert "config key 'normalise': unknown config key\n  -> did you mean 'normalize'?" in proc.stderr
    lacking = tmp_path / "lacking.yaml"
    lacking.write_text("marks: [H3K4me3, H3K27me3]\ntrain: {models: [logreg]}\nreport: {reference_model: logreg}\n")
    proc = run("check-config", str(REPO / "config/config.yaml"), str(lacking), "--schema", schema, check=False)
    assert "model card 'logreg' needs the mark(s) H3K4me1, H3K36me3, H3K9me3" in proc.stderr


# --------------------------------------------------------------------------------------------
# bin-reads -> dataset: TSV or .npy, BED6 genes, several marks at once
# --------------------------------------------------------------------------------------------

DEMO = REPO / "src/chromexpr/data/demo"
TWO_MARKS = ("H3K4me3", "H3K27me3")


def _dataset(ref: Path, counts: dict[str, Path], out: Path, tss: Path | None = None):
    from chromexpr.dataset import load_dataset

    run(
        "dataset",
        "--counts",
        *(f"{mark}={path}" for mark, path in counts.items()),
        "--tss",
        str(tss or ref / "tss.tsv"),
        "--splits",
        str(ref / "splits.tsv"),
        "--expression",
        str(DEMO / "expression.tsv"),
        "--cell",
        "E003",
        "--out",
        str(out),
    )
    return load_dataset(out)


def _assert_same_dataset(a, b):
    np.testing.assert_array_equal(a.gene_ids, b.gene_ids)
    np.testing.assert_array_equal(a.marks, b.marks)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.signal, b.signal)
    np.testing.assert_array_equal(a.label, b.label)
    np.testing.assert_array_equal(a.split, b.split)


def test_bin_reads_tsv_chains_into_dataset_like_npy(demo_cell, tmp_path):
    root, ref, reads = demo_cell
    flags = [f for mark, path in reads.items() for f in ("--reads", f"{mark}={path}")]
    proc = run("bin-reads", *flags, "--tss", str(ref / "tss.tsv"), "--out-dir", str(tmp_path / "tsv"), "--threads", "2")
    run("bin-reads", *flags, "--tss", str(ref / "tss.tsv"), "--out-dir", str(tmp_path / "npy"), "--format", "npy")
    tsv = {mark: tmp_path / "tsv" / f"{mark}.tsv" for mark in TWO_MARKS}
    npy = {mark: tmp_path / "npy" / f"{mark}.npy" for mark in TWO_MARKS}
    assert all(p.is_file() for p in [*tsv.values(), *npy.values()])
    # a progress line per file on stderr, a human summary per file on stdout (no dict)
    for i, (mark, path) in enumerate(reads.items(), start=1):
        assert f"[{i}/2] binning {path} ({mark}) -> {tsv[mark]}" in proc.stderr
    summary = proc.stdout.strip().splitlines()
    assert len(summary) == 2 and "{" not in proc.stdout
    assert re.fullmatch(
        rf"E003-H3K4me3\.tagAlign\.gz: 3,318 genes x 100 bins, [\d,]+ reads, [\d,]+ near windows "
        rf"\(\d+\.\d%\), \d+\.\d s -> {re.escape(str(tsv['H3K4me3']))}",
        summary[0],
    ), summary[0]
    # TSV columns: each bin's start relative to the TSS; values equal the .npy's
    table = pd.read_csv(tsv["H3K4me3"], sep="\t", index_col=0)
    assert table.columns[0] == "bin_-5000" and table.columns[50] == "bin_0" and table.columns[-1] == "bin_4900"
    assert list(table.index) == list(pd.read_csv(ref / "tss.tsv", sep="\t")["gene_id"])
    for mark in TWO_MARKS:
        np.testing.assert_array_equal(pd.read_csv(tsv[mark], sep="\t", index_col=0).to_numpy(), np.load(npy[mark]))
    assert np.load(npy["H3K4me3"]).sum() > 0
    _assert_same_dataset(_dataset(ref, tsv, tmp_path / "from_tsv.npz"), _dataset(ref, npy, tmp_path / "from_npy.npz"))


def test_multi_mark_outputs_equal_single_file_runs(demo_cell, tmp_path):
    _, ref, reads = demo_cell
    flags = [f for mark, path in reads.items() for f in ("--reads", f"{mark}={path}")]
    run("bin-reads", *flags, "--tss", str(ref / "tss.tsv"), "--out-dir", str(tmp_path / "many"), "--threads", "2")
    for mark, path in reads.items():
        single = tmp_path / f"{mark}.single.tsv"
        bin_reads(path, ref / "tss.tsv", single)
        assert (tmp_path / "many" / f"{mark}.tsv").read_text() == single.read_text()
    # without MARK=, an input is named after its file
    run("bin-reads", "--reads", str(reads["H3K4me3"]), "--tss", str(ref / "tss.tsv"), "--out-dir", str(tmp_path / "n"))
    assert (tmp_path / "n" / "E003-H3K4me3.tsv").read_text() == (tmp_path / "H3K4me3.single.tsv").read_text()
    # --out with a .npy name writes an array
    bin_reads(reads["H3K4me3"], ref / "tss.tsv", tmp_path / "one.npy")
    np.testing.assert_array_equal(
        np.load(tmp_path / "one.npy"), pd.read_csv(tmp_path / "H3K4me3.single.tsv", sep="\t", index_col=0).to_numpy()
    )


def _as_bed6(tss_table: Path, bed: Path) -> None:
    """Gene bodies of 1 kb as BED6: '+' genes start at the TSS, '-' genes end one past it."""
    genes = pd.read_csv(tss_table, sep="\t", keep_default_na=False)
    plus = genes["strand"] != "-"
    start = np.where(plus, genes["tss"], genes["tss"] - 999)
    end = np.where(plus, genes["tss"] + 1000, genes["tss"] + 1)
    strand = genes["strand"].replace({"": "."})
    lines = [
        f"{c}\t{s}\t{e}\t{g}\t0\t{st}\n"
        for c, s, e, g, st in zip(genes["chrom"], start, end, genes["gene_id"], strand, strict=True)
    ]
    bed.write_text("track name=genes\n" + "".join(lines))


def test_bed6_tss_equals_the_tss_table(demo_cell, small_inputs, tmp_path):
    tss, reads_small = small_inputs
    bed = tmp_path / "small.bed"
    _as_bed6(tss, bed)
    bin_reads(reads_small, tss, tmp_path / "table.tsv", "--window-bp", "300")
    bin_reads(reads_small, bed, tmp_path / "bed.tsv", "--window-bp", "300")
    assert (tmp_path / "bed.tsv").read_text() == (tmp_path / "table.tsv").read_text()
    table = pd.read_csv(tmp_path / "bed.tsv", sep="\t", index_col=0)
    np.testing.assert_array_equal(table.loc["GM"].to_numpy(), [1, 0, 1, 1, 0, 0])

    _, ref, reads = demo_cell
    genes_bed = tmp_path / "genes.bed"
    _as_bed6(ref / "tss.tsv", genes_bed)
    for name, genes in (("table", ref / "tss.tsv"), ("bed", genes_bed)):
        run(
            "bin-reads",
            "--reads",
            f"H3K4me3={reads['H3K4me3']}",
            "--tss",
            str(genes),
            "--out-dir",
            str(tmp_path / name),
        )
    assert (tmp_path / "bed" / "H3K4me3.tsv").read_text() == (tmp_path / "table" / "H3K4me3.tsv").read_text()
    counts = {"H3K4me3": tmp_path / "bed" / "H3K4me3.tsv"}
    _assert_same_dataset(
        _dataset(ref, counts, tmp_path / "bed.npz", tss=genes_bed), _dataset(ref, counts, tmp_path / "table.npz")
    )


def test_dataset_names_file_and_line_of_a_gene_mismatch(demo_cell, tmp_path):
    _, ref, reads = demo_cell
    out = tmp_path / "H3K4me3.tsv"
    bin_reads(reads["H3K4me3"], ref / "tss.tsv", out)
    lines = out.read_text().splitlines(keepends=True)
    lines[3], lines[4] = lines[4], lines[3]  # genes 3 and 4 swapped
    swapped = tmp_path / "swapped.tsv"
    swapped.write_text("".join(lines))
    base = ["--splits", str(ref / "splits.tsv"), "--expression", str(DEMO / "expression.tsv"), "--cell", "E003"]
    args = ["dataset", "--tss", str(ref / "tss.tsv"), *base, "--out", str(tmp_path / "x.npz")]
    proc = run(*args, "--counts", f"H3K4me3={swapped}", check=False)
    first = _stderr_first_line(proc)
    gene3, gene4 = lines[4].split("\t")[0], lines[3].split("\t")[0]  # as in the TSS table (after the swap)
    assert first == (
        f"chromexpr dataset: error: {swapped}:4: gene '{gene4}' where the TSS table has '{gene3}' (gene 3 of 3,318): "
        "the rows must be the TSS table's genes in its order"
    )
    assert not (tmp_path / "x.npz").exists()
    truncated = tmp_path / "short.tsv"
    truncated.write_text("".join(out.read_text().splitlines(keepends=True)[:-1]))
    proc = run(*args, "--counts", f"H3K4me3={truncated}", check=False)
    assert _stderr_first_line(proc) == (
        f"chromexpr dataset: error: {truncated}: 3,317 genes but the TSS table has 3,318"
    )
    # told by content, not by name: a TSV called .npy is read as a TSV, and neither gives a clear message
    renamed = tmp_path / "counts.npy"
    renamed.write_text(out.read_text())
    run(*args, "--counts", f"H3K4me3={renamed}")
    junk = tmp_path / "junk.tsv"
    junk.write_text("chr1\t1\t2\n")
    proc = run(*args, "--counts", f"H3K4me3={junk}", check=False)
    assert _stderr_first_line(proc).startswith(
        f"chromexpr dataset: error: {junk}:1: neither a .npy array nor a bin-reads TSV"
    )
    assert "pickled" not in proc.stderr


def test_bin_reads_output_flags_are_checked(small_inputs, tmp_path):
    tss, reads = small_inputs
    two = ["--reads", f"A={reads}", "--reads", f"B={reads}", "--tss", str(tss)]
    proc = run("bin-reads", *two, "--out", str(tmp_path / "o.tsv"), check=False)
    assert _stderr_first_line(proc) == "chromexpr bin-reads: error: --out names one output file, but 2 inputs are given"
    proc = run(
        "bin-reads",
        "--reads",
        str(reads),
        "--reads",
        str(reads),
        "--tss",
        str(tss),
        "--out-dir",
        str(tmp_path),
        check=False,
    )
    assert "two inputs would write the same output in --out-dir: reads" in _stderr_first_line(proc)
    proc = run("bin-reads", "--tss", str(tss), "--out", str(tmp_path / "o.tsv"), check=False)
    assert _stderr_first_line(proc) == "chromexpr bin-reads: error: no input file given"
    proc = run("bin-reads", "--reads", str(reads), "--tss", str(tss), check=False)
    assert _stderr_first_line(proc) == "chromexpr bin-reads: error: no output given"
    proc = run(
        "bin-reads", "--reads", str(reads), "--tss", str(tss), "--out-dir", str(tmp_path), "--threads", "0", check=False
    )
    assert _stderr_first_line(proc) == "chromexpr bin-reads: error: --threads 0 must be at least 1"


def test_bed6_errors_name_file_and_line(small_inputs, tmp_path):
    _, reads = small_inputs
    bed = tmp_path / "genes.bed"
    bed.write_text("chr1\t1000\t2000\tG1\t0\t+\nchr1\t3000\t2500\tG2\t0\t-\n")
    proc = bin_reads(reads, bed, tmp_path / "o.tsv", check=False)
    assert _stderr_first_line(proc) == f"chromexpr bin-reads: error: {bed}:2: end 2500 is not after start 3000"


def test_every_option_of_every_subcommand_has_help():
    from chromexpr.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subparsers.choices) >= {"bin-reads", "reference", "dataset", "ingest", "export", "simulate", "download"}
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            assert action.help and action.help.strip(), f"{name} {action.option_strings or action.dest} has no help"
        assert sub.description and sub.description.strip(), name


def test_help_cites_no_internal_document():
    for sub in ("bin-reads", "reference", "dataset", "ingest", "export", "simulate", "download", "check-config"):
        text = run(sub, "--help").stdout
        for word in ("DESIGN", "MODEL_SPEC", "section 4"):
            assert word not in text, (sub, word)
    # the package's messages, model cards, templates and shipped READMEs
    sources = "\n".join(
        p.read_text() for p in (REPO / "src/chromexpr").rglob("*") if p.suffix in (".py", ".yaml", ".md", ".j2")
    )
    for word in ("DESIGN.md", "MODEL_SPEC", "section 4"):
        assert word not in sources, word


def test_console_script_returns_mains_status_and_skips_the_object_by_object_shutdown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import gc

    from chromexpr.cli import run

    monkeypatch.setattr(sys, "argv", ["chromexpr", "bin-reads", "--tss", "missing.tsv", "--out", "x.tsv"])
    try:
        assert run() == 2  # main's status: no input given
        assert gc.get_freeze_count() > 0  # the objects are left to the operating system at exit
    finally:
        gc.unfreeze()
    assert "no input file given" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [("--retries", "-1", "--retries -1 must be 0 or more"), ("--size", "-5", "--size -5 must be 0 or more")],
)
def test_download_flags_out_of_range_are_errors_not_tracebacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    from chromexpr.cli import main

    argv = ["download", "--url", "http://127.0.0.1:9/x.gz", "--out", str(tmp_path / "x.gz"), flag, value]
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(f"chromexpr download: error: {message}")


def _file_size_limit() -> None:  # in the child: writes past 4 KiB fail with EFBIG (a full disk fails with ENOSPC)
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_import_weights_onto_a_full_disk_names_the_file_not_torchs_zip_writer(tmp_path):
    """torch's writer says only 'inline_container.cc:672 unexpected pos'; the error names --out and what to do."""
    out = tmp_path / "model.pt"
    argv = [
        "import-weights",
        "--card",
        "attentivechrome",
        "--reference",
        str(REPO / "data/real/weights/attentivechrome_Cell1_R2.pt"),
    ]
    argv += ["--marks", "H3K4me1,H3K4me3,H3K9me3,H3K27me3,H3K36me3", "--bins", "200", "--out", str(out)]
    proc = subprocess.run([CHROMEXPR, *argv], capture_output=True, text=True, preexec_fn=_file_size_limit)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"chromexpr import-weights: error: {out}: could not write the file: File too large; ")
    assert (
        "free space on that disk" in proc.stderr
        and "Traceback" not in proc.stderr
        and "inline_container" not in proc.stderr
    )
    assert list(tmp_path.iterdir()) == []


def test_reference_split_deepdiff(tmp_path):
    """`chromexpr reference --split deepdiff` on the demo's 3,318 genes: the paper's blocks scaled (6100 / 10000 /
    2360 of 18,460 -> 1,096 test, 1,797 train, 425 valid), in sorted id order."""
    demo = REPO / "src/chromexpr/data/demo"
    out = tmp_path / "ref"
    proc = run(
        "reference", "--annotation", str(demo / "genes.tsv"), "--chrom-sizes", str(demo / "chrom.sizes"),
        "--expression", str(demo / "expression.tsv"), "--out-dir", str(out), "--split", "deepdiff",
    )  # fmt: skip
    assert "split 1,797 train, 425 valid, 1,096 test" in proc.stdout
    splits = pd.read_csv(out / "splits.tsv", sep="\t").sort_values("gene_id")
    assert splits["split"].tolist() == ["test"] * 1096 + ["train"] * 1797 + ["valid"] * 425


# --------------------------------------------------------------------------------------------
# train and score: the workflow's run shell from the command line
# --------------------------------------------------------------------------------------------

CORE_MARKS = ["H3K4me3", "H3K4me1", "H3K36me3", "H3K27me3", "H3K9me3"]


def _cell_dataset(path: Path, cell: str, seed: int) -> Path:
    """240 genes whose expression follows their H3K4me3 reads around the TSS (bins 45-54), 100 bins, 5 marks."""
    from chromexpr.dataset import build_dataset, save_dataset

    rng = np.random.default_rng(seed)
    n = 240
    level = rng.uniform(0, 6, n)
    counts = rng.poisson(1.0, (n, 5, 100)).astype(np.int32)  # (genes, marks, bins)
    counts[:, 0, 45:55] += rng.poisson(4 * level[:, None], (n, 10))
    split = np.array(["train", "valid", "test"] * (n // 3))
    ids = np.array([f"G{i:03d}" for i in range(n)])
    ds = build_dataset(counts, ids, CORE_MARKS, 2.0**level, split, cell=cell, geometry={"n_bins": 100})
    save_dataset(ds, path)
    return path


def test_train_and_score_from_the_command_line(tmp_path):
    import json

    a = _cell_dataset(tmp_path / "EA.npz", "EA", 0)
    b = _cell_dataset(tmp_path / "EB.npz", "EB", 1)
    out = run("train", "--card", "linear12", "--dataset", str(a), "--out", str(tmp_path / "run"), "--epochs", "3")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["model"] == "linear12" and metrics["cell"] == "EA" and metrics["epochs_run"] == 3
    assert metrics["test_auroc"] > 0.8  # the signal is real
    assert f"test AUROC {metrics['test_auroc']:.4f} on 80 test genes of EA" in out.stdout
    for name in ("model.pt", "predictions.tsv.gz", "history.tsv"):
        assert (tmp_path / "run" / name).is_file()
    # the same run from the library gives the same numbers (one shell)
    from chromexpr.training import train_model

    again = train_model("linear12", a, tmp_path / "lib", seed=0, max_epochs=3, device="cpu", threads=1)
    assert again["test_auroc"] == metrics["test_auroc"]
    # scored on the other cell, no training: the default folder under the run
    out = run("score", "--run", str(tmp_path / "run"), "--dataset", str(b))
    scored = tmp_path / "run" / "scored" / "EB"
    m = json.loads((scored / "metrics.json").read_text())
    assert m["cell"] == "EB" and m["n_test"] == 80 and m["trained_in"] == str(tmp_path / "run")
    predictions = pd.read_csv(scored / "predictions.tsv.gz", sep="\t")
    from sklearn.metrics import roc_auc_score

    assert m["test_auroc"] == pytest.approx(roc_auc_score(predictions["label"], predictions["probability"]))
    assert "(no training)" in out.stdout
    everything = run(
        "score", "--run", str(tmp_path / "run"), "--dataset", str(b), "--genes", "all", "--out", str(tmp_path / "all")
    )
    assert json.loads((tmp_path / "all" / "metrics.json").read_text())["n_test"] == 240 and everything.returncode == 0
    assert set(pd.read_csv(tmp_path / "all" / "predictions.tsv.gz", sep="\t")["split"]) == {"train", "valid", "test"}


def test_train_regression_and_refusals(tmp_path):
    import json

    a = _cell_dataset(tmp_path / "EA.npz", "EA", 0)
    run("train", "--card", "linear_regression", "--dataset", str(a), "--out", str(tmp_path / "reg"))
    metrics = json.loads((tmp_path / "reg" / "metrics.json").read_text())
    assert metrics["train_cells"] == ["EA"] and metrics["test_pearson"] > 0.5
    proc = run("train", "--card", "deepdiff_raw_d", "--dataset", str(a), "--out", str(tmp_path / "x"), check=False)
    assert proc.returncode == 2 and "is a differential card: it trains on two cells" in proc.stderr
    proc = run(
        "train", "--card", "linear12", "--dataset", str(a), "--out", str(tmp_path / "y"), "--threads", "0", check=False
    )
    assert proc.returncode == 2 and "--threads 0 must be 1 or more" in proc.stderr
    proc = run("score", "--run", str(tmp_path / "nothing"), "--dataset", str(a), check=False)
    assert proc.returncode == 2 and "not a finished run: it has no metrics.json" in proc.stderr
