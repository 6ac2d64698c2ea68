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
    run("bin-reads", "--reads", str(reads), "--tss", str(tss), "--out", str(out), "--window-bp", "300",
        "--bin-bp", "100", "--engine", engine)
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
    run("bin-reads", "--bigwig", str(bw_path), "--stat", "max", "--tss", str(tss), "--out", str(out),
        "--window-bp", "300")
    table = pd.read_csv(out, sep="\t", index_col=0)
    np.testing.assert_allclose(table.loc["GP"].to_numpy(), [2, 4, 0, 0, 0, 0])


def test_bad_input_exits_2_with_file_and_line(tmp_path):
    tss = tmp_path / "tss.tsv"
    tss.write_text("gene_id\tchrom\ttss\tstrand\nG1\tchr1\tabc\t+\n")
    reads = tmp_path / "r.bed"
    reads.write_text("chr1\t1\t5\n")
    proc = run("bin-reads", "--reads", str(reads), "--tss", str(tss), "--out", str(tmp_path / "o.tsv"), check=False)
    assert proc.returncode == 2
    assert f"{tss}:2" in proc.stderr and "not an integer" in proc.stderr
    assert not (tmp_path / "o.tsv").exists()


def test_reference_ingest_export_round_trip(tmp_path):
    ref = tmp_path / "ref"
    run("reference", "--annotation", str(REPO / "data/demo/genes.tsv"), "--chrom-sizes",
        str(REPO / "data/demo/chrom.sizes"), "--expression", str(REPO / "data/demo/expression.tsv"),
        "--out-dir", str(ref))
    # the demo genes: 3,789 -> 3,318 after the 5 kb TSS filter (data/demo/README.md)
    assert len(pd.read_csv(ref / "tss.tsv", sep="\t")) == 3318
    sample = REPO / "data/real/deepdiff_sample"
    npz = tmp_path / "E003.npz"
    run("ingest", "--format", "deepdiff", "--train", str(sample / "E003.train.csv.gz"), "--valid",
        str(sample / "E003.valid.csv.gz"), "--test", str(sample / "E003.test.csv.gz"), "--expression",
        str(REPO / "data/real/remc_counts_9cells.tsv.gz"), "--cell", "E003", "--out", str(npz))
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
