"""Display versions of the report's tables (rounded, labelled, all strings) and Markdown / HTML tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from chromexpr.models.display import order_models


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 seed``, ``2 seeds``."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def _fmt(value: object, digits: int = 4) -> str:
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def format_p(p: object) -> str:
    """A p-value as the report writes it everywhere, in tables and in figure titles alike: two
    significant digits from 0.001 up, else scientific (``0.19``, ``0.0625`` -> ``0.062``, ``3.2e-05``),
    ``n/a`` for a skipped test."""
    if p is None or p is pd.NA:
        return "n/a"
    p = float(p)
    if math.isnan(p):
        return "n/a"
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


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


def table2_display(t2: pd.DataFrame) -> pd.DataFrame:
    """Table 2 with rounded, labelled columns (for Markdown and HTML)."""
    out = pd.DataFrame(
        {
            "model": t2["model"],
            "cells": t2["n_cells"].astype(str),
            "seeds": t2["n_seeds"].astype(str),
            "min": t2["min_auroc"].map(_fmt),
            "mean": t2["mean_auroc"].map(_fmt),
            "max": t2["max_auroc"].map(_fmt),
            "median": t2["median_auroc"].map(_fmt),
            "mean ± sd over seeds": [
                f"{_fmt(m)} ± {_fmt(s)}" if not math.isnan(s) else f"{_fmt(m)} (1 seed)"
                for m, s in zip(t2["seed_mean_auroc"], t2["seed_sd_auroc"], strict=True)
            ],
            "AUPRC": t2["mean_auprc"].map(_fmt),
            "parameters": [f"{int(p):,}" if p is not pd.NA else "" for p in t2["parameters"]],
            "early stop / max_epochs": [
                f"{e} / {m}" for e, m in zip(t2["n_early_stop"], t2["n_max_epochs"], strict=True)
            ],
            "not converged": [
                f"{n} of {plural(r, 'run')}" if n else ""
                for n, r in zip(t2["n_not_converged"], t2["n_runs"], strict=True)
            ],
        }
    )
    return out


def paired_display(paired: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": paired["model"],
            "cells": paired["n_cells"].astype(str),
            "wins": paired["wins"].astype(str),
            "losses": paired["losses"].astype(str),
            "ties": paired["ties"].astype(str),
            "mean diff.": [f"{v:+.4f}" if not math.isnan(v) else "" for v in paired["mean_difference"].astype(float)],
            "median diff.": [
                f"{v:+.4f}" if not math.isnan(v) else "" for v in paired["median_difference"].astype(float)
            ],
            "Wilcoxon p": paired["p_value"].map(format_p),
            "note": paired["note"].fillna(""),
        }
    )


def per_cell_display(pc: pd.DataFrame) -> pd.DataFrame:
    """Cells x models, ``mean ± sd`` over seeds; ``(not converged)`` where a seed never beat chance."""
    text = [
        (f"{_fmt(m)} ± {_fmt(s)}" if not math.isnan(s) else _fmt(m)) + ("" if ok else " (not converged)")
        for m, s, ok in zip(
            pc["test_auroc_mean"].astype(float),
            pc["test_auroc_sd"].astype(float),
            pc["converged"].astype(bool),
            strict=True,
        )
    ]
    wide = pc.assign(text=text).pivot_table(index="cell", columns="model", values="text", aggfunc="first")
    wide = wide.reindex(columns=order_models(pc["model"])).fillna("")
    wide.columns.name = None
    return wide.reset_index()


def published_table2_display(table: pd.DataFrame) -> pd.DataFrame:
    basis = {"ours": "ours", "same_cells": "same cells as ours", "source_cells": "all cells of the source"}
    return pd.DataFrame(
        {
            "model": table["model"],
            "numbers": [
                f"{s} ({pm})" if pm else s for s, pm in zip(table["source"], table["published_model"], strict=True)
            ],
            "kind": table["kind"].str.replace("_", "-"),
            "cells": [
                f"{basis.get(b, b)}: {'?' if n is pd.NA else n}"
                for b, n in zip(table["basis"], table["n_cells"], strict=True)
            ],
            **{s: table[s].astype(float).map(_fmt) for s in ("min", "mean", "max", "median")},
            "ours − this mean": [
                f"{v:+.4f}" if not math.isnan(v) else "" for v in table["ours_minus_published_mean"].astype(float)
            ],
        }
    )


def published_per_cell_display(per_cell: pd.DataFrame) -> pd.DataFrame:
    out = per_cell.copy()
    for c in out.columns[2:]:
        out[c] = out[c].astype(float).map(_fmt)
    return out


def _pct(value: object) -> str:
    return "" if value is None or value is pd.NA or math.isnan(float(value)) else f"{100 * float(value):.0f}%"


def runs_display(runs: pd.DataFrame) -> pd.DataFrame:
    """Per run: how it stopped, its best validation loss against chance, and whether it converged."""
    epochs = [
        "" if e is pd.NA else (f"{e} of {m}" if m is not pd.NA else str(e))
        for e, m in zip(runs["epochs_run"], runs["max_epochs"], strict=True)
    ]
    return pd.DataFrame(
        {
            "model": runs["model"],
            "cell": runs["cell"],
            "seed": runs["seed"].astype(str),
            "device": runs["device"].fillna(""),
            "epochs": epochs,
            "patience": ["" if p is pd.NA else str(p) for p in runs["patience"]],
            "best epoch": ["" if b is pd.NA else str(b) for b in runs["best_epoch"]],
            "stopped by": runs["stop"],
            "best valid loss": runs["best_valid_loss"].astype(float).map(_fmt),
            "chance loss": runs["chance_loss"].astype(float).map(_fmt),
            "converged": ["yes" if c else "not converged" for c in runs["converged"].astype(bool)],
            "test AUROC": runs["test_auroc"].astype(float).map(_fmt),
            "test accuracy": runs["test_accuracy"].astype(float).map(_fmt),
        }
    )


def split_balance_display(balance: pd.DataFrame) -> pd.DataFrame:
    """Per cell: genes and positive fraction of each split, with the accuracy caveat."""
    out = {"cell": balance["cell"]}
    for s in ("train", "valid", "test"):
        out[s] = [f"{_pct(f)} of {n:,}" for f, n in zip(balance[f"{s}_positive"], balance[f"n_{s}"], strict=True)]
    out["test − train"] = [
        "" if math.isnan(v) else f"{100 * v:+.0f} points" for v in balance["test_minus_train"].astype(float)
    ]
    out["accuracy"] = [
        "not comparable with train (|test − train| > 10 points)" if c else "" for c in balance["accuracy_caveat"]
    ]
    return pd.DataFrame(out)


def accuracy_display(pc: pd.DataFrame) -> pd.DataFrame:
    """Per model and cell: test AUROC beside test accuracy, with the positive fractions behind the caveat."""
    return pd.DataFrame(
        {
            "model": pc["model"],
            "cell": pc["cell"],
            "test AUROC": pc["test_auroc_mean"].astype(float).map(_fmt),
            "test accuracy": pc["test_accuracy_mean"].astype(float).map(_fmt),
            "positives train / test": [
                f"{_pct(a)} / {_pct(b)}" for a, b in zip(pc["train_positive"], pc["test_positive"], strict=True)
            ],
            "caveat": [
                "test positive fraction differs from train by > 0.1: accuracy reflects the class balance" if c else ""
                for c in pc["accuracy_caveat"].astype(bool)
            ],
            "converged": ["yes" if c else "not converged" for c in pc["converged"].astype(bool)],
        }
    )
