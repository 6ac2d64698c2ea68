"""The files of a report: text and TSV tables written atomically (a killed report job leaves no half file
under a final name), numbers with six significant digits."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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
