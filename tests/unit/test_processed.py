"""Tests for chromexpr.sources.processed: the released DeepChrome / DeepDiff CSVs -> datasets, and back."""

from __future__ import annotations

import gzip
import hashlib
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from released_files import deepchrome_rows, expect_error, write_rows

from chromexpr.dataset import (
    CANONICAL_MARKS,
    SPLITS,
    Dataset,
    build_dataset,
    load_dataset,
    save_dataset,
)
from chromexpr.errors import InputError
from chromexpr.io.deepchrome_csv import (
    DEEPCHROME_HEADER,
    DEEPCHROME_MARKS,
    read_deepchrome_csv,
)
from chromexpr.io.deepdiff_csv import DEEPDIFF_MARKS
from chromexpr.io.tables import read_expression
from chromexpr.sources.processed import export_deepchrome_csv, ingest_processed

REAL = Path(__file__).resolve().parents[2] / "data" / "real"
SAMPLE = REAL / "deepdiff_sample"
COUNTS = REAL / "remc_counts_9cells.tsv.gz"
SPLIT_NAMES = SPLITS


def _inputs(cell: str) -> dict[str, Path]:
    return {s: SAMPLE / f"{cell}.{s}.csv.gz" for s in SPLIT_NAMES}


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Dataset]:
    """The real DeepDiff sample of both cells, ingested once for all tests of this file."""
    out = tmp_path_factory.mktemp("datasets")
    return {
        cell: load_dataset(ingest_processed("deepdiff", _inputs(cell), cell, out / f"{cell}.npz", expression=COUNTS))
        for cell in ("E003", "E123")
    }


# --------------------------------------------------------------------------------------------------
# the real DeepDiff sample
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["E003", "E123"])
def test_real_deepdiff_shapes_and_splits(real: dict[str, Dataset], cell: str) -> None:
    ds = real[cell]
    assert ds.counts.shape == (600, 5, 200)
    assert ds.counts.dtype == np.int32
    assert list(ds.marks) == list(CANONICAL_MARKS)
    for split in SPLIT_NAMES:
        assert int(ds.subset(split).sum()) == 200
    assert ds.meta["geometry"]["window_bp"] == 10000
    assert ds.meta["geometry"]["bin_bp"] == 100
    assert ds.meta["geometry"]["orient_by_strand"] is False
    prov = ds.meta["provenance"]
    assert prov["format"] == "deepdiff"
    assert prov["source_marks"] == list(DEEPDIFF_MARKS)
    assert set(prov["inputs"]) == set(SPLIT_NAMES)
    assert all(len(v["sha256"]) == 64 for v in prov["inputs"].values())
    assert len(prov["expression"]["sha256"]) == 64
    assert prov["chromexpr_version"]


def test_real_same_genes_in_both_cells(real: dict[str, Dataset]) -> None:
    assert np.array_equal(real["E003"].gene_ids, real["E123"].gene_ids)
    assert np.array_equal(real["E003"].split, real["E123"].split)
    assert len(set(real["E003"].gene_ids.tolist())) == 600


@pytest.mark.parametrize(("cell", "cell_median", "sample_median"), [("E003", 2431.0, 3241.5), ("E123", 1202.0, 2835.0)])
def test_real_labels_are_the_cells_median_over_all_its_genes(
    real: dict[str, Dataset], cell: str, cell_median: float, sample_median: float, tmp_path: Path
) -> None:
    """The labels the papers trained on: expression >= the median over the cell's 19,795 genes of the counts
    matrix, not over the sample's 600 (which labels 32 of 600 genes otherwise and moves the test positive
    fraction from 0.615 to 0.55)."""
    ds = real[cell]
    expr = read_expression(COUNTS, [cell])[cell]
    assert len(expr) == 19795 and float(np.median(expr)) == cell_median
    assert ds.meta["label"] == {
        "rule": "expression >= median",
        "median": cell_median,
        "median_over": "the cell's 19,795 genes in remc_counts_9cells.tsv.gz",
    }
    assert np.array_equal(ds.label, (ds.expression >= cell_median).astype(np.int8))
    assert ds.label.sum() == 332 and ds.label[ds.split == "test"].mean() == pytest.approx(0.615)
    # expression comes from the matrix column of this cell
    assert np.array_equal(ds.expression, expr.loc[ds.gene_ids].to_numpy())
    # the other reading, kept as median_over: dataset
    inputs = {s: SAMPLE / f"{cell}.{s}.csv.gz" for s in ("train", "valid", "test")}
    other = load_dataset(
        ingest_processed("deepdiff", inputs, cell, tmp_path / "d.npz", expression=COUNTS, median_over="dataset")
    )
    assert other.meta["label"]["median"] == sample_median == float(np.median(ds.expression))
    assert other.meta["label"]["median_over"] == "the dataset's 600 genes"
    assert int((other.label != ds.label).sum()) == 32 and other.label.sum() == 300
    assert other.label[other.split == "test"].mean() == pytest.approx(0.55)


