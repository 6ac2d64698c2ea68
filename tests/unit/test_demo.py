"""Tests of the demo source: simulated tagAlign files from the real demo tables."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chromexpr.dataset import CANONICAL_MARKS as MARKS
from chromexpr.errors import InputError
from chromexpr.shipped import shipped_file
from chromexpr.sources.demo import (
    latent_activity,
    read_demo_tables,
    simulate_cell,
    simulate_reads,
)

DEMO_DIR = shipped_file("demo/genes.tsv").parent
CHROMS = ["chr21", "chr22"]  # the two smallest demo chromosomes keep every simulation well under a second
CELL = "E123"


def read_tagalign(path: Path) -> pd.DataFrame:
    """A tagAlign file as a typed frame; fails on anything but six tab-separated columns."""
    return pd.read_csv(
        path,
        sep="\t",
        header=None,
        names=["chrom", "start", "end", "name", "score", "strand"],
        dtype={
            "chrom": "string",
            "start": "int64",
            "end": "int64",
            "name": "string",
            "score": "int64",
            "strand": "string",
        },
        keep_default_na=False,
    )


def tss_filter(genes: pd.DataFrame, min_distance: int = 5000) -> pd.DataFrame:
    """The reference step's TSS filter (DESIGN.md section 4), re-implemented for the test."""
    kept = []
    for _, block in genes.groupby("chrom", sort=True):
        last = None
        for gene_id, tss in block.sort_values(["tss", "gene_id"])[["gene_id", "tss"]].itertuples(index=False):
            if last is None or tss - last >= min_distance:
                kept.append(gene_id)
                last = tss
    return genes[genes["gene_id"].isin(kept)].reset_index(drop=True)


