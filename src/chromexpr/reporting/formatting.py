"""How every report section writes numbers and tables: rounded display values, p-values, plurals, and
Markdown / HTML tables of all-string frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from chromexpr.plotting.base import format_p  # noqa: F401 - the report's p-values, one definition for tables and figures


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 seed``, ``2 seeds``."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def fmt(value: object, digits: int = 4) -> str:
    """A number with ``digits`` decimals; empty for a missing value; anything else as text."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def markdown(table: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table of an all-string frame."""

    def cell(v: object) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    numeric = [all(_looks_numeric(v) for v in table[c]) for c in table.columns]
    lines = [
        "| " + " | ".join(cell(c) for c in table.columns) + " |",
        "| " + " | ".join("---:" if n else "---" for n in numeric) + " |",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def _looks_numeric(v: object) -> bool:
    """True for number-like display text ("0.8123", "+0.0100", "0.81 ± 0.01", "644,177", "n/a", "")."""
    text = str(v).split("±")[0].split("(")[0].replace(",", "").strip()
    if text in ("", "n/a"):
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def html_table(table: pd.DataFrame) -> str:
    """An all-string frame as an escaped HTML table (the template puts it in a scrolling box)."""
    return table.to_html(index=False, border=0, classes="table", escape=True, na_rep="")
