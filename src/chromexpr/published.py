"""The published numbers shown beside ours, read in one place.

Two sources, each with its reader:

* the cards' ``published`` lists (``models/<name>.yaml``): each entry a ``source`` (where the number is printed),
  a ``metric`` and its numbers (``value``, or ``min`` / ``mean`` / ``max`` / ``median``, or named ones), and for
  a number the paper reports for a combination of runs, its ``row`` (``ensemble``): ``card_published``,
  ``published_value``;
* the shipped tidy table of per-cell and summary AUROCs (``data/published_auroc.tsv``, too long for a card: 56
  cells per source): ``read_published``. The cards' ``display.published_as`` names map our models to its rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chromexpr.errors import InputError
from chromexpr.models.registry import load_card
from chromexpr.shipped import shipped_file

DEFAULT_PUBLISHED = shipped_file("published_auroc.tsv")
#: the genes and split behind each source's numbers (the protocol of the paper that printed them): a number
#: measured on other genes than ours is not the same quantity, so every table that shows one names these
PUBLISHED_GENES = {
    "DeepChrome supplementary table": "DeepChrome's: every gene (19,802 rows, no TSS filter), sorted-id thirds "
    "6,601 / 6,601 / 6,600",
    "third-party reproduction": "DeepChrome's released genes and split",
    "AttentiveChrome NeurIPS 2017 poster": "DeepChrome's released genes and split",
    "DeepChrome 2.0 paper Table 2": "DeepChrome's released genes and split",
    "TransferChrome paper Table 2": "TransferChrome's: genes whose TSSs lie 5 kb apart (its TSS filter), not "
    "DeepChrome's",
    "TransferChrome paper Table 3": "TransferChrome's: genes whose TSSs lie 5 kb apart (its TSS filter), not "
    "DeepChrome's",
}


def published_genes(source: str) -> str:
    """The genes and split behind ``source``'s numbers (``PUBLISHED_GENES``; 'not stated' when unknown)."""
    return PUBLISHED_GENES.get(source, "not stated")


PUBLISHED_COLUMNS = ("source", "kind", "model", "task", "cell", "cell_name", "statistic", "value", "n_cells", "notes")


def card_published(model: str, metric: str | None = None) -> list[dict[str, Any]]:
    """The ``published`` entries of card ``model`` (of ``metric`` only, when given); none for a name without a
    card."""
    try:
        card = load_card(model)
    except InputError:
        return []
    entries = [dict(e) for e in card.get("published") or []]
    return [e for e in entries if metric is None or e.get("metric") == metric]


def published_value(models: Iterable[str], metric: str, key: str = "value", *, row: str | None = None) -> Any:
    """The first number ``key`` of a ``metric`` entry among the cards of ``models`` (with that ``row``, when
    given), or None."""
    for model in models:
        for entry in card_published(model, metric):
            if row is not None and entry.get("row") != row:
                continue
            if key in entry:
                return entry[key]
    return None


def read_published(path: str | Path = DEFAULT_PUBLISHED) -> pd.DataFrame:
    """The tidy published-AUROC table (shipped as ``chromexpr:published_auroc.tsv``), checked."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            "published AUROC table not found",
            path=path,
            hint="use the table shipped with chromexpr (report.published: chromexpr:published_auroc.tsv), or pass published=None",
        )
    table = pd.read_csv(path, sep="\t", comment="#", dtype=str, keep_default_na=False)
    missing = [c for c in PUBLISHED_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}",
            path=path,
            hint=f"expected the columns {' '.join(PUBLISHED_COLUMNS)}",
        )
    value = pd.to_numeric(table["value"], errors="coerce")
    if value.isna().any():
        bad = int(np.flatnonzero(value.isna().to_numpy())[0])
        raise InputError(f"value {table['value'].iloc[bad]!r} is not a number (row {bad + 1} of the table)", path=path)
    table["value"] = value.astype(float)
    table["n_cells"] = pd.array(pd.to_numeric(table["n_cells"].replace("", None)).tolist(), dtype="Int64")
    return table
