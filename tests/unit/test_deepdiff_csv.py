"""Tests for chromexpr.io.deepdiff_csv: DeepDiff's CSV read into arrays; every error names file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from released_files import expect_error, mutate, write_rows

from chromexpr.io.deepdiff_csv import DEEPDIFF_MARKS, read_deepdiff_csv

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "real" / "deepdiff_sample"


def test_real_reader_symbols_and_lines() -> None:
    table = read_deepdiff_csv(SAMPLE / "E003.test.csv.gz")
    assert table.counts.shape == (200, 5, 200)
    assert table.marks == list(DEEPDIFF_MARKS)
    assert table.gene_ids[0] == "ENSG00000000003"
    assert table.symbols[0] == "TSPAN6"
    assert table.gene_lines[:3].tolist() == [1, 201, 401]


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
        rows = mutate(rows, 2, 3, "three")
    elif case == "no_underscore":
        rows = mutate(rows, 1, 0, "ENSG1")
    elif case == "bad_bin_index":
        rows = mutate(rows, 2, 0, "ENSG1_SYM_A_x")
    elif case == "not_contiguous":
        rows = rows[:6] + [r.replace("ENSG3_C_D_E", "ENSG1_SYM_A") for r in rows[6:]]
    elif case == "bins_out_of_order":
        rows[1], rows[2] = rows[2], rows[1]
    elif case == "other_bin_count":
        del rows[5]
    elif case == "symbol_changes":
        rows = mutate(rows, 2, 0, "ENSG1_OTHER_3")
    elif case == "duplicate_gene":
        rows = rows[:6] + [r.replace("ENSG3_C_D_E", "ENSG2_B") for r in rows[6:]]
    elif case == "negative":
        rows = mutate(rows, 4, 5, "-1")
    path = write_rows(tmp_path / "bad.csv", rows)
    expect_error(lambda: read_deepdiff_csv(path), path, line, fragment)


def test_deepdiff_symbols_with_underscores(tmp_path: Path) -> None:
    rows = [f"ENSG9_A_B_C_{b},{b},0,0,0,0" for b in (1, 2)]
    t = read_deepdiff_csv(write_rows(tmp_path / "u.csv", rows))
    assert t.gene_ids.tolist() == ["ENSG9"]
    assert t.symbols.tolist() == ["A_B_C"]
    assert t.counts[0, 0].tolist() == [1, 2]


def test_extra_mark_column_is_named_with_the_marks_expected(tmp_path: Path) -> None:
    header = "ENSG_SYMBOL_bin," + ",".join(DEEPDIFF_MARKS) + ",H3K27ac"
    rows = [f"ENSG1_A_{b},1,2,3,4,5,6" for b in (1, 2)]
    path = write_rows(tmp_path / "extra.csv", rows, header=header)
    exc = expect_error(lambda: read_deepdiff_csv(path), path, 1, "H3K27ac is not a mark of the DeepDiff format")
    assert "expected the marks H3K4me1, H3K4me3, H3K9me3, H3K27me3, H3K36me3, in any order" in str(exc)


def test_header_in_another_order_is_read_by_name(tmp_path: Path) -> None:
    marks = ["H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3"]
    path = write_rows(
        tmp_path / "h.csv.gz",
        ["ENSG1_A_1,1,2,3,4,5", "ENSG1_A_2,6,7,8,9,10"],
        header="ENSG_SYMBOL_bin," + ",".join(marks),
    )
    t = read_deepdiff_csv(path)
    assert t.marks == marks
    assert t.counts[0, :, 1].tolist() == [6, 7, 8, 9, 10]
    assert t.gene_lines.tolist() == [2]
