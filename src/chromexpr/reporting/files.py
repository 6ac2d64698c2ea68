"""The files of a report: text and TSV tables written atomically (a killed report job leaves no half file
under a final name), numbers with six significant digits."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from chromexpr.errors import InputError
from chromexpr.io.atomic import atomic_path

#: how floats are written in every report table
FLOAT_FORMAT = "%.6g"


def write_text(path: str | Path, text: str) -> Path:
    """``text`` to ``path`` (UTF-8), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_tsv(path: str | Path, table: pd.DataFrame) -> Path:
    """``table`` as a TSV (``FLOAT_FORMAT``, empty cells for missing values; gzip for ``.gz``), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format=FLOAT_FORMAT, na_rep="")
    return path


def require_table(path: str | Path, what: str, hint: str) -> Path:
    """``path`` as a Path, when the table a figure is redrawn from exists.

    Raises:
        InputError: "<what> table not found", naming the file and how to build it (``hint``).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} table not found", path=path, hint=hint)
    return path
