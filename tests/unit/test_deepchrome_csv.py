"""Tests for chromexpr.io.deepchrome_csv: the DeepChrome/AttentiveChrome CSV read into arrays and
written from arrays; every error names file and line."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from released_files import deepchrome_rows, expect_error, mutate, write_rows

from chromexpr.errors import InputError
from chromexpr.io.deepchrome_csv import (
    DEEPCHROME_HEADER,
    DEEPCHROME_MARKS,
    read_deepchrome_csv,
    write_deepchrome_csv,
)

# --------------------------------------------------------------------------------------------------
# reading: header, plain/gzip, blank lines
# --------------------------------------------------------------------------------------------------


def test_deepchrome_with_and_without_header_gz_and_plain(tmp_path: Path) -> None:
    rows = deepchrome_rows(["G1", "G2", "G3"])
    a = read_deepchrome_csv(write_rows(tmp_path / "a.csv", rows))
    b = read_deepchrome_csv(write_rows(tmp_path / "b.csv.gz", rows, header=DEEPCHROME_HEADER))
    assert a.counts.shape == (3, 5, 4)
    assert np.array_equal(a.counts, b.counts)
    assert a.gene_lines.tolist() == [1, 5, 9] and b.gene_lines.tolist() == [2, 6, 10]
    assert a.labels.tolist() == [0, 1, 0]
    # counts[g, m, b] is column 2 + m of the row of bin b
    fields = rows[4 + 2].split(",")
    assert a.counts[1, :, 2].tolist() == [int(f) for f in fields[2:7]]


def test_deepchrome_header_orders_marks(tmp_path: Path) -> None:
    rows = deepchrome_rows(["G1", "G2"])
    shuffled = ["H3K4me3", "H3K4me1", "H3K36me3", "H3K27me3", "H3K9me3"]
    t = read_deepchrome_csv(
        write_rows(tmp_path / "h.csv", rows, header="geneID,binID," + ",".join(shuffled) + ",label")
    )
    assert t.marks == shuffled
    with pytest.raises(InputError) as err:
        read_deepchrome_csv(tmp_path / "h.csv", marks=list(DEEPCHROME_MARKS))
    assert err.value.line == 1


def test_trailing_and_inner_blank_lines_are_skipped(tmp_path: Path) -> None:
    rows = deepchrome_rows(["G1", "G2"])
    path = tmp_path / "blank.csv"
    path.write_text("\n".join(rows[:4]) + "\n\n" + "\n".join(rows[4:]) + "\n\n")
    t = read_deepchrome_csv(path)
    assert t.counts.shape == (2, 5, 4)
    assert t.gene_lines.tolist() == [1, 6]


# --------------------------------------------------------------------------------------------------
# validation: every error names file and line
# --------------------------------------------------------------------------------------------------


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
def test_deepchrome_errors_name_file_and_line(tmp_path: Path, gz: bool, case: str, line: int, fragment: str) -> None:
    rows = deepchrome_rows(["G1", "G2", "G3"], labels=[1, 1, 0])  # lines 1-4 G1, 5-8 G2, 9-12 G3
    if case == "too_many_fields":
        rows[2] += ",7"
    elif case == "too_few_fields":
        rows[5] = rows[5].rsplit(",", 1)[0]
    elif case == "non_numeric":
        rows = mutate(rows, 3, 4, "x")
    elif case == "nan":
        rows = mutate(rows, 3, 4, "nan")
    elif case == "negative":
        rows = mutate(rows, 6, 3, "-2")
    elif case == "not_contiguous":
        rows = rows[:4] + rows[4:8] + [r.replace("G3,", "G1,", 1) for r in rows[8:]]
    elif case == "bins_out_of_order":
        rows[2], rows[3] = rows[3], rows[2]
    elif case == "other_bin_count":
        del rows[7]
    elif case == "label_not_constant":
        rows = mutate(rows, 5, 7, "0")
    elif case == "label_not_binary":
        rows = [mutate(rows, i, 7, "2")[i] if 4 <= i < 8 else r for i, r in enumerate(rows)]
    elif case == "duplicate_gene":
        rows = rows[:8] + [r.replace("G3,", "G2,", 1) for r in rows[8:]]
    elif case == "empty_gene":
        rows = mutate(rows, 1, 0, "")
    path = write_rows(tmp_path / ("bad.csv.gz" if gz else "bad.csv"), rows)
    expect_error(lambda: read_deepchrome_csv(path), path, line, fragment)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    expect_error(lambda: read_deepchrome_csv(path), path, None, "empty")
    header_only = write_rows(tmp_path / "h.csv", [], header=DEEPCHROME_HEADER)
    expect_error(lambda: read_deepchrome_csv(header_only), header_only, None, "no data rows")


def test_truncated_gzip(tmp_path: Path) -> None:
    good = write_rows(tmp_path / "good.csv.gz", deepchrome_rows([f"G{i}" for i in range(200)], n_bins=100))
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    expect_error(lambda: read_deepchrome_csv(bad), bad, None, "cannot be read")


# --------------------------------------------------------------------------------------------------
# bad mark columns
# --------------------------------------------------------------------------------------------------


def test_extra_mark_column_is_named_with_the_marks_expected(tmp_path: Path) -> None:
    rows = [r.rsplit(",", 1)[0] + ",7," + r.rsplit(",", 1)[1] for r in deepchrome_rows(["G1", "G2"])]
    header = "geneID,binID," + ",".join(DEEPCHROME_MARKS) + ",H3K27ac,label"  # a sixth mark column
    path = write_rows(tmp_path / "extra.csv", rows, header=header)
    exc = expect_error(lambda: read_deepchrome_csv(path), path, 1, "H3K27ac is not a mark of the DeepChrome format")
    assert "expected the marks H3K27me3, H3K36me3, H3K4me1, H3K4me3, H3K9me3, in any order" in str(exc)
    assert "missing" not in str(exc)  # all five are there; one too many


def test_replaced_mark_column_names_both(tmp_path: Path) -> None:
    header = "geneID,binID,H3K27me3,H3K36me3,H3K4me1,H3K4me3,H3K27ac,label"
    path = write_rows(tmp_path / "swap.csv", deepchrome_rows(["G1"]), header=header)
    exc = expect_error(lambda: read_deepchrome_csv(path), path, 1, "H3K27ac is not a mark")
    assert "missing: H3K9me3" in str(exc)


def test_marks_order_must_name_the_five_marks(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "plain.csv", deepchrome_rows(["G1"]))
    wrong = ["H3K4me3", "H3K4me1", "H3K36me3", "H3K27me3", "H3K27ac"]
    exc = expect_error(lambda: read_deepchrome_csv(path, marks=wrong), path, None, "marks_order")
    assert "H3K27ac" in str(exc) and "missing: H3K9me3" in str(exc)
    # another order of the same five marks is fine, and case does not matter
    t = read_deepchrome_csv(path, marks=["h3k4me3", "H3K4me1", "H3K36me3", "H3K27me3", "H3K9me3"])
    assert t.marks[0] == "h3k4me3"


def test_extra_column_without_header_lists_the_columns(tmp_path: Path) -> None:
    rows = [r + ",3" for r in deepchrome_rows(["G1"])]  # a ninth field, no header to name it
    path = write_rows(tmp_path / "nine.csv", rows)
    expect_error(
        lambda: read_deepchrome_csv(path),
        path,
        1,
        "expected 8 comma-separated fields (geneID,binID,H3K27me3,H3K36me3,H3K4me1,H3K4me3,H3K9me3,label), found 9",
    )


# --------------------------------------------------------------------------------------------------
# writing from arrays
# --------------------------------------------------------------------------------------------------


def test_write_from_arrays_by_hand(tmp_path: Path) -> None:
    # 2 genes x 5 marks x 2 bins, marks given in chromexpr's order; counts[g, m, b] = 100 g + 10 m + b
    marks = ["H3K4me3", "H3K4me1", "H3K36me3", "H3K27me3", "H3K9me3"]
    counts = np.array([[[100 * g + 10 * m + b for b in range(2)] for m in range(5)] for g in range(2)])
    out = write_deepchrome_csv(tmp_path / "o.csv", ["GA", "GB"], counts.astype(np.int32), marks, [1, 0])
    # columns H3K27me3 (m 3), H3K36me3 (m 2), H3K4me1 (m 1), H3K4me3 (m 0), H3K9me3 (m 4)
    assert out.read_text().splitlines() == [
        DEEPCHROME_HEADER,
        "GA,1,30,20,10,0,40,1",
        "GA,2,31,21,11,1,41,1",
        "GB,1,130,120,110,100,140,0",
        "GB,2,131,121,111,101,141,0",
    ]
    back = read_deepchrome_csv(out)
    assert back.counts.dtype == np.int32
    assert np.array_equal(back.counts, counts[:, [3, 2, 1, 0, 4], :])
    assert back.labels.tolist() == [1, 0]


def test_write_float32_round_trips_and_gzip_is_reproducible(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=(3, 5, 4)).astype(np.float32)
    out = write_deepchrome_csv(tmp_path / "f.csv", ["a", "b", "c"], values, DEEPCHROME_MARKS, [0, 1, 0])
    frame = pd.read_csv(out)
    assert np.array_equal(
        frame[list(DEEPCHROME_MARKS)].to_numpy().astype(np.float32), values.transpose(0, 2, 1).reshape(-1, 5)
    )
    a = write_deepchrome_csv(tmp_path / "a.csv.gz", ["a", "b", "c"], values, DEEPCHROME_MARKS, [0, 1, 0])
    b = write_deepchrome_csv(tmp_path / "b.csv.gz", ["a", "b", "c"], values, DEEPCHROME_MARKS, [0, 1, 0])
    assert a.read_bytes() == b.read_bytes()
    assert gzip.decompress(a.read_bytes()).decode() == out.read_text()


def test_write_needs_the_five_marks(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no H3K27me3, H3K9me3 among H3K4me3, H3K4me1, H3K36me3"):
        write_deepchrome_csv(tmp_path / "o.csv", ["a"], np.zeros((1, 3, 2)), ["H3K4me3", "H3K4me1", "H3K36me3"], [1])
    with pytest.raises(InputError, match="do not match"):
        write_deepchrome_csv(tmp_path / "o.csv", ["a", "b"], np.zeros((1, 5, 2)), DEEPCHROME_MARKS, [1])
    assert not (tmp_path / "o.csv").exists()
