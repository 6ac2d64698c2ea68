"""chromexpr.reporting.files: report tables written atomically, and the tables a redraw requires."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from chromexpr.errors import InputError
from chromexpr.reporting.files import require_table, write_text, write_tsv


def test_tables_and_text_are_written_with_six_significant_digits(tmp_path: Path) -> None:
    table = write_tsv(tmp_path / "t.tsv", pd.DataFrame({"model": ["a"], "auroc": [0.123456789], "n": [None]}))
    assert table.read_text() == "model\tauroc\tn\na\t0.123457\t\n"
    assert write_text(tmp_path / "s.md", "x\n").read_text() == "x\n"


def test_a_missing_table_names_itself_its_file_and_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        require_table(tmp_path / "per_pair.tsv", "per-pair", "build the differential section first")
    assert str(info.value).splitlines() == [
        f"{tmp_path / 'per_pair.tsv'}: per-pair table not found",
        "  -> build the differential section first",
    ]
    (tmp_path / "per_pair.tsv").write_text("pair\n")
    assert require_table(str(tmp_path / "per_pair.tsv"), "per-pair", "") == tmp_path / "per_pair.tsv"