def test_real_marks_reordered_against_raw_text(real: dict[str, Dataset]) -> None:
    ds = real["E003"]
    # first row of E003.train: ENSG00000130749_ZC3H4_1,2,0,0,1,1 (H3K4me1,H3K4me3,H3K9me3,H3K27me3,H3K36me3)
    assert ds.gene_ids[0] == "ENSG00000130749"
    assert ds.counts[0, :, 0].tolist() == [0, 2, 1, 1, 0]  # H3K4me3, H3K4me1, H3K36me3, H3K27me3, H3K9me3
    with gzip.open(SAMPLE / "E003.test.csv.gz", "rt") as fh:
        raw = fh.read().splitlines()
    test_rows = np.flatnonzero(ds.split == "test")
    for gene_in_file, bin_index in [(0, 0), (7, 99), (123, 150), (199, 199)]:
        fields = raw[gene_in_file * 200 + bin_index].split(",")
        gene, _, rest = fields[0].partition("_")
        assert rest.rsplit("_", 1)[1] == str(bin_index + 1)
        g = test_rows[gene_in_file]
        assert ds.gene_ids[g] == gene
        for mark in CANONICAL_MARKS:
            raw_value = int(fields[1 + DEEPDIFF_MARKS.index(mark)])
            assert ds.counts[g, CANONICAL_MARKS.index(mark), bin_index] == raw_value, (mark, fields)


def test_round_trip_export_then_read(real: dict[str, Dataset], tmp_path: Path) -> None:
    ds = real["E123"]
    for name in ("e123.csv", "e123.csv.gz"):
        out = export_deepchrome_csv(ds, tmp_path / name)
        table = read_deepchrome_csv(out)
        assert table.marks == list(DEEPCHROME_MARKS)
        assert np.array_equal(table.gene_ids, ds.gene_ids)
        order = [list(ds.marks).index(m) for m in DEEPCHROME_MARKS]
        assert np.array_equal(table.counts, ds.counts[:, order, :])
        assert table.counts.dtype == np.int32
        assert np.array_equal(table.labels, ds.label)
    # a rerun writes the same bytes (no temporary name or time stamp in the gzip header)
    again = export_deepchrome_csv(ds, tmp_path / "again.csv.gz")
    assert again.read_bytes() == (tmp_path / "e123.csv.gz").read_bytes()
    text = (tmp_path / "e123.csv").read_text().splitlines()
    assert text[0] == DEEPCHROME_HEADER
    first = text[1].split(",")
    assert first[1] == "1" and all("." not in f for f in first)  # integers printed as integers
    assert text[200].split(",")[1] == "200"


def test_export_from_path_and_signal(real: dict[str, Dataset], tmp_path: Path) -> None:
    ds = real["E003"]
    npz = save_dataset(ds, tmp_path / "E003.npz")
    out = export_deepchrome_csv(npz, tmp_path / "sig.csv", values="signal")
    # z-scored signal is negative in places, so the counts reader would rightly refuse it: read it plainly
    frame = pd.read_csv(out, dtype={"geneID": str})
    assert list(frame.columns) == DEEPCHROME_HEADER.split(",")
    order = [list(ds.marks).index(m) for m in DEEPCHROME_MARKS]
    expected = ds.signal[:, order, :].transpose(0, 2, 1).reshape(-1, 5)
    assert np.array_equal(frame[list(DEEPCHROME_MARKS)].to_numpy(dtype=np.float64).astype(np.float32), expected)


# --------------------------------------------------------------------------------------------------
# DeepChrome format: ingest, marks_order
# --------------------------------------------------------------------------------------------------


