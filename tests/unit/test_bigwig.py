"""bigWig binning: mean/sum/max per bin checked by hand, minus-strand reversal, naming, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyBigWig
import pytest

from chromexpr.errors import InputError
from chromexpr.io.bigwig import BigWig
from chromexpr.preprocess.binning import bin_bigwig
from chromexpr.preprocess.geometry import BinGeometry

GEO = BinGeometry(window_bp=300, bin_bp=100)


def make_bigwig(path: Path, chroms: dict[str, int], entries: list[tuple[str, int, int, float]]) -> Path:
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(chroms.items()))
    for chrom, start, end, value in entries:
        bw.addEntries([chrom], [start], ends=[end], values=[value])
    bw.close()
    return path


# chr1 signal: [100,150)=2, [150,200)=4, [250,260)=1, [1000,1100)=3, [5000,5010)=-2; no data elsewhere.
ENTRIES = [
    ("chr1", 100, 150, 2.0),
    ("chr1", 150, 200, 4.0),
    ("chr1", 250, 260, 1.0),
    ("chr1", 1000, 1100, 3.0),
    ("chr1", 5000, 5010, -2.0),
]
GENES = pd.DataFrame(
    {
        "gene_id": ["plus", "minus", "negative"],
        "chrom": ["chr1", "chr1", "chr1"],
        "tss": [400, 1100, 5200],
        "strand": ["+", "-", "+"],
    }
)
# plus, TSS 400: window [100, 700), bins [100,200) [200,300) [300,400) ... [600,700).
#   bin0: 50 bases x 2 + 50 x 4 = 300 -> sum 300, mean 3.0, max 4
#   bin1: 10 bases x 1 = 10          -> sum 10,  mean 0.1, max 1
#   bins 2-5: no data                -> 0
# minus, TSS 1100: window [1100+1-300, 1101+300) = [801, 1401); genomic bins [801,901) [901,1001)
#   [1001,1101) [1101,1201) [1201,1301) [1301,1401).
#   [901,1001) holds base 1000 only: sum 3; [1001,1101) holds 1001..1099 = 99 bases: sum 297.
#   genomic sums [0, 3, 297, 0, 0, 0] -> transcription order (reversed) [0, 0, 0, 297, 3, 0].
# negative, TSS 5200: window [4900, 5500); bin [5000,5100) = 10 bases x -2 and 90 bases without data:
#   sum -20, mean -0.2, max 0 (uncovered bases count as 0).
EXPECTED_SUM = np.array([[300, 10, 0, 0, 0, 0], [0, 0, 0, 297, 3, 0], [0, -20, 0, 0, 0, 0]], dtype=np.float32)
EXPECTED_MAX = np.array([[4, 1, 0, 0, 0, 0], [0, 0, 0, 3, 3, 0], [0, 0, 0, 0, 0, 0]], dtype=np.float32)


@pytest.fixture
def bigwig(tmp_path: Path) -> Path:
    return make_bigwig(tmp_path / "signal.bw", {"chr1": 10_000, "chr2": 5_000}, ENTRIES)


def test_sum_mean_max_by_hand(bigwig: Path) -> None:
    total, stats = bin_bigwig(bigwig, GENES, GEO, stat="sum")
    assert total.dtype == np.float32 and total.shape == (3, 6)
    np.testing.assert_allclose(total, EXPECTED_SUM, rtol=0, atol=1e-4)
    mean, _ = bin_bigwig(bigwig, GENES, GEO, stat="mean")  # sum / bin_bp, uncovered bases as 0
    np.testing.assert_allclose(mean, EXPECTED_SUM / 100, rtol=0, atol=1e-6)
    maximum, _ = bin_bigwig(bigwig, GENES, GEO, stat="max")
    np.testing.assert_array_equal(maximum, EXPECTED_MAX)
    assert stats["genes_on_chroms_missing_from_bigwig"] == {}
    assert stats["stat"] == "sum"


def test_minus_strand_not_reversed_without_orientation(bigwig: Path) -> None:
    geometry = BinGeometry(window_bp=300, bin_bp=100, orient_by_strand=False)
    total, _ = bin_bigwig(bigwig, GENES, geometry, stat="sum")
    np.testing.assert_allclose(total[1], [0, 3, 297, 0, 0, 0], atol=1e-4)


def test_chr_less_gene_table_and_missing_chromosome(bigwig: Path) -> None:
    genes = GENES.assign(chrom=["1", "1", "1"])
    genes.loc[len(genes)] = ["elsewhere", "7", 2000, "+"]  # chromosome the bigWig lacks: zeros
    total, stats = bin_bigwig(bigwig, genes, GEO, stat="sum", missing_chromosomes="warn")
    np.testing.assert_allclose(total[:3], EXPECTED_SUM, atol=1e-4)
    np.testing.assert_array_equal(total[3], np.zeros(6))
    assert stats["genes_on_chroms_missing_from_bigwig"] == {"7": 1}
    assert stats["missing_chromosomes"] == {"names": ["7"], "genes": 1}
    assert stats["chrom_renamed"] == {"chr1": "1"}


def test_missing_chromosome_is_an_error_by_default(bigwig: Path) -> None:
    genes = GENES.copy()
    genes.loc[len(genes)] = ["elsewhere", "chr7", 2000, "+"]
    genes.loc[len(genes)] = ["elsewhere2", "chr7", 9000, "-"]
    with pytest.raises(InputError) as info:
        bin_bigwig(bigwig, genes, GEO)
    text = str(info.value)
    assert info.value.path == str(bigwig) and text.startswith(f"{bigwig}: ")
    assert "the bigWig lacks 1 chromosome(s) of the TSS table (chr7): 2 of 5 genes lie on them" in text
    assert "would be all zeros (the bigWig lists chr1, chr2)" in text
    assert "same assembly" in text and "binning.missing_chromosomes: warn" in text
    assert "--missing-chromosomes warn" in text


def test_many_missing_chromosomes_listed_first_few_with_count(bigwig: Path) -> None:
    rows = [(f"g{i}", f"chr{c}", 2000, "+") for i, c in enumerate([1, 3, 4, 5, 6, 7, 8, 9, 9])]
    genes = pd.DataFrame(rows, columns=["gene_id", "chrom", "tss", "strand"])
    with pytest.raises(
        InputError,
        match=r"lacks 7 chromosome\(s\) of the TSS table "
        r"\(chr3, chr4, chr5, chr6, chr7 and 2 more\): 8 of 9 genes",
    ):
        bin_bigwig(bigwig, genes, GEO)


def test_missing_chromosomes_warn_logs_the_same_facts(bigwig: Path, caplog: pytest.LogCaptureFixture) -> None:
    genes = GENES.copy()
    genes.loc[len(genes)] = ["elsewhere", "chrX", 2000, "+"]
    with caplog.at_level("WARNING", logger="chromexpr.binning"):
        values, stats = bin_bigwig(bigwig, genes, GEO, missing_chromosomes="warn")
    assert stats["missing_chromosomes"] == {"names": ["chrX"], "genes": 1}
    np.testing.assert_array_equal(values[3], np.zeros(6))
    [record] = [r for r in caplog.records if r.levelname == "WARNING"]
    assert str(bigwig) in record.getMessage()
    assert "lacks 1 chromosome(s) of the TSS table (chrX): 1 of 4 genes" in record.getMessage()
    assert "kept as zeros" in record.getMessage()


def test_missing_chromosomes_bad_setting_names_key(bigwig: Path) -> None:
    with pytest.raises(InputError, match="config key 'binning.missing_chromosomes'.*'ignore'"):
        bin_bigwig(bigwig, GENES, GEO, missing_chromosomes="ignore")  # type: ignore[arg-type]


def test_ensembl_bigwig_with_ucsc_table_and_exact_name_preferred(tmp_path: Path) -> None:
    # a bigWig naming chromosomes '1' (Ensembl) is read for a TSS table naming them 'chr1', as reads are
    ensembl = make_bigwig(
        tmp_path / "ensembl.bw", {"1": 10_000, "2": 5_000}, [(c.removeprefix("chr"), s, e, v) for c, s, e, v in ENTRIES]
    )
    total, stats = bin_bigwig(ensembl, GENES, GEO, stat="sum")
    np.testing.assert_allclose(total, EXPECTED_SUM, atol=1e-4)
    assert stats["chrom_renamed"] == {"1": "chr1"} and stats["missing_chromosomes"]["genes"] == 0
    # a bigWig listing both spellings: the one spelled as in the table is read, whatever the order
    both = make_bigwig(
        tmp_path / "both.bw", {"chr1": 10_000, "1": 10_000}, [("chr1", 100, 200, 5.0), ("1", 100, 200, 9.0)]
    )
    genes = pd.DataFrame({"gene_id": ["g"], "chrom": ["1"], "tss": [400], "strand": ["+"]})
    total, _ = bin_bigwig(both, genes, GEO, stat="max")
    assert total[0, 0] == 9.0


def test_window_past_chromosome_end(bigwig: Path) -> None:
    genes = pd.DataFrame({"gene_id": ["g"], "chrom": ["chr2"], "tss": [4800], "strand": ["+"]})
    with pytest.raises(
        InputError, match=r"(?s)\[4500, 5100\) vs chromosome size 5,000 \(in the bigWig\).*reference step"
    ):
        bin_bigwig(bigwig, genes, GEO)


def test_no_gene_on_bigwig_chromosomes(bigwig: Path) -> None:
    genes = pd.DataFrame({"gene_id": ["g"], "chrom": ["chrZ"], "tss": [4800], "strand": ["+"]})
    with pytest.raises(InputError, match="no gene lies on a chromosome of the bigWig") as info:
        bin_bigwig(bigwig, genes, GEO)
    assert info.value.path == str(bigwig)


def test_not_a_bigwig(tmp_path: Path) -> None:
    path = tmp_path / "reads.bw"
    path.write_text("chr1\t1\t2\n")
    with pytest.raises(InputError, match="not a bigWig") as info:
        bin_bigwig(path, GENES, GEO)
    assert info.value.path == str(path)
    assert "content is plain text, though the name says bigWig" in str(info.value)
    cut = tmp_path / "cut.bw"
    cut.write_bytes(b"\x26\xfc\x8f\x88" + b"\0" * 20)  # right magic, nothing behind it
    with pytest.raises(InputError, match="truncated or corrupt"):
        BigWig(cut)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x1f\x8b" + bytes(range(256)) * 4, "a gzip stream that cannot be decompressed"),
        (bytes(range(256)) * 8, "binary data of no known format"),
    ],
)
def test_not_a_bigwig_says_what_the_content_is(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "signal.bigwig"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        BigWig(path)
    assert str(info.value).startswith(f"{path}: not a bigWig file (no bigWig magic number 0x888FFC26)")
    assert words in str(info.value)


def test_directory_instead_of_bigwig(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory, not a bigWig file"):
        BigWig(tmp_path)


def test_unknown_stat(bigwig: Path) -> None:
    with pytest.raises(InputError, match="unknown bigWig statistic"):
        bin_bigwig(bigwig, GENES, GEO, stat="median")  # type: ignore[arg-type]


def test_values_fill_gaps_with_zero(bigwig: Path) -> None:
    with BigWig(bigwig) as bw:
        assert bw.chrom_sizes == {"chr1": 10_000, "chr2": 5_000}
        np.testing.assert_array_equal(bw.values("chr1", 98, 102), [0, 0, 2, 2])
        np.testing.assert_array_equal(bw.values("chrQ", 0, 3), [0, 0, 0])
