"""Statistics of the comparisons: chance-level loss and the paired Wilcoxon test against a reference model."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from chromexpr.models.display import order_models

TIE_TOLERANCE = 1e-9  # AUROC steps are >= 1/(n_pos * n_neg) ~ 1e-7 on a 6,000-gene test set
#: fewest non-zero per-cell differences for a Wilcoxon test (with 5 even a clean sweep gives p = 0.0625)
MIN_CELLS = 5


def chance_bce(p: float) -> float:
    """Binary cross-entropy (nats) of always predicting ``p`` on labels whose positive fraction is ``p``
    (the lowest loss any constant prediction reaches on those labels, i.e. chance):
    ``-(p log p + (1 - p) log(1 - p))``; 0 for p in {0, 1}, NaN for NaN (log 2 = 0.693 at p = 0.5)."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return math.nan
    p = float(p)
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -(p * math.log(p) + (1.0 - p) * math.log(1.0 - p))


def _per_cell_means(df: pd.DataFrame) -> pd.DataFrame:
    """cells x models: test AUROC averaged over seeds."""
    return df.groupby(["cell", "model"])["test_auroc"].mean().unstack("model")


def paired_vs_reference(
    df: pd.DataFrame,
    reference: str = "deepchrome",
    *,
    min_cells: int = MIN_CELLS,
    tie_tolerance: float = TIE_TOLERANCE,
) -> pd.DataFrame:
    """Each other model against ``reference`` over the cells both have (per-cell mean AUROC over seeds).

    Columns: ``model``, ``reference``, ``n_cells``, ``wins`` / ``losses`` / ``ties`` (model above / below /
    within ``tie_tolerance`` of the reference), ``mean_difference`` and ``median_difference`` (model -
    reference), ``wilcoxon_statistic`` and ``p_value`` (two-sided ``scipy.stats.wilcoxon`` on the
    differences, ties dropped), ``note``. The test is skipped (NaN, with the reason in ``note``) when
    fewer than ``min_cells`` differences are non-zero: with 5 pairs even a clean sweep gives p = 0.0625.
    """
    cols = [
        "model",
        "reference",
        "n_cells",
        "wins",
        "losses",
        "ties",
        "mean_difference",
        "median_difference",
        "wilcoxon_statistic",
        "p_value",
        "note",
    ]
    if df.empty:
        return pd.DataFrame(columns=cols)
    wide = _per_cell_means(df)
    rows = []
    for model in order_models(df["model"]):
        if model == reference:
            continue
        row: dict[str, object] = {
            "model": model,
            "reference": reference,
            "n_cells": 0,
            "wins": 0,
            "losses": 0,
            "ties": 0,
            "mean_difference": np.nan,
            "median_difference": np.nan,
            "wilcoxon_statistic": np.nan,
            "p_value": np.nan,
            "note": "",
        }
        if reference not in wide.columns:
            row["note"] = f"reference model '{reference}' has no runs"
            rows.append(row)
            continue
        both = wide[[reference, model]].dropna()
        diff = np.array(both[model] - both[reference], dtype=float)
        diff[np.abs(diff) <= tie_tolerance] = 0.0
        nonzero = int((diff != 0).sum())
        row.update(
            n_cells=len(diff), wins=int((diff > 0).sum()), losses=int((diff < 0).sum()), ties=int((diff == 0).sum())
        )
        if len(diff) == 0:
            row["note"] = f"no cell has runs of both {model} and {reference}"
        else:
            row.update(mean_difference=float(diff.mean()), median_difference=float(np.median(diff)))
            if nonzero == 0:
                row["note"] = "all differences are zero: no test"
            elif nonzero < min_cells:
                row["note"] = f"only {nonzero} non-zero differences (< {min_cells}): too few for a Wilcoxon test"
            else:
                from scipy.stats import wilcoxon  # scipy.stats takes a second to import; only here

                res = wilcoxon(diff)
                row.update(wilcoxon_statistic=float(res.statistic), p_value=float(res.pvalue))
                if nonzero < 6:
                    # the exact two-sided test cannot go below 2 / 2^n: say so next to the p-value
                    row["note"] = f"exact test on {nonzero} differences: p cannot be below {2 / 2**nonzero:.4g}"
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)