def test_ingest_deepchrome_keeps_labels_and_splits(tmp_path: Path) -> None:
    genes = [f"ENSG{i:011d}" for i in range(9)]
    labels = [1, 1, 1, 0, 0, 0, 1, 0, 1]  # not the median rule on purpose
    files = {}
    for k, split in enumerate(SPLIT_NAMES):
        files[split] = write_rows(
            tmp_path / f"{split}.csv",
            deepchrome_rows(genes[3 * k : 3 * k + 3], n_bins=100, labels=labels[3 * k : 3 * k + 3], seed=k),
        )
    out = ingest_processed("deepchrome", files, "E003", tmp_path / "E003.npz", fit_on="train")
    ds = load_dataset(out)
    assert ds.counts.shape == (9, 5, 100)
    assert ds.label.tolist() == labels
    assert ds.split.tolist() == ["train"] * 3 + ["valid"] * 3 + ["test"] * 3
    assert ds.meta["label"]["rule"] == "given by the source"
    assert ds.meta["geometry"]["window_bp"] == 5000
    assert ds.meta["geometry"]["orient_by_strand"] is False
    assert ds.meta["normalization"]["fit_on"] == "train"
    assert np.isnan(ds.expression).all()
    raw = read_deepchrome_csv(files["train"])
    for m in CANONICAL_MARKS:
        assert np.array_equal(ds.counts[:3, CANONICAL_MARKS.index(m)], raw.counts[:, DEEPCHROME_MARKS.index(m)])


def test_ingest_marks_order_for_headerless_files(tmp_path: Path) -> None:
    rows = deepchrome_rows(["G1", "G2"], n_bins=100)
    path = write_rows(tmp_path / "train.csv", rows)
    out = ingest_processed("deepchrome", {"train": path}, "E003", tmp_path / "x.npz", marks_order=list(CANONICAL_MARKS))
    ds = load_dataset(out)
    raw = np.array([[int(v) for v in r.split(",")[2:7]] for r in rows[:100]]).T  # (marks, bins) of G1
    assert np.array_equal(ds.counts[0], raw)  # already canonical: no reordering
    assert ds.meta["provenance"]["source_marks"] == list(CANONICAL_MARKS)
    assert ds.meta["provenance"]["marks_order_given"] is True


# --------------------------------------------------------------------------------------------------
# ingest / export errors
# --------------------------------------------------------------------------------------------------


def test_ingest_deepdiff_missing_expression_genes(tmp_path: Path) -> None:
    expr = tmp_path / "E003.expr.csv"
    expr.write_text("ENSG00000000003,5\nENSG00000000005,6\n")
    exc = expect_error(
        lambda: ingest_processed(
            "deepdiff", {"test": SAMPLE / "E003.test.csv.gz"}, "E003", tmp_path / "o.npz", expression=expr
        ),
        expr,
        None,
        "198 of 200 genes have no expression value",
    )
    assert "ENSG00000000419" in str(exc)  # the first few missing ids are named
    assert not (tmp_path / "o.npz").exists()


def test_ingest_deepdiff_needs_expression(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="needs an expression table"):
        ingest_processed("deepdiff", {"test": SAMPLE / "E003.test.csv.gz"}, "E003", tmp_path / "o.npz")


def test_ingest_gene_in_two_splits(tmp_path: Path) -> None:
    a = write_rows(tmp_path / "train.csv", deepchrome_rows(["G1", "G2"], n_bins=100))
    b = write_rows(tmp_path / "valid.csv", deepchrome_rows(["G3", "G2"], n_bins=100))
    exc = expect_error(
        lambda: ingest_processed("deepchrome", {"train": a, "valid": b}, "E003", tmp_path / "o.npz"),
        b,
        101,
        "also in",
    )
    assert str(a) in str(exc)


def test_ingest_bad_split_name_and_format(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="inputs must map splits"):
        ingest_processed("deepchrome", {"training": tmp_path / "x.csv"}, "E003", tmp_path / "o.npz")
    with pytest.raises(InputError, match="unknown processed format"):
        ingest_processed(
            "zenodo",
            {"train": tmp_path / "x.csv"},
            "E003",
            tmp_path / "o.npz",  # type: ignore[arg-type]
        )


def test_ingest_wrong_marks(tmp_path: Path) -> None:
    rows = deepchrome_rows(["G1"], n_bins=100)
    path = write_rows(
        tmp_path / "train.csv", rows, header="geneID,binID,H3K27me3,H3K36me3,H3K4me1,H3K4me3,H3K27ac,label"
    )
    with pytest.raises(InputError, match="missing: H3K9me3") as err:
        ingest_processed("deepchrome", {"train": path}, "E003", tmp_path / "o.npz")
    assert "H3K27ac" in str(err.value)


