"""Tests for chromexpr.preprocess.dataset (DESIGN.md section 4: labels, normalization, dataset files).

Every expected number is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import chromexpr
from chromexpr.errors import InputError
from chromexpr.preprocess.dataset import (
    Dataset,
    assemble_dataset,
    build_dataset,
    label_by_median,
    load_dataset,
    save_dataset,
    zscore_marks,
)
from chromexpr.preprocess.reference import write_splits

# --------------------------------------------------------------------------------------------
# label_by_median
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "median", "labels"),
    [
        ([1, 2, 3, 4], 2.5, [0, 0, 1, 1]),  # even: (2 + 3) / 2 = 2.5
        ([5, 1, 3], 3.0, [1, 0, 1]),  # odd: sorted 1 3 5 -> 3; 3 >= 3 -> 1 (the median itself is 1)
        ([4, 1, 2, 2], 2.0, [1, 0, 1, 1]),  # sorted 1 2 2 4 -> (2 + 2) / 2 = 2; both 2s -> 1
        ([0, 0, 0, 7.5], 0.0, [1, 1, 1, 1]),  # median (0 + 0) / 2 = 0; every value >= 0
        ([2.0, 2.0, 2.0], 2.0, [1, 1, 1]),  # constant: all equal to the median
        ([0.1, 100.0], 50.05, [0, 1]),  # (0.1 + 100) / 2 = 50.05
        ([9], 9.0, [1]),  # a single gene is its own median
    ],
)
def test_label_by_median(expression: list[float], median: float, labels: list[int]) -> None:
    out, med = label_by_median(np.array(expression, dtype=np.float64))
    assert med == pytest.approx(median)
    assert out.tolist() == labels
    assert out.dtype == np.int8
    assert isinstance(med, float)


def test_label_by_median_rejects_empty_and_nan() -> None:
    with pytest.raises(InputError):
        label_by_median(np.array([]))
    with pytest.raises(InputError, match="NaN"):
        label_by_median(np.array([1.0, np.nan, 3.0]))
    with pytest.raises(InputError):
        label_by_median(np.array([1.0, np.inf]))


# --------------------------------------------------------------------------------------------
# zscore_marks
# --------------------------------------------------------------------------------------------

# (genes=2, marks=2, bins=2). Mark 0: values 1 3 5 7 -> mean 4, deviations -3 -1 1 3,
# population variance (9 + 1 + 1 + 9) / 4 = 5, sd sqrt(5) = 2.2360680.
# (The sample sd would be sqrt(20 / 3) = 2.5819889; per-bin statistics would give bin 0 = 1 5 -> -1 1.)
# Mark 1: constant 7 -> sd 0 -> kept as 1, signal all zeros.
TINY = np.array([[[1, 3], [7, 7]], [[5, 7], [7, 7]]], dtype=np.int32)
R5 = math.sqrt(5)


def test_zscore_by_hand() -> None:
    signal, mean, sd = zscore_marks(TINY)
    assert mean.tolist() == [4.0, 7.0]
    assert sd[0] == pytest.approx(R5)  # population sd, not sqrt(20/3)
    assert sd[1] == 1.0  # zero variance -> 1
    # mark 0: (1-4)/sqrt5 = -1.3416408, (3-4)/sqrt5 = -0.4472136, (5-4)/sqrt5 = 0.4472136, (7-4)/sqrt5 = 1.3416408
    np.testing.assert_allclose(signal[:, 0, :], [[-3 / R5, -1 / R5], [1 / R5, 3 / R5]], rtol=1e-6)
    np.testing.assert_allclose(signal[:, 0, :], [[-1.3416408, -0.4472136], [0.4472136, 1.3416408]], rtol=1e-6)
    # mark 1: (7 - 7) / 1 = 0 everywhere, no NaN
    assert (signal[:, 1, :] == 0).all()
    assert not np.isnan(signal).any()
    assert signal.dtype == np.float32
    assert mean.dtype == np.float64 and sd.dtype == np.float64
    assert signal.shape == TINY.shape


def test_zscore_log1p_first() -> None:
    # one mark, values 0 1 3 7 -> log1p: 0, L, 2L, 3L with L = ln 2 = 0.6931472
    # mean 1.5L = 1.0397208; deviations -1.5L -0.5L 0.5L 1.5L; variance (2.25+0.25+0.25+2.25)/4 L^2 = 1.25 L^2
    # sd = sqrt(1.25) L = 0.7749636; z = (-1.5, -0.5, 0.5, 1.5) / sqrt(1.25) = -1.3416408 -0.4472136 ...
    counts = np.array([[[0, 1]], [[3, 7]]])
    signal, mean, sd = zscore_marks(counts, log1p=True)
    L = math.log(2)
    assert mean[0] == pytest.approx(1.5 * L)  # 1.0397208
    assert sd[0] == pytest.approx(math.sqrt(1.25) * L)  # 0.7749636
    np.testing.assert_allclose(signal[:, 0, :], [[-1.3416408, -0.4472136], [0.4472136, 1.3416408]], rtol=1e-6)
    # without log1p: mean (0+1+3+7)/4 = 2.75, var (7.5625+3.0625+0.0625+18.0625)/4 = 7.1875,
    # sd 2.6809513, first z = -2.75 / 2.6809513 = -1.0257553
    raw, raw_mean, raw_sd = zscore_marks(counts)
    assert raw_mean[0] == 2.75
    assert raw_sd[0] == pytest.approx(math.sqrt(7.1875))
    assert raw[0, 0, 0] == pytest.approx(-1.0257553, rel=1e-6)


def test_zscore_fit_mask_uses_only_fit_genes() -> None:
    # genes 0 and 1 (fit) are mark 0 of TINY: mean 4, sd sqrt5; gene 2 (not fit) is 100 200
    counts = np.array([[[1, 3]], [[5, 7]], [[100, 200]]])
    signal, mean, sd = zscore_marks(counts, fit_mask=np.array([True, True, False]))
    assert mean.tolist() == [4.0]
    assert sd[0] == pytest.approx(R5)
    # the statistics are applied to every gene: (100 - 4)/sqrt5 = 42.9325, (200 - 4)/sqrt5 = 87.653862
    np.testing.assert_allclose(signal[2, 0], [96 / R5, 196 / R5], rtol=1e-6)
    np.testing.assert_allclose(signal[2, 0], [42.932505, 87.653862], rtol=1e-6)
    # fitting on all genes gives other numbers: mean (1+3+5+7+100+200)/6 = 316/6 = 52.666...
    _, mean_all, _ = zscore_marks(counts)
    assert mean_all[0] == pytest.approx(316 / 6)


def test_zscore_zero_variance_on_fit_genes() -> None:
    # fit genes constant 2 -> sd kept 1; the other gene (5) becomes (5 - 2) / 1 = 3
    counts = np.array([[[2, 2]], [[2, 2]], [[5, 5]]])
    signal, mean, sd = zscore_marks(counts, fit_mask=[True, True, False])
    assert (mean.tolist(), sd.tolist()) == ([2.0], [1.0])
    assert signal[:, 0, :].tolist() == [[0, 0], [0, 0], [3, 3]]


def test_zscore_all_zero_mark_is_zeros() -> None:
    # an unmapped mark (all zero reads), with log1p: log1p(0) = 0, sd 0 -> 1, signal 0, not NaN
    counts = np.zeros((5, 2, 4))
    counts[:, 1] = np.arange(20).reshape(5, 4)
    signal, mean, sd = zscore_marks(counts, log1p=True)
    assert (signal[:, 0] == 0).all()
    assert mean[0] == 0.0 and sd[0] == 1.0
    assert np.isfinite(signal).all()


def test_zscore_errors() -> None:
    with pytest.raises(InputError):
        zscore_marks(np.zeros((3, 4)))  # not (genes, marks, bins)
    with pytest.raises(InputError, match="log1p"):
        zscore_marks(np.array([[[-1.0, 2.0]]]), log1p=True)
    with pytest.raises(InputError) as exc:
        zscore_marks(TINY, fit_mask=np.array([False, False]))
    assert exc.value.key == "normalize.fit_on"


# --------------------------------------------------------------------------------------------
# build_dataset
# --------------------------------------------------------------------------------------------

GEOM = {"window_bp": 100, "bin_bp": 50, "orient_by_strand": True, "n_bins": 4}


def small(n_genes: int = 4, **kw) -> Dataset:
    counts = np.arange(n_genes * 2 * 4, dtype=np.int32).reshape(n_genes, 2, 4)
    args = dict(
        counts=counts, gene_ids=[f"G{i}" for i in range(n_genes)], marks=["H3K4me3", "H3K27me3"],
        expression=np.arange(n_genes, dtype=np.float64)[::-1] + 1,
        split=(["train", "valid", "test"] * n_genes)[:n_genes], cell="E003", geometry=GEOM,
    )
    args.update(kw)
    return build_dataset(**args)


def test_build_dataset_labels_and_meta() -> None:
    ds = small(4, provenance={"inputs": {"x": 1}})
    # expression 4 3 2 1 -> median 2.5 -> labels 1 1 0 0
    assert ds.label.tolist() == [1, 1, 0, 0]
    assert ds.meta["label"] == {"rule": "expression >= median", "median": 2.5}
    assert ds.meta["cell"] == "E003"
    assert ds.meta["geometry"] == GEOM
    assert ds.meta["normalization"] == {"log1p": False, "zscore": True, "fit_on": "all"}
    assert ds.meta["provenance"] == {"inputs": {"x": 1}}
    assert ds.n_genes == 4
    assert ds.subset("train").tolist() == [True, False, False, True]
    assert ds.marks.tolist() == ["H3K4me3", "H3K27me3"]
    assert ds.counts.dtype == np.int32  # raw counts kept as given
    assert ds.signal.shape == (4, 2, 4)


def test_build_dataset_fit_on_train() -> None:
    # mark 0 of gene g holds 8g .. 8g+3 (arange reshaped (4, 2, 4)); train genes 0 and 3:
    # values 0 1 2 3 24 25 26 27 -> mean (6 + 102) / 8 = 13.5
    ds = small(4, fit_on="train", log1p=False)
    assert ds.zscore_mean[0] == pytest.approx(13.5)
    # deviations -13.5 -12.5 -11.5 -10.5 10.5 11.5 12.5 13.5 -> squares sum
    # 2*(182.25 + 156.25 + 132.25 + 110.25) = 1162 -> variance 145.25
    assert ds.zscore_std[0] == pytest.approx(math.sqrt(145.25))
    assert ds.meta["normalization"]["fit_on"] == "train"
    all_ = small(4)
    # all genes: mark 0 values 0-3, 8-11, 16-19, 24-27 -> mean (6 + 38 + 70 + 102) / 16 = 13.5 as well,
    # but the variance differs: it includes genes 1 and 2 near the mean
    assert all_.zscore_mean[0] == pytest.approx(13.5)
    assert all_.zscore_std[0] < ds.zscore_std[0]


def test_build_dataset_log1p_recorded() -> None:
    ds = small(3, log1p=True)
    assert ds.meta["normalization"]["log1p"] is True
    np.testing.assert_allclose(ds.zscore_mean, np.log1p(ds.counts.astype(float)).mean(axis=(0, 2)))


def test_build_dataset_given_labels() -> None:
    ds = small(3, expression=np.array([np.nan, np.nan, np.nan]), labels=np.array([0, 1, 1]))
    assert ds.label.tolist() == [0, 1, 1]
    assert ds.label.dtype == np.int8
    assert ds.meta["label"] == {"rule": "given by the source"}
    with pytest.raises(InputError, match="0/1"):
        small(3, labels=np.array([0, 2, 1]))
    with pytest.raises(InputError):
        small(3, labels=np.array([0, 1]))


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"marks": ["H3K4me3"]}, "1 marks"),  # counts have 2 marks
        ({"gene_ids": ["G0", "G1", "G2"]}, "gene_ids"),
        ({"expression": np.ones(5)}, "expression"),
        ({"split": ["train"] * 3}, "split"),
        ({"gene_ids": ["G0", "G1", "G0", "G3"]}, "unique"),
        ({"split": ["train", "valid", "test", "holdout"]}, "holdout"),
        ({"fit_on": "valid"}, "fit_on"),
        ({"counts": np.zeros((4, 8))}, "shape"),
    ],
)
def test_build_dataset_errors(kw: dict, needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        small(4, **kw)


def test_build_dataset_fit_on_error_names_key() -> None:
    with pytest.raises(InputError) as exc:
        small(4, fit_on="test")
    assert exc.value.key == "normalize.fit_on"


def test_build_dataset_fit_on_train_without_train_genes() -> None:
    with pytest.raises(InputError) as exc:
        small(2, split=["valid", "test"], fit_on="train")
    assert exc.value.key == "normalize.fit_on"


# --------------------------------------------------------------------------------------------
# save / load
# --------------------------------------------------------------------------------------------

FIELDS = ["counts", "signal", "expression", "label", "split", "gene_ids", "marks", "zscore_mean", "zscore_std"]


def test_save_load_round_trip(tmp_path: Path) -> None:
    ds = small(6, log1p=True, fit_on="train",
               provenance={"inputs": {"tss": {"path": "a/b.tsv", "sha256": "ab" * 32}}, "n": [1, 2]})
    path = save_dataset(ds, tmp_path / "sub" / "E003.npz")
    assert path == tmp_path / "sub" / "E003.npz"
    assert sorted(p.name for p in path.parent.iterdir()) == ["E003.npz"]  # no temporary left behind
    back = load_dataset(path)
    for name in FIELDS:
        a, b = getattr(ds, name), getattr(back, name)
        assert a.dtype == b.dtype, name
        assert a.shape == b.shape, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert back.meta == ds.meta
    # plain arrays only: readable without pickle
    with np.load(path, allow_pickle=False) as z:
        assert sorted(z.files) == sorted([*FIELDS, "meta"])
        assert json.loads(str(z["meta"]))["cell"] == "E003"


def test_load_dataset_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "E003.npz"
    bad.write_text("not a dataset\n")
    with pytest.raises(InputError) as exc:
        load_dataset(bad)
    assert exc.value.path == str(bad)
    with pytest.raises(InputError):
        load_dataset(tmp_path / "missing.npz")


# --------------------------------------------------------------------------------------------
# assemble_dataset
# --------------------------------------------------------------------------------------------


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def inputs(tmp_path: Path) -> dict:
    tss = tmp_path / "tss.tsv"
    # TSS table order (the row order of the count matrices): G3 G1 G4 G2
    tss.write_text("gene_id\tchrom\ttss\tstrand\nG3\tchr1\t1000\t+\nG1\tchr1\t9000\t-\nG4\tchr2\t500\t+\n"
                   "G2\tchr2\t8000\t-\n")
    splits = tmp_path / "splits.tsv"
    write_splits(pd.Series(["train", "train", "valid", "test", "test"],
                           index=pd.Index(["G1", "G2", "G3", "G4", "G9"], name="gene_id")), splits)
    expr = tmp_path / "expr.tsv"
    # other row order and an extra gene; E003 values by gene: G1 0, G2 1, G3 10, G4 5
    expr.write_text("gene_id\tsymbol\tE003\tE004\nG1\ta\t0\t1\nG2\tb\t1\t1\nG3\tc\t10\t1\nG4\td\t5\t1\n"
                    "G8\te\t3\t3\n")
    k4 = np.array([[1, 2, 3], [0, 0, 0], [4, 4, 4], [9, 8, 7]], dtype=np.int32)  # rows G3 G1 G4 G2
    k27 = np.array([[0, 1, 0], [5, 5, 5], [0, 0, 1], [2, 2, 2]], dtype=np.int32)
    cdir = tmp_path / "counts" / "E003"
    cdir.mkdir(parents=True)
    np.save(cdir / "H3K4me3.npy", k4)
    np.save(cdir / "H3K27me3.npy", k27)
    (cdir / "H3K4me3.json").write_text(json.dumps({"reads": 42, "sha256": "f" * 64}))
    return {"tss": tss, "splits": splits, "expr": expr, "k4": k4, "k27": k27, "cdir": cdir, "tmp": tmp_path}


def test_assemble_dataset(inputs: dict) -> None:
    cdir, tmp = inputs["cdir"], inputs["tmp"]
    extra = tmp / "chrom.sizes"
    extra.write_text("chr1\t100\n")
    out = tmp / "datasets" / "E003.npz"
    ds = assemble_dataset(
        {"H3K4me3": cdir / "H3K4me3.npy", "H3K27me3": cdir / "H3K27me3.npy"},
        inputs["tss"], inputs["splits"], inputs["expr"], out, cell="E003", log1p=True,
        inputs={"chrom_sizes": extra}, parameters={"engine": "native"},
    )
    assert out.exists()
    back = load_dataset(out)
    for d in (ds, back):
        assert d.gene_ids.tolist() == ["G3", "G1", "G4", "G2"]  # TSS table order
        assert d.marks.tolist() == ["H3K4me3", "H3K27me3"]
        assert d.counts.shape == (4, 2, 3)  # (genes, marks, bins)
        np.testing.assert_array_equal(d.counts[:, 0], inputs["k4"])
        np.testing.assert_array_equal(d.counts[:, 1], inputs["k27"])
        assert d.expression.tolist() == [10.0, 0.0, 5.0, 1.0]  # aligned by id: G3 G1 G4 G2
        # median of 10 0 5 1 = (1 + 5) / 2 = 3 -> 1 0 1 0
        assert d.label.tolist() == [1, 0, 1, 0]
        assert d.meta["label"]["median"] == 3.0
        assert d.split.tolist() == ["valid", "train", "test", "train"]
        assert d.meta["normalization"] == {"log1p": True, "zscore": True, "fit_on": "all"}
        assert d.meta["geometry"] == {"n_bins": 3}  # no geometry parameter: the bin count is recorded
        prov = d.meta["provenance"]
        assert prov["chromexpr_version"] == chromexpr.__version__
        assert prov["inputs"]["tss"] == {"path": str(inputs["tss"]), "sha256": sha(inputs["tss"])}
        assert prov["inputs"]["splits"]["sha256"] == sha(inputs["splits"])
        assert prov["inputs"]["expression"]["sha256"] == sha(inputs["expr"])
        assert prov["inputs"]["chrom_sizes"]["sha256"] == sha(extra)
        assert prov["marks"] == {"H3K4me3": {"reads": 42, "sha256": "f" * 64}}  # sidecar folded in
        assert prov["parameters"] == {"engine": "native"}
    # sanity of the hash helper used above: sha256 of b"" is the well-known e3b0c442...
    empty = tmp / "empty"
    empty.write_bytes(b"")
    assert sha(empty).startswith("e3b0c44298fc1c149afbf4c8996fb924")


def test_assemble_dataset_geometry_parameter_and_fit_on(inputs: dict) -> None:
    cdir, tmp = inputs["cdir"], inputs["tmp"]
    geom = {"window_bp": 150, "bin_bp": 100, "orient_by_strand": True, "n_bins": 3}
    ds = assemble_dataset({"H3K27me3": cdir / "H3K27me3.npy"}, inputs["tss"], inputs["splits"], inputs["expr"],
                          tmp / "o.npz", cell="E004", fit_on="train", parameters={"geometry": geom})
    assert ds.meta["geometry"] == geom
    # E004: 1 1 1 1 -> median 1 -> all 1
    assert ds.label.tolist() == [1, 1, 1, 1]
    # train genes G1 (row 1: 5 5 5) and G2 (row 3: 2 2 2): mean 3.5, sd 1.5 -> G1 (5-3.5)/1.5 = 1
    assert ds.zscore_mean.tolist() == [3.5]
    assert ds.zscore_std[0] == pytest.approx(1.5)
    np.testing.assert_allclose(ds.signal[1, 0], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(ds.signal[3, 0], [-1.0, -1.0, -1.0])  # (2 - 3.5) / 1.5


def test_assemble_dataset_wrong_row_count_names_file(inputs: dict) -> None:
    cdir, tmp = inputs["cdir"], inputs["tmp"]
    bad = cdir / "H3K9me3.npy"
    np.save(bad, np.zeros((3, 3), dtype=np.int32))  # 3 rows, the TSS table has 4 genes
    with pytest.raises(InputError) as exc:
        assemble_dataset({"H3K4me3": cdir / "H3K4me3.npy", "H3K9me3": bad}, inputs["tss"], inputs["splits"],
                         inputs["expr"], tmp / "o.npz", cell="E003")
    assert exc.value.path == str(bad)
    assert str(bad) in str(exc.value) and "3 rows" in str(exc.value) and "4 genes" in str(exc.value)
    assert not (tmp / "o.npz").exists()


def test_assemble_dataset_bin_mismatch(inputs: dict) -> None:
    cdir, tmp = inputs["cdir"], inputs["tmp"]
    np.save(cdir / "wide.npy", np.zeros((4, 5), dtype=np.int32))
    with pytest.raises(InputError, match=r"\[3, 5\]"):
        assemble_dataset({"H3K4me3": cdir / "H3K4me3.npy", "H3K9me3": cdir / "wide.npy"}, inputs["tss"],
                         inputs["splits"], inputs["expr"], tmp / "o.npz", cell="E003")


def test_assemble_dataset_missing_split_or_expression(inputs: dict) -> None:
    cdir, tmp = inputs["cdir"], inputs["tmp"]
    counts = {"H3K4me3": cdir / "H3K4me3.npy"}
    short_splits = tmp / "short.tsv"
    write_splits(pd.Series(["train", "valid", "test"], index=pd.Index(["G1", "G2", "G3"], name="gene_id")),
                 short_splits)
    with pytest.raises(InputError, match="G4") as exc:
        assemble_dataset(counts, inputs["tss"], short_splits, inputs["expr"], tmp / "o.npz", cell="E003")
    assert exc.value.path == str(short_splits)
    short_expr = tmp / "short_expr.tsv"
    short_expr.write_text("gene_id\tE003\nG1\t1\nG3\t2\nG4\t3\n")
    with pytest.raises(InputError, match="G2") as exc:
        assemble_dataset(counts, inputs["tss"], inputs["splits"], short_expr, tmp / "o.npz", cell="E003")
    assert exc.value.path == str(short_expr)
    with pytest.raises(InputError) as exc:
        assemble_dataset(counts, inputs["tss"], inputs["splits"], inputs["expr"], tmp / "o.npz", cell="E999")
    assert exc.value.key == "cells"


# --------------------------------------------------------------------------------------------
# damaged files (DESIGN.md section 8: every input validated where it enters, errors name the file)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cut", [0, 2])  # empty file; first half of the zip
def test_load_dataset_truncated_npz(tmp_path: Path, cut: int) -> None:
    path = save_dataset(small(4), tmp_path / "E003.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if cut else b"")
    with pytest.raises(InputError) as exc:
        load_dataset(path)
    assert exc.value.path == str(path)


def test_load_dataset_foreign_npz(tmp_path: Path) -> None:
    path = tmp_path / "other.npz"
    np.savez(path, a=np.ones(3))
    with pytest.raises(InputError) as exc:
        load_dataset(path)
    assert exc.value.path == str(path)


def test_assemble_dataset_counts_not_2d_names_file(inputs: dict) -> None:
    cdir, tmp = inputs["cdir"], inputs["tmp"]
    flat = cdir / "flat.npy"
    np.save(flat, np.zeros(4, dtype=np.int32))  # 4 genes but no bin axis
    with pytest.raises(InputError) as exc:
        assemble_dataset({"H3K4me3": flat}, inputs["tss"], inputs["splits"], inputs["expr"], tmp / "o.npz",
                         cell="E003")
    assert exc.value.path == str(flat)


def test_assemble_dataset_corrupt_counts_names_file(inputs: dict) -> None:
    cdir, tmp = inputs["cdir"], inputs["tmp"]
    bad = cdir / "bad.npy"
    bad.write_bytes(b"garbage, not an npy file")
    with pytest.raises(InputError) as exc:
        assemble_dataset({"H3K4me3": bad}, inputs["tss"], inputs["splits"], inputs["expr"], tmp / "o.npz",
                         cell="E003")
    assert exc.value.path == str(bad)
