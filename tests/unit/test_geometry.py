"""Tests for chromexpr.preprocess.geometry (DESIGN.md section 4: coordinates, windows, bins).

Every expected coordinate is computed by hand in the comment beside it. Conventions under test:
0-based half-open; ``+`` window ``[tss - W, tss + W)``; ``-`` window ``[tss + 1 - W, tss + 1 + W)``;
in transcription order bin ``W / B`` starts at the TSS; ``-`` bins reversed when ``orient_by_strand``.
"""

from __future__ import annotations

import numpy as np
import pytest

from chromexpr.errors import InputError
from chromexpr.preprocess.geometry import (
    CLI_NAMES,
    BinGeometry,
    bin_starts,
    crop_bins,
    crop_offset,
    widest,
    window_bounds,
)

SMALL = BinGeometry(window_bp=300, bin_bp=100)  # 2 * 300 / 100 = 6 bins, tss_bin = 300 / 100 = 3


def test_defaults_are_deepchrome() -> None:
    g = BinGeometry()
    assert (g.window_bp, g.bin_bp, g.orient_by_strand) == (5000, 100, True)
    assert g.n_bins == 100  # 2 * 5000 / 100
    assert g.tss_bin == 50  # 5000 / 100


@pytest.mark.parametrize(
    ("window", "bin_", "n_bins", "tss_bin"),
    [
        (5000, 100, 100, 50),  # DeepChrome: 2*5000/100 = 100 bins, bin 50 starts at the TSS
        (10000, 100, 200, 100),  # DeepDiff: 2*10000/100 = 200 bins, bin 100 starts at the TSS
        (300, 100, 6, 3),  # 2*300/100 = 6, 300/100 = 3
        (100, 100, 2, 1),  # smallest window: one bin each side
    ],
)
def test_n_bins_and_tss_bin(window: int, bin_: int, n_bins: int, tss_bin: int) -> None:
    g = BinGeometry(window_bp=window, bin_bp=bin_)
    assert g.n_bins == n_bins
    assert g.tss_bin == tss_bin


def test_as_dict_has_n_bins() -> None:
    assert SMALL.as_dict() == {"window_bp": 300, "bin_bp": 100, "orient_by_strand": True, "n_bins": 6}


@pytest.mark.parametrize(("window", "bin_"), [(5050, 100), (250, 100), (10000, 300)])
def test_window_not_multiple_of_bin_names_key(window: int, bin_: int) -> None:
    with pytest.raises(InputError) as exc:
        BinGeometry(window_bp=window, bin_bp=bin_)
    assert exc.value.key == "bins.window_bp"
    assert "bins.window_bp" in str(exc.value)
    assert str(window) in str(exc.value) and str(bin_) in str(exc.value)


@pytest.mark.parametrize(("window", "bin_"), [(0, 100), (5000, 0), (-5000, 100), (5000, -100)])
def test_non_positive_sizes_rejected(window: int, bin_: int) -> None:
    with pytest.raises(InputError) as exc:
        BinGeometry(window_bp=window, bin_bp=bin_)
    assert exc.value.key is not None and exc.value.key.startswith("bins")


@pytest.mark.parametrize(
    ("window", "bin_", "config_key", "flag_text"),
    [
        (5000, 33, "bins.window_bp", "--window-bp 5000 is not a multiple of --bin-bp 33"),
        (0, 100, "bins.window_bp", "--window-bp 0 must be positive"),
        (-5000, 100, "bins.window_bp", "--window-bp -5000 must be positive"),
        (5000, 0, "bins.bin_bp", "--bin-bp 0 must be positive"),
        (5000, -100, "bins.bin_bp", "--bin-bp -100 must be positive"),
    ],
)
def test_one_validation_names_config_keys_or_flags(window: int, bin_: int, config_key: str, flag_text: str) -> None:
    # the workflow (config) and the command line share check_sizes; each names its own parameters
    with pytest.raises(InputError) as exc:
        BinGeometry(window_bp=window, bin_bp=bin_)
    assert exc.value.key == config_key and f"config key '{config_key}'" in str(exc.value)
    with pytest.raises(InputError) as exc:
        BinGeometry.checked(window, bin_, names=CLI_NAMES)
    assert exc.value.key is None
    assert str(exc.value).startswith(flag_text)
    assert "bins." not in str(exc.value) and "config key" not in str(exc.value)


def test_not_a_multiple_suggests_windows_that_are() -> None:
    with pytest.raises(InputError, match="4983 or 5016 with --bin-bp 33"):
        BinGeometry.checked(5000, 33, names=CLI_NAMES)