def test_export_missing_marks(tmp_path: Path) -> None:
    counts = np.zeros((2, 3, 4), dtype=np.int32)
    ds = build_dataset(
        counts,
        ["a", "b"],
        ["H3K4me3", "H3K4me1", "H3K36me3"],
        np.array([1.0, 2.0]),
        ["train", "test"],
        cell="E003",
        geometry={},
    )
    with pytest.raises(InputError, match="H3K27me3, H3K9me3"):
        export_deepchrome_csv(ds, tmp_path / "o.csv")
    assert not (tmp_path / "o.csv").exists()


# --------------------------------------------------------------------------------------------------
# expression.duplicates, as for the other sources
# --------------------------------------------------------------------------------------------------


def _deepdiff_files(tmp_path: Path) -> dict[str, Path]:
    # two genes, 4 bins each (window +/- 200 bp)
    rows = [f"{g}_{b},1,2,3,4,5" for g in ("ENSG1_A", "ENSG2_B") for b in (1, 2, 3, 4)]
    return {"train": write_rows(tmp_path / "train.csv", rows)}


def test_ingest_expression_duplicates_error_names_file_and_line(tmp_path: Path) -> None:
    # ENSG1 is on line 1 and again on line 3 (with a different value)
    expr = tmp_path / "E003.expr.csv"
    expr.write_text("ENSG1_A,4\nENSG2_B,7\nENSG1_A,9\n")
    files = _deepdiff_files(tmp_path)
    exc = expect_error(
        lambda: ingest_processed("deepdiff", files, "E003", tmp_path / "o.npz", expression=expr),
        expr,
        3,
        "duplicate gene 'ENSG1' (first on line 1)",
    )
    assert "expression.duplicates: first" in str(exc)
    assert not (tmp_path / "o.npz").exists()
    with pytest.raises(InputError) as err:
        ingest_processed("deepdiff", files, "E003", tmp_path / "o.npz", expression=expr, expression_duplicates="last")
    assert err.value.key == "expression.duplicates"


def test_ingest_expression_duplicates_first_keeps_the_first_row(tmp_path: Path) -> None:
    expr = tmp_path / "E003.expr.csv"
    expr.write_text("ENSG1_A,4\nENSG2_B,7\nENSG1_A,9\n")
    out = ingest_processed(
        "deepdiff",
        _deepdiff_files(tmp_path),
        "E003",
        tmp_path / "o.npz",
        expression=expr,
        expression_duplicates="first",
    )
    ds = load_dataset(out)
    assert ds.gene_ids.tolist() == ["ENSG1", "ENSG2"]
    # first rows: ENSG1 4, ENSG2 7 (not 9); median (4 + 7) / 2 = 5.5 -> labels 0, 1
    # (keeping the last row instead would give ENSG1 9 -> median 8 -> labels 1, 0)
    assert ds.expression.tolist() == [4.0, 7.0]
    assert ds.meta["label"]["median"] == 5.5
    assert ds.label.tolist() == [0, 1]
    assert ds.meta["geometry"]["window_bp"] == 200 and ds.counts.shape == (2, 5, 4)


# --------------------------------------------------------------------------------------------------
# byte-reproducible datasets; a table given where a dataset is expected
# --------------------------------------------------------------------------------------------------


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_ingest_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    inputs = {s: SAMPLE / f"E003.{s}.csv.gz" for s in ("valid", "test")}
    kw = {"expression": COUNTS, "fit_on": "all"}  # no train split here
    a = ingest_processed("deepdiff", inputs, "E003", tmp_path / "a" / "E003.npz", **kw)
    time.sleep(2.1)  # zip member times have a 2-second resolution
    b = ingest_processed("deepdiff", inputs, "E003", tmp_path / "b" / "E003.npz", **kw)
    assert _sha(a) == _sha(b)
    with zipfile.ZipFile(a) as zf:
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert [info.filename for info in zf.infolist()][0] == "counts.npy"


def test_export_given_a_tsv_says_it_is_not_a_dataset(tmp_path: Path) -> None:
    table = tmp_path / "E003.tsv"
    table.write_text("gene_id\tE003\nENSG1\t3\n")
    with pytest.raises(InputError) as err:
        export_deepchrome_csv(table, tmp_path / "o.csv")
    msg = str(err.value)
    assert err.value.path == str(table)
    assert msg.startswith(f"{table}: not a chromexpr dataset: it is a text file (it looks like TSV)")
    assert "'chromexpr dataset'" in msg and "results/datasets/<cell>.npz" in msg
    assert "pickle" not in msg
    assert not (tmp_path / "o.csv").exists()
