"""Tests for chromexpr.preprocess.reference (DESIGN.md section 4: TSS filter, windows, splits).

Hand-made chromosomes with the expected survivors worked out in comments, plus the real REMC gene
table shipped in ``data/real/remc_genes_hg19_tss.tsv.gz``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chromexpr.errors import InputError
from chromexpr.io.tables import read_chrom_sizes, read_splits
from chromexpr.preprocess.geometry import BinGeometry
from chromexpr.preprocess.reference import (
    filter_tss,
    inside_chromosome,
    make_splits,
    prepare_binned_genes,
    prepare_gene_set,
    prepare_reference,
    select_reference,
    write_windows_bed,
)

REPO = Path(__file__).resolve().parents[2]
REAL_GENES = REPO / "data" / "real" / "remc_genes_hg19_tss.tsv.gz"
HG19_SIZES = REPO / "src" / "chromexpr" / "data" / "hg19.chrom.sizes"


def genes(*rows: tuple) -> pd.DataFrame:
    """rows of (gene_id, chrom, tss[, strand]); strand defaults to '+'."""
    recs = [{"gene_id": r[0], "chrom": r[1], "tss": r[2], "strand": r[3] if len(r) > 3 else "+"} for r in rows]
    df = pd.DataFrame.from_records(recs)
    df["tss"] = df["tss"].astype(np.int64)
    return df


def kept(df: pd.DataFrame) -> list[str]:
    return df["gene_id"].tolist()


# --------------------------------------------------------------------------------------------
# filter_tss
# --------------------------------------------------------------------------------------------


def test_dropped_gene_is_not_the_reference_point() -> None:
    # 0 kept; 3000 - 0 = 3000 < 5000 dropped; 6000 - 0 = 6000 >= 5000 kept (measured from the last
    # KEPT TSS 0, not from the dropped 3000, which would give 3000 < 5000 and drop it)
    out = filter_tss(genes(("A", "chr1", 0), ("B", "chr1", 3000), ("C", "chr1", 6000)), 5000)
    assert kept(out) == ["A", "C"]


def test_exactly_min_distance_kept_one_less_dropped() -> None:
    # 5000 - 0 = 5000, not less than 5000 -> kept
    assert kept(filter_tss(genes(("A", "chr1", 0), ("B", "chr1", 5000)), 5000)) == ["A", "B"]
    # 4999 - 0 = 4999 < 5000 -> dropped
    assert kept(filter_tss(genes(("A", "chr1", 0), ("B", "chr1", 4999)), 5000)) == ["A"]
    # the same with another distance: 1000 - 0 = 1000 >= 1000 kept; 999 < 1000 dropped
    assert kept(filter_tss(genes(("A", "chr1", 0), ("B", "chr1", 1000)), 1000)) == ["A", "B"]
    assert kept(filter_tss(genes(("A", "chr1", 0), ("B", "chr1", 999)), 1000)) == ["A"]


def test_chain_measures_from_last_kept() -> None:
    # 100 kept; 5099 (4999 away) dropped; 10098: 10098 - 100 = 9998 >= 5000 kept although it is
    # only 10098 - 5099 = 4999 from the dropped gene; 15098: 15098 - 10098 = 5000 kept;
    # 20097: 20097 - 15098 = 4999 dropped
    out = filter_tss(
        genes(
            ("A", "chr1", 100), ("B", "chr1", 5099), ("C", "chr1", 10098), ("D", "chr1", 15098), ("E", "chr1", 20097)
        ),
        5000,
    )
    assert kept(out) == ["A", "C", "D"]


def test_ties_broken_by_gene_id() -> None:
    # same TSS: sorted by gene id, 'ENSG1' < 'ENSG2', so ENSG1 is kept and ENSG2 (0 bp away) dropped,
    # whatever the input order
    for order in (
        [("ENSG2", "chr1", 1000), ("ENSG1", "chr1", 1000)],
        [("ENSG1", "chr1", 1000), ("ENSG2", "chr1", 1000)],
    ):
        assert kept(filter_tss(genes(*order), 5000)) == ["ENSG1"]
    # string order, not numeric: 'G10' < 'G9'
    assert kept(filter_tss(genes(("G9", "chr1", 7), ("G10", "chr1", 7)), 5000)) == ["G10"]


def test_per_chromosome_independence() -> None:
    # chr1: 0 kept, 2000 dropped; chr2 starts afresh: 1000 kept (1000 - 0 on chr1 would be < 5000),
    # 6000 - 1000 = 5000 kept; chr3's single gene kept
    out = filter_tss(
        genes(
            ("c2b", "chr2", 6000),
            ("c1a", "chr1", 0),
            ("c2a", "chr2", 1000),
            ("c1b", "chr1", 2000),
            ("c3a", "chr3", 2000),
        ),
        5000,
    )
    assert kept(out) == ["c1a", "c2a", "c2b", "c3a"]
    # output sorted by (chrom, tss, gene_id), index reset
    assert out["chrom"].tolist() == ["chr1", "chr2", "chr2", "chr3"]
    assert out.index.tolist() == [0, 1, 2, 3]


def test_unsorted_input_is_sorted_first() -> None:
    # sorted TSS: 0 (A), 3000 (B), 6000 (C), 9000 (D): keep 0, drop 3000, keep 6000, drop 9000
    # (9000 - 6000 = 3000 < 5000)
    out = filter_tss(genes(("D", "chr1", 9000), ("B", "chr1", 3000), ("C", "chr1", 6000), ("A", "chr1", 0)))
    assert kept(out) == ["A", "C"]
    assert out["tss"].tolist() == [0, 6000]


def test_zero_distance_keeps_everything_and_extra_columns() -> None:
    df = genes(("B", "chr1", 10), ("A", "chr1", 10), ("C", "chr1", 11))
    df["symbol"] = ["b", "a", "c"]
    out = filter_tss(df, 0)  # 0 - 0 >= 0 is always true
    assert kept(out) == ["A", "B", "C"]
    assert out["symbol"].tolist() == ["a", "b", "c"]


def test_negative_distance_names_key() -> None:
    with pytest.raises(InputError) as exc:
        filter_tss(genes(("A", "chr1", 0)), -1)
    assert exc.value.key == "reference.min_tss_distance"


def test_real_remc_table_filter_keeps_17609() -> None:
    """The real REMC gene table: 19,802 rows, 7 gene ids twice -> 19,795 -> 17,609 after the filter.

    The TransferChrome paper reports 17,170 genes surviving, with its own TSS source (GENCODE TSSs);
    with the DeepChrome window centres of this table the same rule keeps 17,609.
    """
    df = pd.read_csv(REAL_GENES, sep="\t", dtype={"gene_id": str, "chrom": str, "strand": str}, keep_default_na=False)
    assert len(df) == 19_802
    assert int(df["gene_id"].duplicated().sum()) == 7
    df = df.drop_duplicates("gene_id", keep="first")
    assert len(df) == 19_795  # 19,802 - 7
    out = filter_tss(df, 5000)
    assert len(out) == 17_609
    # every kept TSS is >= 5000 from the previous kept one on its chromosome
    gaps = out.groupby("chrom")["tss"].diff().dropna()
    assert (gaps >= 5000).all()
    # the two duplicate rows of an id have the same TSS, so keeping the last instead gives the same count
    last = pd.read_csv(REAL_GENES, sep="\t", keep_default_na=False).drop_duplicates("gene_id", keep="last")
    assert len(filter_tss(last, 5000)) == 17_609


# --------------------------------------------------------------------------------------------
# windows inside the chromosome
# --------------------------------------------------------------------------------------------


def test_inside_chromosome_both_ends_both_strands() -> None:
    g = BinGeometry(window_bp=300, bin_bp=100)
    size = 10_000
    df = genes(
        ("p_left_out", "chr1", 299, "+"),  # start 299 - 300 = -1 < 0 -> out
        ("p_left_in", "chr1", 300, "+"),  # start 0 -> in
        ("p_right_in", "chr1", 9700, "+"),  # end 9700 + 300 = 10000 <= 10000 -> in
        ("p_right_out", "chr1", 9701, "+"),  # end 10001 > 10000 -> out
        ("m_left_out", "chr1", 298, "-"),  # start 298 + 1 - 300 = -1 -> out
        ("m_left_in", "chr1", 299, "-"),  # start 299 + 1 - 300 = 0 -> in (tss = W - 1)
        ("m_right_in", "chr1", 9699, "-"),  # end 9699 + 1 + 300 = 10000 -> in
        ("m_right_out", "chr1", 9700, "-"),  # end 9700 + 1 + 300 = 10001 -> out
    )
    mask = inside_chromosome(df, {"chr1": size}, g)
    assert dict(zip(df["gene_id"], mask.tolist(), strict=True)) == {
        "p_left_out": False,
        "p_left_in": True,
        "p_right_in": True,
        "p_right_out": False,
        "m_left_out": False,
        "m_left_in": True,
        "m_right_in": True,
        "m_right_out": False,
    }


def test_inside_chromosome_unknown_chromosome_is_outside() -> None:
    g = BinGeometry(window_bp=300, bin_bp=100)
    mask = inside_chromosome(genes(("A", "chrZ", 5000)), {"chr1": 10_000}, g)
    assert mask.tolist() == [False]


def test_window_drops_are_counted() -> None:
    g = BinGeometry(window_bp=300, bin_bp=100)
    df = genes(
        ("a", "chr1", 100, "+"),
        ("b", "chr1", 5000, "-"),
        ("c", "chr1", 9900, "-"),
        ("d", "chr2", 299, "-"),
        ("e", "chr3", 4700, "+"),
    )
    # a: start -200 out; b: [4701, 5301) in; c: end 9900 + 301 = 10201 > 10000 out; d: start 0 in;
    # e: [4400, 5000), end 5000 <= 5000 in
    res = select_reference(
        df,
        None,
        {"chr1": 10_000, "chr2": 5000, "chr3": 5000},
        g,
        min_tss_distance=1000,
        split={"method": "chromosome", "valid_chromosomes": ["chr2"], "test_chromosomes": ["chr1"]},
    )
    assert res.counts["window_outside_chromosome"] == 2
    assert res.counts["tss_filter_dropped"] == 0  # 5000 - 100 and 9900 - 5000 both >= 1000
    assert kept(res.genes) == ["b", "d", "e"]
    assert res.counts["kept"] == 3
    assert res.splits.to_dict() == {"b": "test", "d": "valid", "e": "train"}


# --------------------------------------------------------------------------------------------
# splits
# --------------------------------------------------------------------------------------------


def _ids(n: int) -> list[str]:
    return [f"ENSG{i:011d}" for i in range(n)]


def test_blocks_deepchrome_6601_6601_6600_in_sorted_id_order() -> None:
    ids = _ids(19_802)
    rng = np.random.default_rng(1)
    shuffled = list(np.array(ids)[rng.permutation(len(ids))])
    df = pd.DataFrame({"gene_id": shuffled, "chrom": "chr1", "tss": 0, "strand": "+"})
    out = make_splits(df, "blocks")
    # 19802 = 3 * 6600 + 2: the two larger blocks first -> 6601 / 6601 / 6600
    assert out.value_counts().to_dict() == {"train": 6601, "valid": 6601, "test": 6600}
    s = out.reindex(ids)
    assert (s.iloc[:6601] == "train").all()  # sorted ids 0 .. 6600
    assert (s.iloc[6601:13202] == "valid").all()  # 6601 .. 13201 (6601 + 6601 = 13202)
    assert (s.iloc[13202:] == "test").all()  # 13202 .. 19801
    # same answer for the input in sorted order: the split does not depend on row order
    sorted_df = pd.DataFrame({"gene_id": ids, "chrom": "chr1", "tss": 0, "strand": "+"})
    assert make_splits(sorted_df, "blocks").reindex(ids).equals(s)
    # the result is indexed by gene id, in the input row order
    assert out.index.tolist() == shuffled
    assert out.index.name == "gene_id" and out.name == "split"


def test_blocks_on_real_table_reproduce_published_split() -> None:
    # the real table's rows are in DeepChrome order, which is sorted by gene id; rows 0-6600 /
    # 6601-13201 / 13202-19801 are the published train / valid / test genes
    df = pd.read_csv(REAL_GENES, sep="\t", dtype={"gene_id": str}, keep_default_na=False)
    out = make_splits(df, "blocks").to_numpy()
    expected = np.array(["train"] * 6601 + ["valid"] * 6601 + ["test"] * 6600)
    assert (out == expected).all()


def test_blocks_small_counts() -> None:
    # 7 genes: array_split -> 3 / 2 / 2 (7 = 3*2 + 1, the larger block first)
    df = genes(*[(f"g{i}", "chr1", i) for i in (6, 0, 3, 1, 5, 2, 4)])
    out = make_splits(df, "blocks")
    assert out.to_dict() == {
        "g0": "train",
        "g1": "train",
        "g2": "train",
        "g3": "valid",
        "g4": "valid",
        "g5": "test",
        "g6": "test",
    }


def test_deepdiff_split_puts_the_released_samples_genes_in_their_splits() -> None:
    """Ensembl ids sorted, blocks of 6,100 test / 10,000 train / the rest valid: every gene of the released
    DeepDiff sample (200 per split) falls in its split, on the 19,795 REMC genes."""
    from chromexpr.io.deepdiff_csv import read_deepdiff_csv

    counts = pd.read_csv(REPO / "data/real/remc_counts_9cells.tsv.gz", sep="\t", usecols=["gene_id"])
    table = counts.assign(chrom="chr1", tss=0, strand="+")
    out = make_splits(table, "deepdiff")
    assert out.value_counts().to_dict() == {"train": 10000, "test": 6100, "valid": 19795 - 16100}
    for split in ("train", "valid", "test"):
        ids = read_deepdiff_csv(REPO / f"data/real/deepdiff_sample/E003.{split}.csv.gz").gene_ids
        assert len(ids) == 200 and set(out[list(ids)]) == {split}
    # the row order of the table does not matter
    shuffled = make_splits(table.sample(frac=1.0, random_state=1), "deepdiff")
    assert shuffled.sort_index().equals(out.sort_index())


def test_deepdiff_split_is_scaled_below_the_papers_gene_count() -> None:
    # 100 genes: 6100/18460 -> 33 test, 10000/18460 -> 54 train, 13 valid, in sorted id order
    df = genes(*[(f"g{i:03d}", "chr1", i) for i in range(100)])
    out = make_splits(df, "deepdiff")
    assert (out.iloc[:33] == "test").all() and (out.iloc[33:87] == "train").all() and (out.iloc[87:] == "valid").all()


def test_random_split_seeded_reproducible_fractions() -> None:
    ids = _ids(1000)
    df = pd.DataFrame({"gene_id": ids, "chrom": "chr1", "tss": 0, "strand": "+"})
    a = make_splits(df, "random", seed=7, fractions=(0.8, 0.1, 0.1))
    b = make_splits(df, "random", seed=7, fractions=(0.8, 0.1, 0.1))
    c = make_splits(df, "random", seed=8, fractions=(0.8, 0.1, 0.1))
    assert a.equals(b)
    assert not a.equals(c)
    # cuts at round(0.8 * 1000) = 800 and round(0.9 * 1000) = 900 -> 800 / 100 / 100
    assert a.value_counts().to_dict() == {"train": 800, "valid": 100, "test": 100}
    assert c.value_counts().to_dict() == {"train": 800, "valid": 100, "test": 100}
    # not blocks: the first 800 sorted ids are not all train
    assert not (a.iloc[:800] == "train").all()
    # row order of the input does not change the assignment
    rev = make_splits(df.iloc[::-1].reset_index(drop=True), "random", seed=7, fractions=(0.8, 0.1, 0.1))
    assert rev.reindex(ids).equals(a)


def test_random_split_other_fractions() -> None:
    df = pd.DataFrame({"gene_id": _ids(12), "chrom": "chr1", "tss": 0, "strand": "+"})
    out = make_splits(df, "random", seed=0, fractions=(0.5, 0.25, 0.25))
    # cuts at round(0.5 * 12) = 6 and round(0.75 * 12) = 9 -> 6 / 3 / 3
    assert out.value_counts().to_dict() == {"train": 6, "valid": 3, "test": 3}


@pytest.mark.parametrize("fractions", [(0.5, 0.5, 0.5), (0.8, 0.2), (1.2, -0.1, -0.1), (0.6, 0.3, 0.05)])
def test_random_split_bad_fractions_name_key(fractions: tuple) -> None:
    df = pd.DataFrame({"gene_id": _ids(30), "chrom": "chr1", "tss": 0, "strand": "+"})
    with pytest.raises(InputError) as exc:
        make_splits(df, "random", fractions=fractions)
    assert exc.value.key == "split.fractions"
    assert "split.fractions" in str(exc.value)


def test_chromosome_split() -> None:
    df = genes(("a", "chr1", 0), ("b", "chr2", 0), ("c", "chr3", 0), ("d", "chr1", 9), ("e", "chr4", 0))
    out = make_splits(df, "chromosome", valid_chromosomes=["chr2"], test_chromosomes=["chr3", "chr4"])
    assert out.to_dict() == {"a": "train", "b": "valid", "c": "test", "d": "train", "e": "test"}


def test_chromosome_split_errors_name_keys() -> None:
    df = genes(("a", "chr1", 0), ("b", "chr2", 0), ("c", "chr3", 0))
    with pytest.raises(InputError) as exc:
        make_splits(df, "chromosome", valid_chromosomes=["chr2"])
    assert exc.value.key == "split.test_chromosomes"
    with pytest.raises(InputError) as exc:
        make_splits(df, "chromosome", valid_chromosomes=["chr2", "chr3"], test_chromosomes=["chr3"])
    assert exc.value.key == "split.valid_chromosomes"
    assert "chr3" in str(exc.value)


def test_unknown_split_method_names_key() -> None:
    with pytest.raises(InputError) as exc:
        make_splits(genes(("a", "chr1", 0)), "kfold")
    assert exc.value.key == "split.method"
    assert "kfold" in str(exc.value) and "blocks" in str(exc.value)


def test_empty_split_is_an_error() -> None:
    # 2 genes in blocks: 1 / 1 / 0 -> no test gene
    with pytest.raises(InputError) as exc:
        make_splits(genes(("a", "chr1", 0), ("b", "chr1", 9)), "blocks")
    assert exc.value.key == "split"
    assert "test" in str(exc.value)
    # chromosome split whose test chromosome has no gene
    with pytest.raises(InputError):
        make_splits(
            genes(("a", "chr1", 0), ("b", "chr2", 0)),
            "chromosome",
            valid_chromosomes=["chr2"],
            test_chromosomes=["chr9"],
        )


# --------------------------------------------------------------------------------------------
# select_reference / prepare_reference
# --------------------------------------------------------------------------------------------

GEOM = BinGeometry(window_bp=1000, bin_bp=100)
SIZES = {"chr1": 100_000, "chr2": 50_000}
ANNOTATION = [
    ("G01", "chr1", 10_000, "+"),
    ("G02", "chr1", 12_000, "-"),  # 12000 - 10000 = 2000 < 5000 -> TSS filter
    ("G03", "chr1", 15_000, "."),  # unknown strand; 15000 - 10000 = 5000 -> kept
    ("G04", "chr1", 500, "+"),  # first on chr1 -> kept by the filter; window [-500, 1500) -> outside
    ("G05", "chr1", 99_500, "-"),  # window [98501, 100501) > 100000 -> outside
    ("G06", "chr2", 10_000, "-"),  # chr2 independent of chr1 -> kept; window [9001, 11001)
    ("G07", "chr2", 20_000, "+"),  # kept; window [19000, 21000)
    ("G08", "chrUn", 5_000, "+"),  # no size -> other chromosome
    ("G09", "chr1", 30_000, "+"),  # no expression
]
EXPRESSION_GENES = ["G01", "G02", "G03", "G04", "G05", "G06", "G07", "G08", "G10"]  # G10 not annotated


def test_select_reference_counts_unknown_plus() -> None:
    res = select_reference(genes(*ANNOTATION), EXPRESSION_GENES, SIZES, GEOM)
    c = res.counts
    assert c["annotation"] == 9
    assert c["no_expression"] == 1  # G09
    assert c["expression_not_annotated"] == 1  # G10
    assert c["other_chromosomes"] == 1  # G08
    assert c["chromosomes_without_size"] == ["chrUn"]
    assert c["unknown_strand"] == 1  # G03, kept as '+'
    # chr1 sorted: 500 keep, 10000 keep (9500 away), 12000 drop (2000), 15000 keep (5000), 99500 keep
    assert c["tss_filter_dropped"] == 1
    assert c["window_outside_chromosome"] == 2  # G04, G05
    assert c["kept"] == 4  # 9 - 1 - 1 - 1 - 2 = 4: G01 G03 G06 G07
    assert kept(res.genes) == ["G01", "G03", "G06", "G07"]
    assert res.genes.loc[res.genes["gene_id"] == "G03", "strand"].item() == "+"
    # blocks on 4 sorted ids: 2 / 1 / 1
    assert res.splits.to_dict() == {"G01": "train", "G03": "train", "G06": "valid", "G07": "test"}
    assert c["split"] == {"test": 1, "train": 2, "valid": 1}


def test_select_reference_unknown_drop_happens_before_the_filter() -> None:
    # a gene with unknown strand must not shadow a neighbour when dropped: '.' at 0 and '+' at 3000
    df = genes(
        ("U", "chr1", 10_000, "."), ("K", "chr1", 13_000, "+"), ("x", "chr2", 10_000, "+"), ("y", "chr2", 20_000, "-")
    )
    plus = select_reference(df, None, SIZES, GEOM, unknown_strand="plus")
    assert kept(plus.genes) == ["U", "x", "y"]  # K is 3000 from U -> dropped
    drop = select_reference(df, None, SIZES, GEOM, unknown_strand="drop")
    assert kept(drop.genes) == ["K", "x", "y"]  # U removed first, K is then first on chr1
    assert drop.counts["unknown_strand"] == 1
    assert drop.counts["tss_filter_dropped"] == 0


def test_select_reference_bad_unknown_strand_names_key() -> None:
    with pytest.raises(InputError) as exc:
        select_reference(genes(*ANNOTATION), None, SIZES, GEOM, unknown_strand="minus")
    assert exc.value.key == "reference.unknown_strand"
    assert "minus" in str(exc.value)


def test_select_reference_chromosome_not_in_sizes_names_key() -> None:
    with pytest.raises(InputError) as exc:
        select_reference(genes(*ANNOTATION), None, SIZES, GEOM, chromosomes=["chr1", "1"])
    assert exc.value.key == "reference.chromosomes"
    assert "'1'" in str(exc.value)


def test_select_reference_chromosome_subset() -> None:
    res = select_reference(genes(*ANNOTATION), None, SIZES, GEOM, chromosomes=["chr1"])
    # chr1 (G01 G02 G03 G04 G05 G09): TSS filter drops G02; windows drop G04 and G05 -> G01 G03 G09
    assert kept(res.genes) == ["G01", "G03", "G09"]
    assert res.counts["other_chromosomes"] == 3  # G06 G07 on chr2, G08 on chrUn
    assert res.splits.to_dict() == {"G01": "train", "G03": "valid", "G09": "test"}


def test_select_reference_nothing_left() -> None:
    with pytest.raises(InputError, match="chr1 vs 1"):
        select_reference(genes(("A", "1", 10_000)), None, SIZES, GEOM)


def test_real_table_accounting() -> None:
    # the counts of every step add up to the annotation size (nothing dropped silently)
    from chromexpr.io.tables import read_chrom_sizes

    df = pd.read_csv(REAL_GENES, sep="\t", dtype={"gene_id": str, "chrom": str}, keep_default_na=False)
    df = df.drop_duplicates("gene_id", keep="first")
    df["strand"] = df["strand"].replace("", ".")
    res = select_reference(df, None, read_chrom_sizes(HG19_SIZES), BinGeometry())
    c = res.counts
    assert c["unknown_strand"] == int((df["strand"] == ".").sum())
    assert c["other_chromosomes"] == 0  # all 24 chromosomes have a size
    assert c["annotation"] - c["tss_filter_dropped"] == 17_609  # 19,795 - 2,186
    assert c["kept"] == 17_609 - c["window_outside_chromosome"]
    assert sum(c["split"].values()) == c["kept"]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_prepare_reference_end_to_end(tmp_path: Path) -> None:
    ann = _write(
        tmp_path / "genes.tsv",
        "gene_id\tsymbol\tchrom\ttss\tstrand\n"
        + "".join(f"{g}\tsym{g}\t{c}\t{t}\t{'' if s == '.' else s}\n" for g, c, t, s in ANNOTATION),
    )
    sizes = _write(tmp_path / "chrom.sizes", "chr1\t100000\nchr2\t50000\n")
    expr = _write(tmp_path / "expr.tsv", "gene_id\tE1\tE2\n" + "".join(f"{g}\t1.5\t2\n" for g in EXPRESSION_GENES))
    out = tmp_path / "ref"
    summary = prepare_reference(
        ann,
        sizes,
        out / "tss.tsv",
        out / "windows.bed",
        out / "splits.tsv",
        expression=expr,
        geometry=GEOM,
        out_summary=out / "summary.json",
    )
    tss = pd.read_csv(out / "tss.tsv", sep="\t")
    assert list(tss.columns) == ["gene_id", "chrom", "tss", "strand"]
    assert tss.values.tolist() == [
        ["G01", "chr1", 10_000, "+"],
        ["G03", "chr1", 15_000, "+"],
        ["G06", "chr2", 10_000, "-"],
        ["G07", "chr2", 20_000, "+"],
    ]
    bed = pd.read_csv(out / "windows.bed", sep="\t", header=None)
    assert bed.values.tolist() == [
        ["chr1", 9_000, 11_000, "G01", 0, "+"],  # 10000 -/+ 1000
        ["chr1", 14_000, 16_000, "G03", 0, "+"],  # 15000 -/+ 1000 (unknown strand -> +)
        ["chr2", 9_001, 11_001, "G06", 0, "-"],  # 10000 + 1 -/+ 1000
        ["chr2", 19_000, 21_000, "G07", 0, "+"],  # 20000 -/+ 1000
    ]
    splits = read_splits(out / "splits.tsv")
    assert splits.to_dict() == {"G01": "train", "G03": "train", "G06": "valid", "G07": "test"}
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == summary
    assert on_disk["counts"]["kept"] == 4
    assert on_disk["counts"]["no_expression"] == 1
    assert on_disk["counts"]["tss_filter_dropped"] == 1
    assert on_disk["counts"]["window_outside_chromosome"] == 2
    assert on_disk["geometry"] == {"window_bp": 1000, "bin_bp": 100, "orient_by_strand": True, "n_bins": 20}
    assert on_disk["min_tss_distance"] == 5000 and on_disk["unknown_strand"] == "plus"
    # no temporary files are left beside the outputs
    assert sorted(p.name for p in out.iterdir()) == ["splits.tsv", "summary.json", "tss.tsv", "windows.bed"]


def test_prepare_reference_logs_counts(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ann = _write(
        tmp_path / "genes.tsv",
        "gene_id\tchrom\ttss\tstrand\n"
        + "".join(f"{g}\t{c}\t{t}\t{'' if s == '.' else s}\n" for g, c, t, s in ANNOTATION),
    )
    sizes = _write(tmp_path / "chrom.sizes", "chr1\t100000\nchr2\t50000\n")
    with caplog.at_level("INFO", logger="chromexpr.reference"):
        prepare_reference(ann, sizes, tmp_path / "t.tsv", tmp_path / "w.bed", tmp_path / "s.tsv", geometry=GEOM)
    text = caplog.text
    assert "window_outside_chromosome: 2" in text
    assert "tss_filter_dropped: 1" in text


@pytest.mark.parametrize(("tss_chrom", "sizes_chrom"), [("17", "chr17"), ("chr17", "17")])
def test_prepare_reference_chromosome_naming_mismatch_names_both_files(
    tmp_path: Path, tss_chrom: str, sizes_chrom: str
) -> None:
    ann = _write(
        tmp_path / "genes.tsv", f"gene_id\tchrom\ttss\tstrand\nA\t{tss_chrom}\t10000\t+\nB\t{tss_chrom}\t30000\t-\n"
    )
    sizes = _write(tmp_path / "chrom.sizes", f"{sizes_chrom}\t100000\n")
    with pytest.raises(InputError) as exc:
        prepare_reference(ann, sizes, tmp_path / "t.tsv", tmp_path / "w.bed", tmp_path / "s.tsv", geometry=GEOM)
    text = str(exc.value)
    assert text.startswith(
        f"{ann}:2: TSS chromosomes use '{tss_chrom}', chromosome sizes ({sizes}) use '{sizes_chrom}': "
        "a naming mismatch (UCSC 'chr' prefix vs Ensembl)"
    )
    assert "rename one of them" in text
    assert not (tmp_path / "t.tsv").exists()


def test_naming_check_ignores_chromosomes_left_out_on_purpose(tmp_path: Path) -> None:
    # 'MT' would be chrM, but only chr1 is wanted: no error, MT's gene is counted as another chromosome
    ann = _write(
        tmp_path / "genes.tsv",
        "gene_id\tchrom\ttss\tstrand\nA\tchr1\t10000\t+\nB\tchr1\t30000\t+\nC\tchr1\t60000\t+\nM\tMT\t3000\t+\n",
    )
    sizes = _write(tmp_path / "chrom.sizes", "chr1\t100000\nchrM\t16571\n")
    summary = prepare_reference(
        ann, sizes, tmp_path / "t.tsv", tmp_path / "w.bed", tmp_path / "s.tsv", geometry=GEOM, chromosomes=["chr1"]
    )
    assert summary["counts"]["kept"] == 3


def test_write_windows_bed_plus_and_minus(tmp_path: Path) -> None:
    df = genes(("P", "chr1", 5000, "+"), ("M", "chr1", 5000, "-"))
    write_windows_bed(df, BinGeometry(), tmp_path / "w.bed")
    lines = (tmp_path / "w.bed").read_text().splitlines()
    assert lines == [
        "chr1\t0\t10000\tP\t0\t+",  # 5000 - 5000, 5000 + 5000
        "chr1\t1\t10001\tM\t0\t-",  # 5000 + 1 - 5000, 5000 + 1 + 5000
    ]


def test_blocks_without_filters_reproduce_the_published_deepchrome_split_through_the_reference() -> None:
    # DeepChrome's protocol as a gene set: no TSS filter, every chromosome, blocks. The table's 19,802 rows hold 7
    # ids twice (each pair in one published split), so the reference keeps 19,795 genes: 6,599 / 6,598 / 6,598.
    # Against the published rows 0-6600 / 6601-13201 / 13202-19801, one gene moves: ENSG00000172935 is the first
    # published valid gene whose id sorts last among them; with 2 duplicates gone from train, 2 from valid and 3
    # from test, the thirds of the 19,795 ids shift it into test (the "1 gene off")
    df = pd.read_csv(REAL_GENES, sep="\t", dtype={"gene_id": str, "chrom": str}, keep_default_na=False)
    published = pd.Series(
        ["train"] * 6601 + ["valid"] * 6601 + ["test"] * 6600, index=df["gene_id"].to_numpy(), name="published"
    )
    assert df["gene_id"].duplicated().sum() == 7
    unique = df.drop_duplicates("gene_id", keep="first").assign(strand=lambda d: d["strand"].replace("", "."))
    res = select_reference(unique, None, read_chrom_sizes(HG19_SIZES), BinGeometry(), min_tss_distance=0)
    assert res.counts["kept"] == 19_795 and res.counts["tss_filter_dropped"] == 0
    assert res.counts["window_outside_chromosome"] == 0
    assert res.counts["split"] == {"test": 6598, "train": 6599, "valid": 6598}
    published = published[~published.index.duplicated()]
    moved = res.splits[res.splits != published.reindex(res.splits.index)]
    assert moved.to_dict() == {"ENSG00000172935": "test"}
    assert published["ENSG00000172935"] == "valid"


def test_binned_genes_and_each_gene_sets_manifest_among_them(tmp_path: Path) -> None:
    ann = _write(
        tmp_path / "genes.tsv",
        "gene_id\tchrom\ttss\tstrand\n" + "".join(f"{g}\t{c}\t{t}\t{s}\n" for g, c, t, s in ANNOTATION),
    )
    sizes = _write(tmp_path / "chrom.sizes", "chr1\t100000\nchr2\t50000\n")
    out = tmp_path / "ref"
    # the binned genes: no TSS filter; every gene whose window fits (G04, G05 leave chr1; G08 has no size)
    summary = prepare_binned_genes(
        ann, sizes, out / "tss.tsv", out / "windows.bed", geometry=GEOM, out_summary=out / "summary.json"
    )
    tss = pd.read_csv(out / "tss.tsv", sep="\t")
    assert tss["gene_id"].tolist() == ["G01", "G02", "G03", "G09", "G06", "G07"]  # (chrom, tss) order
    assert summary["counts"]["tss_filter_dropped"] == 0 and summary["counts"]["window_outside_chromosome"] == 2
    assert len(pd.read_csv(out / "windows.bed", sep="\t", header=None)) == 6
    # the default set: the 5 kb filter, chr1 only, blocks: G01 G03 G09 (G02 is 2 kb from G01) -> 1 / 1 / 1
    default = prepare_gene_set(
        ann, sizes, out / "tss.tsv", out / "splits.tsv", name="default", geometry=GEOM, chromosomes=["chr1"]
    )
    assert read_splits(out / "splits.tsv").to_dict() == {"G01": "train", "G03": "valid", "G09": "test"}
    assert default["counts"]["tss_filter_dropped"] == 1
    # another set: no filter, both chromosomes: sorted G01 G02 G03 G06 G07 G09 in blocks of 2 / 2 / 2
    prepare_gene_set(
        ann,
        sizes,
        out / "tss.tsv",
        out / "all.tsv",
        name="all",
        geometry=GEOM,
        min_tss_distance=0,
        out_summary=out / "all.json",
    )
    assert read_splits(out / "all.tsv").to_dict() == {
        "G01": "train",
        "G02": "train",
        "G03": "valid",
        "G06": "valid",
        "G07": "test",
        "G09": "test",
    }
    assert json.loads((out / "all.json").read_text())["counts"]["kept"] == 6
    # the same set as prepare_reference selects it (the CLI's one-set route): the same genes and split
    prepare_reference(
        ann,
        sizes,
        tmp_path / "one" / "tss.tsv",
        tmp_path / "one" / "windows.bed",
        tmp_path / "one" / "splits.tsv",
        geometry=GEOM,
        chromosomes=["chr1"],
    )
    assert read_splits(tmp_path / "one" / "splits.tsv").equals(read_splits(out / "splits.tsv"))
    # a set's bad split names its own keys
    with pytest.raises(InputError, match="gene_sets.odd.split.test_chromosomes"):
        prepare_gene_set(
            ann, sizes, out / "tss.tsv", out / "odd.tsv", name="odd", geometry=GEOM, split={"method": "chromosome"}
        )
    # a manifest whose genes were not binned (a stale tss.tsv) is refused, naming it
    _write(out / "tss.tsv", "gene_id\tchrom\ttss\tstrand\nG01\tchr1\t10000\t+\n")
    with pytest.raises(InputError, match="keeps 2 gene\\(s\\) the binned genes lack") as err:
        prepare_gene_set(ann, sizes, out / "tss.tsv", out / "x.tsv", name="x", geometry=GEOM, chromosomes=["chr1"])
    assert str(out / "tss.tsv") in str(err.value)


def test_prepare_reference_counts_the_genes_a_gene_type_filter_leaves_out(tmp_path: Path) -> None:
    def line(gid: str, start: int, gtype: str) -> str:
        attrs = f'gene_id "{gid}.1"; gene_type "{gtype}"; gene_name "{gid}";'
        return "\t".join(["chr1", "HAVANA", "gene", str(start), str(start + 500), ".", "+", ".", attrs]) + "\n"

    gtf = _write(
        tmp_path / "g.gtf",
        line("G1", 10_001, "protein_coding")
        + line("G2", 20_001, "lncRNA")
        + line("G3", 30_001, "protein_coding")
        + line("G4", 40_001, "protein_coding"),
    )
    sizes = _write(tmp_path / "chrom.sizes", "chr1\t100000\n")
    out = tmp_path / "ref"
    summary = prepare_reference(
        gtf,
        sizes,
        out / "tss.tsv",
        out / "windows.bed",
        out / "splits.tsv",
        annotation_format="gtf",
        gene_types=["protein_coding"],
        geometry=GEOM,
        min_tss_distance=0,
        out_summary=out / "summary.json",
    )
    c = summary["counts"]
    assert c["gene_type_dropped"] == {"lncRNA": 1} and c["gene_type_kept"] == {"protein_coding": 3}
    assert c["annotation"] == 3 and c["kept"] == 3
    assert json.loads((out / "summary.json").read_text())["counts"]["gene_type_dropped"] == {"lncRNA": 1}
