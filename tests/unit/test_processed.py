"""Tests for chromexpr.io.processed: the released DeepChrome / DeepDiff CSVs -> datasets, and back."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chromexpr.errors import InputError
from chromexpr.io.processed import (
    CANONICAL_MARKS,
    DEEPCHROME_HEADER,
    DEEPCHROME_MARKS,
    DEEPDIFF_MARKS,
    export_deepchrome_csv,
    ingest_processed,
    read_deepchrome_csv,
    read_deepdiff_csv,
    read_expression_values,
)
from chromexpr.preprocess.dataset import Dataset, build_dataset, load_dataset, save_dataset

REAL = Path(__file__).resolve().parents[2] / "data" / "real"
SAMPLE = REAL / "deepdiff_sample"
COUNTS = REAL / "remc_counts_9cells.tsv.gz"
SPLIT_NAMES = ("train", "valid", "test")


def _inputs(cell: str) -> dict[str, Path]:
    return {s: SAMPLE / f"{cell}.{s}.csv.gz" for s in SPLIT_NAMES}


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Dataset]:
    """The real DeepDiff sample of both cells, ingested once for all tests of this file."""
    out = tmp_path_factory.mktemp("datasets")
    return {
        cell: load_dataset(
            ingest_processed("deepdiff", _inputs(cell), cell, out / f"{cell}.npz", expression=COUNTS)
        )
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


@pytest.mark.parametrize("cell", ["E003", "E123"])
def test_real_labels_balanced_around_median(real: dict[str, Dataset], cell: str) -> None:
    ds = real[cell]
    median = ds.meta["label"]["median"]
    assert median == pytest.approx(float(np.median(ds.expression)))
    assert np.array_equal(ds.label, (ds.expression >= median).astype(np.int8))
    assert 0.48 <= ds.label.mean() <= 0.55
    # expression comes from the matrix column of this cell
    expr = read_expression_values(COUNTS, cell)
    assert np.array_equal(ds.expression, expr.loc[ds.gene_ids].to_numpy())


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


def test_real_reader_symbols_and_lines() -> None:
    table = read_deepdiff_csv(SAMPLE / "E003.test.csv.gz")
    assert table.counts.shape == (200, 5, 200)
    assert table.marks == list(DEEPDIFF_MARKS)
    assert table.gene_ids[0] == "ENSG00000000003"
    assert table.symbols[0] == "TSPAN6"
    assert table.gene_lines[:3].tolist() == [1, 201, 401]


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
    assert np.array_equal(
        frame[list(DEEPCHROME_MARKS)].to_numpy(dtype=np.float64).astype(np.float32), expected
    )


# --------------------------------------------------------------------------------------------------
# DeepChrome format: ingest, header, plain/gzip, marks_order
# --------------------------------------------------------------------------------------------------


def _deepchrome_rows(
    genes: list[str], n_bins: int = 4, labels: list[int] | None = None, seed: int = 0
) -> list[str]:
    rng = np.random.default_rng(seed)
    labels = labels if labels is not None else [i % 2 for i in range(len(genes))]
    rows = []
    for gene, label in zip(genes, labels, strict=True):
        for b in range(1, n_bins + 1):
            v = rng.integers(0, 9, 5)
            rows.append(f"{gene},{b},{','.join(map(str, v))},{label}")
    return rows


def _write(path: Path, rows: list[str], *, header: str | None = None) -> Path:
    text = "\n".join(([header] if header else []) + rows) + "\n"
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def test_deepchrome_with_and_without_header_gz_and_plain(tmp_path: Path) -> None:
    rows = _deepchrome_rows(["G1", "G2", "G3"])
    a = read_deepchrome_csv(_write(tmp_path / "a.csv", rows))
    b = read_deepchrome_csv(_write(tmp_path / "b.csv.gz", rows, header=DEEPCHROME_HEADER))
    assert a.counts.shape == (3, 5, 4)
    assert np.array_equal(a.counts, b.counts)
    assert a.gene_lines.tolist() == [1, 5, 9] and b.gene_lines.tolist() == [2, 6, 10]
    assert a.labels.tolist() == [0, 1, 0]
    # counts[g, m, b] is column 2 + m of the row of bin b
    fields = rows[4 + 2].split(",")
    assert a.counts[1, :, 2].tolist() == [int(f) for f in fields[2:7]]


def test_deepchrome_header_orders_marks(tmp_path: Path) -> None:
    rows = _deepchrome_rows(["G1", "G2"])
    shuffled = ["H3K4me3", "H3K4me1", "H3K36me3", "H3K27me3", "H3K9me3"]
    t = read_deepchrome_csv(
        _write(tmp_path / "h.csv", rows, header="geneID,binID," + ",".join(shuffled) + ",label")
    )
    assert t.marks == shuffled
    with pytest.raises(InputError) as err:
        read_deepchrome_csv(tmp_path / "h.csv", marks=list(DEEPCHROME_MARKS))
    assert err.value.line == 1


def test_trailing_and_inner_blank_lines_are_skipped(tmp_path: Path) -> None:
    rows = _deepchrome_rows(["G1", "G2"])
    path = tmp_path / "blank.csv"
    path.write_text("\n".join(rows[:4]) + "\n\n" + "\n".join(rows[4:]) + "\n\n")
    t = read_deepchrome_csv(path)
    assert t.counts.shape == (2, 5, 4)
    assert t.gene_lines.tolist() == [1, 6]


def test_ingest_deepchrome_keeps_labels_and_splits(tmp_path: Path) -> None:
    genes = [f"ENSG{i:011d}" for i in range(9)]
    labels = [1, 1, 1, 0, 0, 0, 1, 0, 1]  # not the median rule on purpose
    files = {}
    for k, split in enumerate(SPLIT_NAMES):
        files[split] = _write(
            tmp_path / f"{split}.csv",
            _deepchrome_rows(genes[3 * k : 3 * k + 3], n_bins=100, labels=labels[3 * k : 3 * k + 3], seed=k),
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
        assert np.array_equal(
            ds.counts[:3, CANONICAL_MARKS.index(m)], raw.counts[:, DEEPCHROME_MARKS.index(m)]
        )


def test_ingest_marks_order_for_headerless_files(tmp_path: Path) -> None:
    rows = _deepchrome_rows(["G1", "G2"], n_bins=100)
    path = _write(tmp_path / "train.csv", rows)
    out = ingest_processed(
        "deepchrome", {"train": path}, "E003", tmp_path / "x.npz", marks_order=list(CANONICAL_MARKS)
    )
    ds = load_dataset(out)
    raw = np.array([[int(v) for v in r.split(",")[2:7]] for r in rows[:100]]).T  # (marks, bins) of G1
    assert np.array_equal(ds.counts[0], raw)  # already canonical: no reordering
    assert ds.meta["provenance"]["source_marks"] == list(CANONICAL_MARKS)
    assert ds.meta["provenance"]["marks_order_given"] is True


# --------------------------------------------------------------------------------------------------
# validation: every error names file and line
# --------------------------------------------------------------------------------------------------


def _expect_error(call, path: Path, line: int | None, fragment: str) -> InputError:
    with pytest.raises(InputError) as err:
        call()
    exc = err.value
    assert exc.path == str(path), str(exc)
    assert exc.line == line, str(exc)
    assert fragment in str(exc), str(exc)
    if line is not None:
        assert f"{path}:{line}" in str(exc)
    return exc


def _mutate(rows: list[str], i: int, col: int, value: str) -> list[str]:
    rows = list(rows)
    fields = rows[i].split(",")
    fields[col] = value
    rows[i] = ",".join(fields)
    return rows


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    ("case", "line", "fragment"),
    [
        ("too_many_fields", 3, "expected 8 comma-separated fields"),
        ("too_few_fields", 6, "found 7"),
        ("non_numeric", 4, "is not a number"),
        ("nan", 4, "not a finite number"),
        ("negative", 7, "negative"),
        ("not_contiguous", 9, "appears again"),
        ("bins_out_of_order", 3, "bin id 4 where 3"),
        ("other_bin_count", 5, "has 3 bins (lines 5-7)"),
        ("label_not_constant", 6, "label 0 differs from 1"),
        ("label_not_binary", 5, "label 2 is not 0 or 1"),
        ("duplicate_gene", 9, "listed twice"),
        ("empty_gene", 2, "empty gene id"),
    ],
)
def test_deepchrome_errors_name_file_and_line(
    tmp_path: Path, gz: bool, case: str, line: int, fragment: str
) -> None:
    rows = _deepchrome_rows(["G1", "G2", "G3"], labels=[1, 1, 0])  # lines 1-4 G1, 5-8 G2, 9-12 G3
    if case == "too_many_fields":
        rows[2] += ",7"
    elif case == "too_few_fields":
        rows[5] = rows[5].rsplit(",", 1)[0]
    elif case == "non_numeric":
        rows = _mutate(rows, 3, 4, "x")
    elif case == "nan":
        rows = _mutate(rows, 3, 4, "nan")
    elif case == "negative":
        rows = _mutate(rows, 6, 3, "-2")
    elif case == "not_contiguous":
        rows = rows[:4] + rows[4:8] + [r.replace("G3,", "G1,", 1) for r in rows[8:]]
    elif case == "bins_out_of_order":
        rows[2], rows[3] = rows[3], rows[2]
    elif case == "other_bin_count":
        del rows[7]
    elif case == "label_not_constant":
        rows = _mutate(rows, 5, 7, "0")
    elif case == "label_not_binary":
        rows = [_mutate(rows, i, 7, "2")[i] if 4 <= i < 8 else r for i, r in enumerate(rows)]
    elif case == "duplicate_gene":
        rows = rows[:8] + [r.replace("G3,", "G2,", 1) for r in rows[8:]]
    elif case == "empty_gene":
        rows = _mutate(rows, 1, 0, "")
    path = _write(tmp_path / ("bad.csv.gz" if gz else "bad.csv"), rows)
    _expect_error(lambda: read_deepchrome_csv(path), path, line, fragment)


@pytest.mark.parametrize(
    ("case", "line", "fragment"),
    [
        ("too_many_fields", 2, "expected 6 comma-separated fields"),
        ("non_numeric", 3, "is not a number"),
        ("no_underscore", 2, "is not GENEID_SYMBOL_bin"),
        ("bad_bin_index", 3, "bin index 'x'"),
        ("not_contiguous", 7, "appears again"),
        ("bins_out_of_order", 2, "bin id 3 where 2"),
        ("other_bin_count", 4, "has 2 bins"),
        ("symbol_changes", 3, "symbol 'OTHER' differs from 'SYM_A'"),
        ("duplicate_gene", 7, "listed twice"),
        ("negative", 5, "negative"),
    ],
)
def test_deepdiff_errors_name_file_and_line(tmp_path: Path, case: str, line: int, fragment: str) -> None:
    genes = [("ENSG1", "SYM_A"), ("ENSG2", "B"), ("ENSG3", "C_D_E")]  # 3 bins each: lines 1-3, 4-6, 7-9
    rows = [f"{g}_{s}_{b},1,2,3,4,5" for g, s in genes for b in (1, 2, 3)]
    if case == "too_many_fields":
        rows[1] += ",6"
    elif case == "non_numeric":
        rows = _mutate(rows, 2, 3, "three")
    elif case == "no_underscore":
        rows = _mutate(rows, 1, 0, "ENSG1")
    elif case == "bad_bin_index":
        rows = _mutate(rows, 2, 0, "ENSG1_SYM_A_x")
    elif case == "not_contiguous":
        rows = rows[:6] + [r.replace("ENSG3_C_D_E", "ENSG1_SYM_A") for r in rows[6:]]
    elif case == "bins_out_of_order":
        rows[1], rows[2] = rows[2], rows[1]
    elif case == "other_bin_count":
        del rows[5]
    elif case == "symbol_changes":
        rows = _mutate(rows, 2, 0, "ENSG1_OTHER_3")
    elif case == "duplicate_gene":
        rows = rows[:6] + [r.replace("ENSG3_C_D_E", "ENSG2_B") for r in rows[6:]]
    elif case == "negative":
        rows = _mutate(rows, 4, 5, "-1")
    path = _write(tmp_path / "bad.csv", rows)
    _expect_error(lambda: read_deepdiff_csv(path), path, line, fragment)


def test_deepdiff_symbols_with_underscores(tmp_path: Path) -> None:
    rows = [f"ENSG9_A_B_C_{b},{b},0,0,0,0" for b in (1, 2)]
    t = read_deepdiff_csv(_write(tmp_path / "u.csv", rows))
    assert t.gene_ids.tolist() == ["ENSG9"]
    assert t.symbols.tolist() == ["A_B_C"]
    assert t.counts[0, 0].tolist() == [1, 2]


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    _expect_error(lambda: read_deepchrome_csv(path), path, None, "empty")
    header_only = _write(tmp_path / "h.csv", [], header=DEEPCHROME_HEADER)
    _expect_error(lambda: read_deepchrome_csv(header_only), header_only, None, "no data rows")


def test_truncated_gzip(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.csv.gz", _deepchrome_rows([f"G{i}" for i in range(200)], n_bins=100))
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    _expect_error(lambda: read_deepchrome_csv(bad), bad, None, "cannot be read")


# --------------------------------------------------------------------------------------------------
# expression
# --------------------------------------------------------------------------------------------------


def test_expression_matrix_real_header() -> None:
    expr = read_expression_values(COUNTS, "E123")
    assert expr.name == "E123"
    assert len(expr) == 19795
    assert expr.dtype == np.float64
    assert expr.loc["ENSG00000000003"] == 153.0
    assert expr.loc["ENSG00000026025"] == 147369.0  # this row writes some values as 1.83836e+06


def test_expression_two_column_files(tmp_path: Path) -> None:
    plain = tmp_path / "E004.expr.csv"
    plain.write_text("ENSG00000000003,22128\nENSG00000000005_TNMD,2085\n")
    expr = read_expression_values(plain, "E004")
    assert expr.to_dict() == {"ENSG00000000003": 22128.0, "ENSG00000000005": 2085.0}
    with_header = tmp_path / "with_header.tsv"
    with_header.write_text("gene_id\tE004\nENSG1\t1.5\n")
    assert read_expression_values(with_header, "E004").to_dict() == {"ENSG1": 1.5}
    _expect_error(lambda: read_expression_values(with_header, "E005"), with_header, 1, "for cell E004")


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("ENSG1,3\nENSG2,abc\n", 2, "is not a number"),
        ("ENSG1,3\n\nENSG2,-4\n", 3, "negative"),
        ("ENSG1,3\nENSG2,inf\n", 2, "not finite"),
        ("ENSG1,3\nENSG1_X,4\n", 2, "listed twice"),
        ("gene_id\tE003\tE004\nENSG1\t3\n", 2, "expected 3 fields"),
        ("gene_id\tE004\tE005\nENSG1\t3\t4\n", 1, "no column for cell E003"),
    ],
)
def test_expression_errors(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = tmp_path / "expr.txt"
    path.write_text(text)
    _expect_error(lambda: read_expression_values(path, "E003"), path, line, fragment)


# --------------------------------------------------------------------------------------------------
# ingest / export errors
# --------------------------------------------------------------------------------------------------


def test_ingest_deepdiff_missing_expression_genes(tmp_path: Path) -> None:
    expr = tmp_path / "E003.expr.csv"
    expr.write_text("ENSG00000000003,5\nENSG00000000005,6\n")
    exc = _expect_error(
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
    a = _write(tmp_path / "train.csv", _deepchrome_rows(["G1", "G2"], n_bins=100))
    b = _write(tmp_path / "valid.csv", _deepchrome_rows(["G3", "G2"], n_bins=100))
    exc = _expect_error(
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
            "zenodo", {"train": tmp_path / "x.csv"}, "E003", tmp_path / "o.npz"  # type: ignore[arg-type]
        )


def test_ingest_wrong_marks(tmp_path: Path) -> None:
    rows = _deepchrome_rows(["G1"], n_bins=100)
    path = _write(
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
