"""The chromexpr command line, run as a user runs it (a real subprocess of the installed entry point)."""

from __future__ import annotations

import gzip
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
    assert list(table.columns) == [f"bin_{i}" for i in range(6)]
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
    for sub in ("bin-reads", "ingest", "reference", "dataset", "export", "simulate", "download"):
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
