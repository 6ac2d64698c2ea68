"""Notes a report section shows above its numbers when they cannot mean what the paper's mean."""

from __future__ import annotations

import pandas as pd

#: below this many epochs a report says its numbers compare optimisation after a few epochs
SHORT_BUDGET_EPOCHS = 10


def budget_note(runs: pd.DataFrame, source_kind: str | None) -> str:
    """The warning that a short epoch budget (or the demo's simulated data) makes the numbers a comparison
    of optimisers after a few epochs, not of architectures; empty when it does not apply.

    ``runs`` is one row per run with its ``max_epochs`` (NaN for a single fit).
    """
    budgets = sorted({int(v) for v in runs["max_epochs"].dropna()}) if "max_epochs" in runs.columns else []
    short = budgets and max(budgets) < SHORT_BUDGET_EPOCHS
    if source_kind != "demo" and not short:
        return ""
    parts = []
    if source_kind == "demo":
        parts.append("Demo data: the reads are simulated, so the AUROC values say nothing about real cells.")
    if budgets:
        epochs = " / ".join(str(b) for b in budgets)
        parts.append(
            f"The epoch budget is {epochs} epoch{'s' if budgets != [1] else ''} (max_epochs): these numbers compare "
            "how far each optimiser gets after a few epochs, not the architectures."
        )
    return " ".join(parts)