def count_starts(reads: pd.DataFrame, chrom: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Reads whose start lies in ``[lo, hi)`` per interval (enough for these checks)."""
    out = np.zeros(len(lo), dtype=np.int64)
    for c in np.unique(chrom):
        starts = np.sort(reads.loc[reads["chrom"] == c, "start"].to_numpy())
        m = chrom == c
        out[m] = np.searchsorted(starts, hi[m]) - np.searchsorted(starts, lo[m])
    return out


@pytest.fixture(scope="module")
def demo():
    """Demo genes and expression on chr21 + chr22, and their chromosome sizes."""
    genes, expression, sizes = read_demo_tables(DEMO_DIR)
    genes = genes[genes["chrom"].isin(CHROMS)].reset_index(drop=True)
    return genes, expression, {c: sizes[c] for c in CHROMS}


@pytest.fixture(scope="module")
def cell_files(demo, tmp_path_factory):
    """All five marks of one cell, simulated once for the module."""
    genes, expression, sizes = demo
    out = tmp_path_factory.mktemp("demo_reads")
    stats = simulate_cell(genes, expression.reset_index(), sizes, CELL, MARKS, out, seed=3)
    return {s["mark"]: Path(s["path"]) for s in stats}, stats


@pytest.fixture(scope="module")
def ranked(demo):
    """TSS-filtered genes with their expression in CELL, most expressed first."""
    genes, expression, _ = demo
    genes = tss_filter(genes)
    genes = genes.assign(expr=expression[CELL].reindex(genes["gene_id"]).to_numpy())
    genes["sign"] = np.where(genes["strand"] == "-", -1, 1)
    return genes.sort_values("expr", ascending=False, kind="stable").reset_index(drop=True)


def test_demo_tables_are_consistent():
    genes, expression, sizes = read_demo_tables(DEMO_DIR)
    assert list(genes.columns) == ["gene_id", "symbol", "chrom", "tss", "strand"]
    assert list(expression.columns) == ["E003", "E066", "E085", "E116", "E123"]
    assert genes["gene_id"].is_unique and expression.index.is_unique
    assert genes["gene_id"].tolist() == expression.index.tolist()
    assert set(genes["chrom"]) == set(sizes) == {"chr17", "chr19", "chr20", "chr21", "chr22"}
    assert set(genes["strand"]) <= {"+", "-", ""}
    assert (expression.to_numpy() >= 0).all()
    assert len(tss_filter(genes)) == 3318  # documented in data/demo/README.md


def test_tagalign_format(demo, cell_files):
    _, _, sizes = demo
    files, stats = cell_files
    for s in stats:
        reads = read_tagalign(files[s["mark"]])
        assert len(reads) == s["reads"] == s["signal_reads"] + s["background_reads"]
        assert len(reads) > 10_000
        assert set(reads["chrom"]) <= set(sizes)
        assert (reads["start"] >= 0).all() and (reads["start"] < reads["end"]).all()
        assert (reads["end"] <= reads["chrom"].map(sizes).astype("int64")).all()
        assert ((reads["end"] - reads["start"]) == 36).all()
        assert set(reads["name"]) == {"N"} and set(reads["score"]) == {1000}
        assert set(reads["strand"]) == {"+", "-"}
    # written atomically: nothing but the final files is left behind
    assert sorted(p.name for p in files["H3K4me3"].parent.iterdir()) == sorted(f"{CELL}-{m}.tagAlign.gz" for m in MARKS)


def test_deterministic_given_seed(demo, tmp_path):
    genes, expression, sizes = demo
    a, b, c = (tmp_path / name for name in ("a.tagAlign.gz", "b.tagAlign.gz", "c.tagAlign.gz"))
    for path, seed in ((a, 11), (b, 11), (c, 12)):
        simulate_reads(genes, expression[CELL], sizes, CELL, "H3K36me3", path, seed=seed)
    text = {p: gzip.decompress(p.read_bytes()) for p in (a, b, c)}
    assert text[a] == text[b]
    assert a.read_bytes() == b.read_bytes()  # no timestamp or temp name in the gzip header
    assert text[a] != text[c]


def test_marks_of_one_cell_differ_but_share_activity(demo):
    genes, expression, _ = demo
    ids = genes["gene_id"].tolist()
    z1 = latent_activity(ids, expression[CELL], CELL, seed=5)
    z2 = latent_activity(list(reversed(ids)), expression[CELL], CELL, seed=5)[::-1]
    np.testing.assert_array_equal(z1, z2)  # per gene, independent of table order
    other = latent_activity(ids, expression[CELL], "E003", seed=5)
    assert not np.allclose(z1, other)  # the noise is keyed by cell


def test_unknown_strand_is_simulated_as_plus(demo, tmp_path):
    genes, expression, sizes = demo
    as_plus = genes.assign(strand=genes["strand"].replace("", "+"))
    assert (genes["strand"] == "").any()
    simulate_reads(genes, expression[CELL], sizes, CELL, "H3K36me3", tmp_path / "u.gz", seed=1)
    simulate_reads(as_plus, expression[CELL], sizes, CELL, "H3K36me3", tmp_path / "p.gz", seed=1)
    assert gzip.decompress((tmp_path / "u.gz").read_bytes()) == gzip.decompress((tmp_path / "p.gz").read_bytes())


def _near_tss(reads: pd.DataFrame, genes: pd.DataFrame, upstream: int, downstream: int) -> np.ndarray:
    """Reads per gene in ``[-upstream, +downstream)`` of the TSS, in transcription direction."""
    tss, sign = genes["tss"].to_numpy(), genes["sign"].to_numpy()
    lo = np.where(sign > 0, tss - upstream, tss - downstream + 1)
    hi = np.where(sign > 0, tss + downstream, tss + upstream + 1)
    return count_starts(reads, genes["chrom"].to_numpy(dtype=str), lo, hi)


def test_marks_follow_biology(cell_files, ranked):
    files, _ = cell_files
    top, bottom = ranked.head(100), ranked.tail(100)
    reads = {m: read_tagalign(p) for m, p in files.items()}

    k4me3 = reads["H3K4me3"]
    assert _near_tss(k4me3, top, 1000, 1000).mean() > 4 * _near_tss(k4me3, bottom, 1000, 1000).mean()

    k27 = reads["H3K27me3"]
    assert _near_tss(k27, bottom, 5000, 5000).mean() > 2 * _near_tss(k27, top, 5000, 5000).mean()

    # H3K36me3 lies downstream of active TSSs, on either strand.
    k36 = reads["H3K36me3"]
    for sign in (1, -1):
        genes = top[top["sign"] == sign]
        assert len(genes) >= 20
        down = _near_tss(k36, genes, 0, 5000).mean()
        up = _near_tss(k36, genes, 5000, 0).mean()
        assert down > 1.5 * up, (sign, down, up)

    # H3K4me1 flanks moderately active genes (1-4 kb out) more than silent ones.
    k4me1 = reads["H3K4me1"]
    middle = ranked.iloc[len(ranked) // 8 : len(ranked) // 2]
    assert _near_tss(k4me1, middle, 4000, 4000).mean() > 1.5 * _near_tss(k4me1, bottom, 4000, 4000).mean()


def test_learnable_but_not_trivially(cell_files, ranked):
    """Per-mark mean reads in TSS +/- 5 kb -> logistic regression reaches a realistic AUROC."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    files, _ = cell_files
    genes = ranked
    x = np.column_stack([_near_tss(read_tagalign(files[m]), genes, 5000, 5000) / 100.0 for m in MARKS])
    label = (genes["expr"] >= genes["expr"].median()).to_numpy().astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    auroc = cross_val_score(model, x, label, cv=folds, scoring="roc_auc").mean()
    assert len(genes) > 500
    assert 0.65 < auroc < 0.97, auroc


def test_depth_scales_reads(demo, tmp_path):
    genes, expression, sizes = demo
    low = simulate_reads(genes, expression[CELL], sizes, CELL, "H3K4me3", tmp_path / "l.gz", depth=0.5)
    high = simulate_reads(genes, expression[CELL], sizes, CELL, "H3K4me3", tmp_path / "h.gz", depth=2.0)
    assert 3.5 < high["reads"] / low["reads"] < 4.5


def test_bad_inputs_are_named(demo, tmp_path):
    genes, expression, sizes = demo
    with pytest.raises(InputError, match="H3K79me2"):  # the demo simulates the five core marks and H3K27ac
        simulate_reads(genes, expression[CELL], sizes, CELL, "H3K79me2", tmp_path / "x.gz")
    with pytest.raises(InputError, match="chr21"):
        simulate_reads(genes, expression[CELL], {"chr22": sizes["chr22"]}, CELL, "H3K4me3", tmp_path / "x.gz")
    with pytest.raises(InputError, match="strand"):
        bad = genes.assign(strand="forward")
        simulate_reads(bad, expression[CELL], sizes, CELL, "H3K4me3", tmp_path / "x.gz")
    with pytest.raises(InputError, match="non-negative"):
        neg = expression[CELL].copy()
        neg.iloc[0] = -1.0
        simulate_reads(genes, neg, sizes, CELL, "H3K4me3", tmp_path / "x.gz")
    with pytest.raises(InputError, match="E999"):
        simulate_cell(genes, expression, sizes, "E999", ["H3K4me3"], tmp_path)
    assert not list(tmp_path.iterdir())  # failures leave no files


def test_genes_without_expression_get_background_only(demo, tmp_path):
    genes, expression, sizes = demo
    partial = expression[CELL].iloc[: len(expression) // 2]
    stats = simulate_reads(genes, partial, sizes, CELL, "H3K4me3", tmp_path / "x.gz")
    missing = int((~genes["gene_id"].isin(partial.index)).sum())
    assert stats["genes_without_expression"] == missing > 0
