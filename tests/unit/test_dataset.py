"""Tests for chromexpr.dataset (DESIGN.md section 4: labels, normalization, dataset files).

Every expected number is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import chromexpr
from chromexpr.dataset import (
    Dataset,
    assemble_dataset,
    build_dataset,
    load_dataset,
    save_dataset,
)
from chromexpr.errors import InputError
from chromexpr.io.tables import write_splits

# --------------------------------------------------------------------------------------------
# build_dataset
# --------------------------------------------------------------------------------------------

GEOM = {"window_bp": 100, "bin_bp": 50, "orient_by_strand": True, "n_bins": 4}


def small(n_genes: int = 4, **kw) -> Dataset:
    counts = np.arange(n_genes * 2 * 4, dtype=np.int32).reshape(n_genes, 2, 4)
    args = dict(
        counts=counts,
        gene_ids=[f"G{i}" for i in range(n_genes)],
        marks=["H3K4me3", "H3K27me3"],
        expression=np.arange(n_genes, dtype=np.float64)[::-1] + 1,
        split=(["train", "valid", "test"] * n_genes)[:n_genes],
        cell="E003",
        geometry=GEOM,
    )
    args.update(kw)
    return build_dataset(**args)


def test_build_dataset_labels_and_meta() -> None:
    ds = small(4, provenance={"inputs": {"x": 1}})
    # expression 4 3 2 1 -> median 2.5 -> labels 1 1 0 0
    assert ds.label.tolist() == [1, 1, 0, 0]
    assert ds.meta["label"] == {"rule": "expression >= median", "median": 2.5, "median_over": "the dataset's 4 genes"}
    assert ds.meta["cell"] == "E003"
    assert ds.meta["geometry"] == GEOM
    assert ds.meta["normalization"] == {"log1p": False, "zscore": True, "fit_on": "train"}  # the default
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
    all_ = small(4, fit_on="all")
    # all genes: mark 0 values 0-3, 8-11, 16-19, 24-27 -> mean (6 + 38 + 70 + 102) / 16 = 13.5 as well,
    # but the variance differs: it includes genes 1 and 2 near the mean
    assert all_.zscore_mean[0] == pytest.approx(13.5)
    assert all_.zscore_std[0] < ds.zscore_std[0]


def test_build_dataset_log1p_recorded() -> None:
    ds = small(3, log1p=True, fit_on="all")
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
    ds = small(
        6,
        log1p=True,
        fit_on="train",
        provenance={"inputs": {"tss": {"path": "a/b.tsv", "sha256": "ab" * 32}}, "n": [1, 2]},
    )
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
    tss.write_text(
        "gene_id\tchrom\ttss\tstrand\nG3\tchr1\t1000\t+\nG1\tchr1\t9000\t-\nG4\tchr2\t500\t+\nG2\tchr2\t8000\t-\n"
    )
    splits = tmp_path / "splits.tsv"
    write_splits(
        pd.Series(
            ["train", "train", "valid", "test", "test"], index=pd.Index(["G1", "G2", "G3", "G4", "G9"], name="gene_id")
        ),
        splits,
    )
    expr = tmp_path / "expr.tsv"
    # other row order and an extra gene; E003 values by gene: G1 0, G2 1, G3 10, G4 5
    expr.write_text("gene_id\tsymbol\tE003\tE004\nG1\ta\t0\t1\nG2\tb\t1\t1\nG3\tc\t10\t1\nG4\td\t5\t1\nG8\te\t3\t3\n")
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
        inputs["tss"],
        inputs["splits"],
        inputs["expr"],
        out,
        cell="E003",
        log1p=True,
        inputs={"chrom_sizes": extra},
        parameters={"engine": "native"},
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
        assert d.meta["normalization"] == {"log1p": True, "zscore": True, "fit_on": "train"}
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
    ds = assemble_dataset(
        {"H3K27me3": cdir / "H3K27me3.npy"},
        inputs["tss"],
        inputs["splits"],
        inputs["expr"],
        tmp / "o.npz",
        cell="E004",
        fit_on="train",
        parameters={"geometry": geom},
    )
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
        assemble_dataset(
            {"H3K4me3": cdir / "H3K4me3.npy", "H3K9me3": bad},
            inputs["tss"],
            inputs["splits"],
            inputs["expr"],
            tmp / "o.npz",
            cell="E003",
        )
    assert exc.value.path == str(bad)
    assert str(bad) in str(exc.value) and "3 rows" in str(exc.value) and "4 genes" in str(exc.value)
    assert not (tmp / "o.npz").exists()


def test_assemble_dataset_bin_mismatch(inputs: dict) -> None:
    cdir, tmp = inputs["cdir"], inputs["tmp"]
    np.save(cdir / "wide.npy", np.zeros((4, 5), dtype=np.int32))
    with pytest.raises(InputError, match=r"\[3, 5\]"):
        assemble_dataset(
            {"H3K4me3": cdir / "H3K4me3.npy", "H3K9me3": cdir / "wide.npy"},
            inputs["tss"],
            inputs["splits"],
            inputs["expr"],
            tmp / "o.npz",
            cell="E003",
        )


def test_assemble_dataset_missing_split_or_expression(inputs: dict) -> None:
    cdir, tmp = inputs["cdir"], inputs["tmp"]
    counts = {"H3K4me3": cdir / "H3K4me3.npy"}
    short_splits = tmp / "short.tsv"
    write_splits(
        pd.Series(["train", "valid", "test"], index=pd.Index(["G1", "G2", "G3"], name="gene_id")), short_splits
    )
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
        assemble_dataset({"H3K4me3": flat}, inputs["tss"], inputs["splits"], inputs["expr"], tmp / "o.npz", cell="E003")
    assert exc.value.path == str(flat)


def test_assemble_dataset_corrupt_counts_names_file(inputs: dict) -> None:
    cdir, tmp = inputs["cdir"], inputs["tmp"]
    bad = cdir / "bad.npy"
    bad.write_bytes(b"garbage, not an npy file")
    with pytest.raises(InputError) as exc:
        assemble_dataset({"H3K4me3": bad}, inputs["tss"], inputs["splits"], inputs["expr"], tmp / "o.npz", cell="E003")
    assert exc.value.path == str(bad)


# --------------------------------------------------------------------------------------------
# a file that is not a dataset at all; byte-reproducible builds
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("E003.tsv", b"gene_id\tE003\nG1\t1\n", "it is a text file (it looks like TSV), not an .npz archive"),
        ("E003.csv", b"geneID,binID,label\n", "it is a text file (it looks like CSV), not an .npz archive"),
        ("E003.csv.gz", gzip.compress(b"a,b\n"), "it is gzip-compressed, not an .npz archive"),
        ("empty.npz", b"", "the file is empty"),
    ],
)
def test_load_dataset_given_something_else_says_what_to_do(
    tmp_path: Path, name: str, content: bytes, what: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as exc:
        load_dataset(path)
    msg = str(exc.value)
    assert exc.value.path == str(path)
    assert msg.startswith(f"{path}: not a chromexpr dataset: {what}")
    assert "'chromexpr dataset' or 'chromexpr ingest'" in msg and "results/datasets/<cell>.npz" in msg
    assert "pickle" not in msg


def test_load_dataset_given_an_npy(tmp_path: Path) -> None:
    path = tmp_path / "H3K4me3.npy"
    np.save(path, np.zeros((2, 3)))
    with pytest.raises(InputError, match="it is a single .npy array, not an .npz archive"):
        load_dataset(path)


def test_assemble_twice_gives_the_same_bytes_and_no_timings(inputs: dict) -> None:
    cdir, tmp = inputs["cdir"], inputs["tmp"]
    # a sidecar as the binning step writes it, wall-clock seconds included
    (cdir / "H3K27me3.json").write_text(
        json.dumps(
            {
                "input": {"path": "x.tagAlign.gz", "sha256": "0" * 64},
                "seconds": 1.234,
                "stats": {"reads": 7, "seconds": 0.5},
            }
        )
    )
    counts = {"H3K4me3": cdir / "H3K4me3.npy", "H3K27me3": cdir / "H3K27me3.npy"}
    a = tmp / "a" / "E003.npz"
    b = tmp / "b" / "E003.npz"
    ds = assemble_dataset(counts, inputs["tss"], inputs["splits"], inputs["expr"], a, cell="E003")
    time.sleep(2.1)  # zip member times have a 2-second resolution
    assemble_dataset(counts, inputs["tss"], inputs["splits"], inputs["expr"], b, cell="E003")
    assert sha(a) == sha(b)
    assert ds.meta["provenance"]["marks"]["H3K27me3"] == {
        "input": {"path": "x.tagAlign.gz", "sha256": "0" * 64},
        "stats": {"reads": 7},
    }
    assert "seconds" not in json.dumps(load_dataset(a).meta)


def test_save_dataset_is_deterministic(tmp_path: Path) -> None:
    ds = small(5)
    a = save_dataset(ds, tmp_path / "a.npz")
    time.sleep(2.1)
    b = save_dataset(ds, tmp_path / "b.npz")
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == [f"{k}.npy" for k in [*FIELDS, "meta"]]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}


def test_assemble_dataset_labels_by_the_median_over_the_cells_genes(inputs: dict) -> None:
    """E003 in the matrix: G1 0, G2 1, G3 10, G4 5 (the dataset's genes) and G8 20, G7 30 (not in the TSS table):
    the cell's median over its 6 genes is 7.5, so only G3 is expressed; over the dataset's 4 genes it is 3."""
    inputs["expr"].write_text("gene_id\tE003\nG1\t0\nG2\t1\nG3\t10\nG4\t5\nG8\t20\nG7\t30\n")
    counts = {"H3K4me3": inputs["cdir"] / "H3K4me3.npy", "H3K27me3": inputs["cdir"] / "H3K27me3.npy"}
    args = (counts, inputs["tss"], inputs["splits"], inputs["expr"])
    ds = assemble_dataset(*args, inputs["tmp"] / "cell.npz", cell="E003")
    assert ds.gene_ids.tolist() == ["G3", "G1", "G4", "G2"] and ds.label.tolist() == [1, 0, 0, 0]
    assert ds.meta["label"] == {
        "rule": "expression >= median",
        "median": 7.5,
        "median_over": "the cell's 6 genes in expr.tsv",
    }
    other = assemble_dataset(*args, inputs["tmp"] / "dataset.npz", cell="E003", median_over="dataset")
    assert other.label.tolist() == [1, 0, 1, 0] and other.meta["label"]["median"] == 3.0
    with pytest.raises(InputError, match="config key 'expression.median_over': unknown median_over 'genes'"):
        assemble_dataset(*args, inputs["tmp"] / "x.npz", cell="E003", median_over="genes")


def test_assemble_dataset_keeps_the_gene_sets_genes_in_tss_order(inputs: dict) -> None:
    # the TSS table is the union of the gene sets binned (rows G3 G1 G4 G2); this set's manifest lists G2 and G3
    # only (G1, G4 belong to another set), so the dataset keeps rows 0 (G3) and 3 (G2) of every count matrix
    cdir, tmp = inputs["cdir"], inputs["tmp"]
    manifest = tmp / "genesets" / "narrow.tsv"
    manifest.parent.mkdir()
    write_splits(pd.Series(["test", "train"], index=pd.Index(["G2", "G3"], name="gene_id")), manifest)
    record = {"name": "narrow", "min_tss_distance": 5000, "chromosomes": [], "split": {"method": "blocks"}}
    ds = assemble_dataset(
        {"H3K4me3": cdir / "H3K4me3.npy", "H3K27me3": cdir / "H3K27me3.npy"},
        inputs["tss"],
        manifest,
        inputs["expr"],
        tmp / "narrow.npz",
        cell="E003",
        gene_set=record,
    )
    assert ds.gene_ids.tolist() == ["G3", "G2"]
    np.testing.assert_array_equal(ds.counts[:, 0], inputs["k4"][[0, 3]])
    np.testing.assert_array_equal(ds.counts[:, 1], inputs["k27"][[0, 3]])
    assert ds.split.tolist() == ["train", "test"]
    assert ds.expression.tolist() == [10.0, 1.0]
    # the label median is still the cell's over all its genes (0 1 10 5 3 -> 3): G3 10 -> 1, G2 1 -> 0
    assert ds.label.tolist() == [1, 0]
    meta = load_dataset(tmp / "narrow.npz").meta["gene_set"]
    assert meta == {**record, "genes": 2, "genes_per_split": {"train": 1, "valid": 0, "test": 1}}


def test_assemble_dataset_gene_set_gene_missing_from_the_tss_table_names_the_manifest(inputs: dict) -> None:
    # the default fixture manifest lists G9, which the TSS table lacks
    cdir, tmp = inputs["cdir"], inputs["tmp"]
    with pytest.raises(InputError, match=r"1 genes of gene set 'x' are not in the TSS table \(e.g. G9\)") as err:
        assemble_dataset(
            {"H3K4me3": cdir / "H3K4me3.npy"},
            inputs["tss"],
            inputs["splits"],
            inputs["expr"],
            tmp / "x.npz",
            cell="E003",
            gene_set={"name": "x"},
        )
    assert str(inputs["splits"]) in str(err.value)
    assert not (tmp / "x.npz").exists()