@pytest.mark.parametrize("value", ["5000", 5000.0, True, None])
def test_sizes_must_be_whole_numbers(value: object) -> None:
    with pytest.raises(InputError, match="is not a whole number of bases") as exc:
        BinGeometry(window_bp=value, bin_bp=100)  # type: ignore[arg-type]
    assert exc.value.key == "bins.window_bp"
    assert BinGeometry.checked(np.int64(300), 100).n_bins == 6


def test_plus_window_bounds() -> None:
    start, end = window_bounds(np.array([1000]), np.array(["+"]), SMALL)
    assert start.tolist() == [700]  # 1000 - 300
    assert end.tolist() == [1300]  # 1000 + 300, half-open: last base 1299
    assert start.dtype == np.int64 and end.dtype == np.int64


def test_minus_window_bounds() -> None:
    start, end = window_bounds(np.array([1000]), np.array(["-"]), SMALL)
    assert start.tolist() == [701]  # 1000 + 1 - 300
    assert end.tolist() == [1301]  # 1000 + 1 + 300
    # a - gene is transcribed towards lower coordinates: [1001, 1301) is the 300 bp upstream,
    # [701, 1001) the 300 bp downstream, whose first base in transcription order is the TSS 1000
    assert end[0] - start[0] == 600  # 2 * 300


def test_plus_bins_in_transcription_order() -> None:
    starts = bin_starts(np.array([1000]), np.array(["+"]), SMALL)
    assert starts.shape == (1, 6)
    # 700 + 100*j for j = 0..5
    assert starts[0].tolist() == [700, 800, 900, 1000, 1100, 1200]
    assert starts[0, SMALL.tss_bin] == 1000  # bin 3 = [1000, 1100) starts at the TSS


def test_minus_bins_reversed() -> None:
    starts = bin_starts(np.array([1000]), np.array(["-"]), SMALL)
    # genomic bins: 701, 801, 901, 1001, 1101, 1201; reversed for transcription order
    assert starts[0].tolist() == [1201, 1101, 1001, 901, 801, 701]
    # transcription bin 3 = [901, 1001): its transcription-order first base is 1000, the TSS
    # (a - gene is read from high to low coordinates), i.e. the TSS is the bin's last genomic base.
    b = starts[0, SMALL.tss_bin]
    assert b == 901
    assert b <= 1000 < b + SMALL.bin_bp  # 901 <= 1000 < 1001
    assert b + SMALL.bin_bp - 1 == 1000  # 901 + 100 - 1 = 1000: the TSS is the last base
    # bin 2 (one bin upstream in transcription order) = [1001, 1101) starts right after the TSS
    assert starts[0, SMALL.tss_bin - 1] == 1001


def test_plus_and_minus_are_mirror_images() -> None:
    # For a + gene the TSS is the first base of bin tss_bin; for a - gene it is the last base.
    # Reflecting coordinates x -> 2*1000 - x maps the + bins of TSS 1000 onto the - bins:
    # + bin j covers [s, s+100) -> reflected (2000 - s - 100, 2000 - s] = [1901 - s, 2001 - s)
    plus = bin_starts(np.array([1000]), np.array(["+"]), SMALL)[0]
    minus = bin_starts(np.array([1000]), np.array(["-"]), SMALL)[0]
    assert (minus == 2 * 1000 + 1 - plus - SMALL.bin_bp).all()  # 2001 - 700 - 100 = 1201, ...


def test_orient_by_strand_false_keeps_genomic_order() -> None:
    g = BinGeometry(window_bp=300, bin_bp=100, orient_by_strand=False)
    starts = bin_starts(np.array([1000, 1000]), np.array(["+", "-"]), g)
    assert starts[0].tolist() == [700, 800, 900, 1000, 1100, 1200]  # + unchanged
    # - gene: same window [701, 1301) as with orientation, but bins stay in genomic order
    assert starts[1].tolist() == [701, 801, 901, 1001, 1101, 1201]
    assert window_bounds(np.array([1000]), np.array(["-"]), g)[0].tolist() == [701]


def test_mixed_strands_vectorised_default_geometry() -> None:
    tss = np.array([10_000, 10_000, 123_456])
    strand = np.array(["+", "-", "-"])
    starts = bin_starts(tss, strand, BinGeometry())
    assert starts.shape == (3, 100)
    # + gene: first bin 10000 - 5000 = 5000, bin 50 at 10000, last bin 5000 + 99*100 = 14900
    assert (starts[0, 0], starts[0, 50], starts[0, 99]) == (5000, 10_000, 14_900)
    # - gene, TSS 10000: window [5001, 15001); reversed, bin 0 = last genomic bin 5001 + 9900 = 14901
    # bin 50 = 14901 - 50*100 = 9901 -> [9901, 10001) ends on the TSS; bin 99 = 5001
    assert (starts[1, 0], starts[1, 50], starts[1, 99]) == (14_901, 9_901, 5_001)
    # - gene, TSS 123456: window start 123456 + 1 - 5000 = 118457; bin 50 = 123457 - 100 = 123357
    assert starts[2, 99] == 118_457
    assert starts[2, 50] == 123_357
    # consecutive bins step by -100 in transcription order for - genes, +100 for + genes
    assert (np.diff(starts[0]) == 100).all()
    assert (np.diff(starts[1]) == -100).all()


