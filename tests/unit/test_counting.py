"""bin_file, the workflow's binning step: bigWig missing chromosomes (error / warn), stats JSON, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyBigWig
import pytest

from chromexpr.errors import InputError
from chromexpr.preprocess.counting import bin_file
from chromexpr.preprocess.geometry import BinGeometry

GEO = BinGeometry(window_bp=300, bin_bp=100)


@pytest.fixture
def bigwig(tmp_path: Path) -> Path:
    """chr1 only, 2.0 over [700, 800)."""
    path = tmp_path / "signal.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("chr1", 10_000)])
    bw.addEntries(["chr1"], [700], ends=[800], values=[2.0])
    bw.close()
    return path


@pytest.fixture
def tss(tmp_path: Path) -> Path:
    """Three genes: one on chr1 (in the bigWig), two on chr17 (not in it)."""
    path = tmp_path / "tss.tsv"
    path.write_text("gene_id\tchrom\ttss\tstrand\nG1\tchr1\t1000\t+\nG2\tchr17\t5000\t-\nG3\tchr17\t9000\t+\n")
    return path


def test_bigwig_missing_chromosome_is_an_error_and_writes_nothing(bigwig: Path, tss: Path, tmp_path: Path) -> None:
    out = tmp_path / "counts.npy"
    with pytest.raises(InputError) as info:
        bin_file(bigwig, tss, out, tmp_path / "stats.json", geometry=GEO)
    text = str(info.value)
    assert text.startswith(f"{bigwig}: the bigWig lacks 1 chromosome(s) of the TSS table (chr17): 2 of 3 genes")
    assert "binning.missing_chromosomes: warn" in text
    assert not out.exists() and not (tmp_path / "stats.json").exists()


def test_bigwig_missing_chromosomes_warn_records_them_in_the_stats_json(
    bigwig: Path, tss: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out, stats_path = tmp_path / "counts.npy", tmp_path / "stats.json"
    with caplog.at_level("WARNING"):
        counts, info = bin_file(bigwig, tss, out, stats_path, geometry=GEO, missing_chromosomes="warn")
    assert "chr17" in caplog.text and "2 of 3 genes" in caplog.text
    np.testing.assert_allclose(np.load(out), counts)
    np.testing.assert_allclose(counts[0], [2, 0, 0, 0, 0, 0])  # [700, 800) mean 2.0
    np.testing.assert_array_equal(counts[1:], np.zeros((2, 6)))
    written = json.loads(stats_path.read_text())
    assert written["stats"]["missing_chromosomes"] == {"names": ["chr17"], "genes": 2}
    assert written["method"] == "bigwig:mean"
    assert info["stats"]["missing_chromosomes"] == {"names": ["chr17"], "genes": 2}


def test_bad_missing_chromosomes_setting_names_the_config_key(bigwig: Path, tss: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        bin_file(bigwig, tss, tmp_path / "c.npy", geometry=GEO, missing_chromosomes="zeros")  # type: ignore[arg-type]
    assert info.value.key == "binning.missing_chromosomes"
    assert "use error" in str(info.value) and "warn" in str(info.value)


def test_reads_ignore_missing_chromosomes(tss: Path, tmp_path: Path) -> None:
    # the setting is about bigWig chromosome lists; reads have none, a chromosome without reads is normal
    reads = tmp_path / "reads.bed"
    reads.write_text("chr1\t750\t786\n")
    counts, info = bin_file(reads, tss, tmp_path / "c.npy", geometry=GEO, missing_chromosomes="error")
    assert counts[0].tolist() == [1, 0, 0, 0, 0, 0]
    assert info["method"] == "reads:native"