def test_deepdiff_geometry_tss_bin() -> None:
    g = BinGeometry(window_bp=10_000, bin_bp=100)
    starts = bin_starts(np.array([50_000, 50_000]), np.array(["+", "-"]), g)
    assert starts.shape == (2, 200)
    assert starts[0, 100] == 50_000  # + : 40000 + 100*100
    assert starts[1, 100] == 49_901  # - : window start 50000+1-10000 = 40001; reversed bin 100 = 40001 + 99*100
    assert starts[1, 99] == 50_001  # the bin just upstream of the TSS begins at TSS + 1


def test_unknown_strand_rejected() -> None:
    with pytest.raises(InputError, match="unknown_strand"):
        bin_starts(np.array([1000]), np.array(["."]), SMALL)
    with pytest.raises(InputError):
        window_bounds(np.array([1000, 2000]), np.array(["+", "1"]), SMALL)


# --- bin once at the widest window, crop the narrower ones -------------------------------------


def test_crop_offset_by_hand() -> None:
    wide, narrow = BinGeometry(window_bp=10000), BinGeometry(window_bp=5000)
    assert crop_offset(wide, narrow) == 50  # bins 50-149 of the 200 DeepDiff bins
    assert crop_offset(wide, wide) == 0
    assert widest(narrow, wide) is wide


def test_crop_refuses_what_is_not_a_crop() -> None:
    with pytest.raises(InputError, match="cannot be cut"):
        crop_offset(BinGeometry(window_bp=5000), BinGeometry(window_bp=10000))
    with pytest.raises(InputError, match="one binning cannot serve both"):
        crop_offset(BinGeometry(window_bp=10000, bin_bp=100), BinGeometry(window_bp=5000, bin_bp=50))
    with pytest.raises(InputError, match="one binning cannot serve both"):
        widest(BinGeometry(window_bp=10000), BinGeometry(window_bp=5000, orient_by_strand=False))
    with pytest.raises(InputError, match="says 200"):
        crop_bins(np.zeros((2, 100)), wide=BinGeometry(window_bp=10000), narrow=BinGeometry())


@pytest.mark.parametrize("orient", [True, False])
def test_cropping_equals_binning_directly_both_strands(tmp_path, orient: bool) -> None:
    """Reads binned at +/- 10 kb and cropped to +/- 5 kb give exactly the counts of binning at +/- 5 kb,
    for + and - genes, with and without strand orientation (reads placed at every offset, crossing bin
    edges, so an off-by-one bin or a wrong strand flip shows)."""
    import pandas as pd

    from chromexpr.preprocess.binning import bin_reads

    tss = pd.DataFrame(
        {
            "gene_id": ["g_plus", "g_minus", "g_minus2"],
            "chrom": ["chr1", "chr1", "chr2"],
            "tss": [30000, 80000, 25037],
            "strand": ["+", "-", "-"],
        }
    )
    rng = np.random.default_rng(7)
    rows = []
    for chrom, centre in (("chr1", 30000), ("chr1", 80000), ("chr2", 25037)):
        for start in rng.integers(centre - 12000, centre + 12000, size=400):
            length = int(rng.integers(1, 250))
            rows.append(f"{chrom}\t{start}\t{start + length}\tr\t0\t{'+-'[int(start) % 2]}\n")
    reads = tmp_path / "reads.tagAlign"
    reads.write_text("".join(rows))
    wide = BinGeometry(window_bp=10000, orient_by_strand=orient)
    narrow = BinGeometry(window_bp=5000, orient_by_strand=orient)
    counts_wide, _ = bin_reads(reads, tss, wide)
    counts_narrow, _ = bin_reads(reads, tss, narrow)
    assert counts_wide.shape == (3, 200) and counts_narrow.shape == (3, 100)
    assert counts_narrow.sum() > 300  # the windows really hold reads
    np.testing.assert_array_equal(crop_bins(counts_wide, wide=wide, narrow=narrow), counts_narrow)
    # and on a (genes, marks, bins) stack
    stacked = np.stack([counts_wide, 2 * counts_wide], axis=1)
    np.testing.assert_array_equal(crop_bins(stacked, wide=wide, narrow=narrow)[:, 1], 2 * counts_narrow)
