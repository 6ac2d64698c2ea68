"""The report's tables, computed from the runs: Table 2, per cell, per run, split balance, published numbers.

Every function takes the frame of ``chromexpr.evaluation.runs.collect_metrics`` (one row per run) and,
where it needs them, the run diagnostics of ``run_diagnostics``; each returns a tidy frame with the
columns its docstring lists. Formatting for the page lives in ``chromexpr.reporting``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from chromexpr.evaluation.runs import SPLITS, gene_set_descriptions, run_diagnostics
from chromexpr.models.display import order_models, published_as
from chromexpr.published import published_genes, read_published

# Summary rows over all the source's cells, most comparable first (the first is the figure's marker).
SOURCE_PRIORITY = (
    "TransferChrome paper Table 2",
    "AttentiveChrome NeurIPS 2017 poster",
    "DeepChrome 2.0 paper Table 2",
)
OURS_SOURCE = "chromexpr (this report)"

SAME_DATA_CAVEAT = (
    "The comparison assumes our runs used the papers' data for these cells (REMC reads, all genes); on simulated "
    "or subsampled data the same cell ids do not make the numbers comparable."
)


def _join_unique(values: pd.Series) -> str:
    return ", ".join(sorted({str(v) for v in values.dropna()}))


def per_cell_table(df: pd.DataFrame, diagnostics: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per model and cell: ``n_seeds`` and mean / sd over seeds (sd NaN with one seed).

    From the run diagnostics (``run_diagnostics(df)`` unless given): ``stop`` (how its seeds stopped:
    ``early stop``, ``max_epochs``, ``single fit``, comma-joined when they differ), ``n_not_converged``
    (seeds whose best validation loss is no better than chance), ``converged`` (no such seed; a boolean
    column the figures mark), ``train_positive`` / ``test_positive`` and ``accuracy_caveat`` (test and
    training positive fractions differ by more than 0.1, so the accuracy beside the AUROC is not
    comparable between them).
    """
    cols = [
        "model",
        "cell",
        "n_seeds",
        "test_auroc_mean",
        "test_auroc_sd",
        "test_auprc_mean",
        "test_accuracy_mean",
        "valid_auroc_mean",
        "stop",
        "n_not_converged",
        "converged",
        "train_positive",
        "test_positive",
        "accuracy_caveat",
    ]
    if df.empty:
        return pd.DataFrame(columns=cols)
    diag = run_diagnostics(df) if diagnostics is None else diagnostics
    d = diag.groupby(["model", "cell"], sort=False)
    flags = pd.DataFrame(
        {
            "stop": d["stop"].agg(_join_unique),
            "n_not_converged": d["converged"].agg(lambda c: int((~c.astype(bool)).sum())),
            "train_positive": d["train_positive"].mean(),
            "test_positive": d["test_positive"].mean(),
            "accuracy_caveat": d["accuracy_caveat"].agg(lambda c: bool(c.astype(bool).any())),
        }
    )
    flags["converged"] = flags["n_not_converged"] == 0
    g = df.groupby(["model", "cell"], sort=False)
    out = pd.DataFrame(
        {
            "n_seeds": g["seed"].nunique(),
            "test_auroc_mean": g["test_auroc"].mean(),
            "test_auroc_sd": g["test_auroc"].std(ddof=1),
            "test_auprc_mean": g["test_auprc"].mean(),
            "test_accuracy_mean": g["test_accuracy"].mean(),
            "valid_auroc_mean": g["valid_auroc"].mean(),
        }
    )
    out = out.join(flags).reset_index()
    out["n_not_converged"] = out["n_not_converged"].fillna(0).astype(int)
    out["converged"] = out["converged"].fillna(True).astype(bool)
    out["accuracy_caveat"] = out["accuracy_caveat"].fillna(False).astype(bool)
    out["model"] = pd.Categorical(out["model"], order_models(out["model"]), ordered=True)
    out = out.sort_values(["model", "cell"]).reset_index(drop=True)
    out["model"] = out["model"].astype(str)
    return out[cols]


def _mode(values: pd.Series) -> object:
    values = values.dropna()
    return values.mode().iloc[0] if not values.empty else pd.NA


def table2(df: pd.DataFrame, diagnostics: pd.DataFrame | None = None) -> pd.DataFrame:
    """The paper's Table 2, one row per model (TransferChrome layout, plus the spread over seeds).

    A cell's value is its test AUROC averaged over seeds; ``min_auroc`` ... ``median_auroc`` are taken
    over cells. ``seed_mean_auroc`` +/- ``seed_sd_auroc``: for each seed the AUROC averaged over the
    cells that seed ran on, then mean and sample sd over seeds (sd NaN with one seed). ``parameters`` is
    the model's trainable parameter count (the most common value over its runs). ``n_early_stop`` /
    ``n_max_epochs``: runs that stopped early / ran all ``max_epochs``; ``n_not_converged``: runs whose best
    validation loss is no better than chance (see ``run_diagnostics``).
    """
    cols = [
        "model",
        "n_cells",
        "n_seeds",
        "n_runs",
        "min_auroc",
        "mean_auroc",
        "max_auroc",
        "median_auroc",
        "seed_mean_auroc",
        "seed_sd_auroc",
        "mean_auprc",
        "mean_accuracy",
        "wall_hours",
        "parameters",
        "n_early_stop",
        "n_max_epochs",
        "n_not_converged",
    ]
    if df.empty:
        return pd.DataFrame(columns=cols)
    diag = run_diagnostics(df) if diagnostics is None else diagnostics
    pc = per_cell_table(df, diag)
    rows = []
    for model in order_models(df["model"]):
        runs = df[df["model"] == model]
        cells = pc.loc[pc["model"] == model, "test_auroc_mean"]
        per_seed = runs.groupby("seed")["test_auroc"].mean()
        rows.append(
            {
                "model": model,
                "n_cells": int(runs["cell"].nunique()),
                "n_seeds": int(runs["seed"].nunique()),
                "n_runs": len(runs),
                "min_auroc": cells.min(),
                "mean_auroc": cells.mean(),
                "max_auroc": cells.max(),
                "median_auroc": cells.median(),
                "seed_mean_auroc": per_seed.mean(),
                "seed_sd_auroc": per_seed.std(ddof=1) if len(per_seed) > 1 else float("nan"),
                "mean_auprc": pc.loc[pc["model"] == model, "test_auprc_mean"].mean(),
                "mean_accuracy": pc.loc[pc["model"] == model, "test_accuracy_mean"].mean(),
                "wall_hours": runs["wall_seconds"].sum(min_count=1) / 3600.0,
                "parameters": _mode(runs["parameters"]),
                "n_early_stop": int((diag.loc[diag["model"] == model, "stop"] == "early stop").sum()),
                "n_max_epochs": int((diag.loc[diag["model"] == model, "stop"] == "max_epochs").sum()),
                "n_not_converged": int((~diag.loc[diag["model"] == model, "converged"].astype(bool)).sum()),
            }
        )
    out = pd.DataFrame(rows, columns=cols)
    out["parameters"] = pd.array(out["parameters"].tolist(), dtype="Int64")
    return out


def split_balance(diagnostics: pd.DataFrame, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per cell: genes and positive fraction of each split (from the runs' predictions; the splits of a
    cell are its dataset's, the same for every run), ``test_minus_train`` and ``accuracy_caveat``, and how
    the cell's genes were labelled (``runs``' ``label_median`` and ``label_median_over``, from each run's
    ``metrics.json``).

    Columns: ``cell``, ``n_train``, ``train_positive``, ``n_valid``, ``valid_positive``, ``n_test``,
    ``test_positive``, ``test_minus_train``, ``accuracy_caveat`` (|test - train| > 0.1), ``label_median``
    and ``label_median_over`` (empty where the runs do not say: labels given by the source, older runs).
    """
    cols = ["cell"]
    for s in SPLITS:
        cols += [f"n_{s}", f"{s}_positive"]
    cols += ["test_minus_train", "accuracy_caveat", "label_median", "label_median_over"]
    known = diagnostics[diagnostics["n_train"] > 0]
    if known.empty:
        return pd.DataFrame(columns=cols)
    first = known.sort_values(["cell", "model", "seed"]).groupby("cell", sort=True).first().reset_index()
    first["test_minus_train"] = first["test_positive"] - first["train_positive"]
    rule: dict[str, tuple[float, str]] = {}
    if runs is not None and "label_median_over" in runs.columns:
        for cell, median, over in zip(runs["cell"], runs["label_median"], runs["label_median_over"], strict=True):
            if isinstance(over, str) and over:
                rule.setdefault(str(cell), (float(median), over))
    first["label_median"] = [rule.get(str(c), (float("nan"), ""))[0] for c in first["cell"]]
    first["label_median_over"] = [rule.get(str(c), (float("nan"), ""))[1] for c in first["cell"]]
    return first[cols].reset_index(drop=True)


def runs_table(diagnostics: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run: the diagnostics beside its test AUROC and accuracy, in model order."""
    keys = ["model", "cell", "seed"]
    scores = runs[[*keys, "test_auroc", "test_accuracy"]]
    out = diagnostics.merge(scores, on=keys, how="left")
    out["model"] = pd.Categorical(out["model"], order_models(out["model"]), ordered=True)
    out = out.sort_values(keys).reset_index(drop=True)
    out["model"] = out["model"].astype(str)
    return out


@dataclass
class PublishedComparison:
    """Our numbers beside the published ones; empty tables and a ``reason`` when they do not apply."""

    per_cell: pd.DataFrame  # one row per cell of ours: cell, cell_name, our models, published columns
    table2: pd.DataFrame  # ours / same-cells / all-cells-of-the-source rows per model
    reason: str | None = None

    @property
    def applicable(self) -> bool:
        return self.reason is None


TABLE2_PUBLISHED_COLUMNS = [
    "model",
    "basis",
    "source",
    "kind",
    "genes",
    "published_model",
    "n_cells",
    "min",
    "mean",
    "max",
    "median",
    "ours_minus_published_mean",
]


def _summary(values: pd.Series) -> dict[str, float]:
    return {"min": values.min(), "mean": values.mean(), "max": values.max(), "median": values.median()}


def published_beside_ours(df: pd.DataFrame, published_table: pd.DataFrame | str | Path) -> PublishedComparison:
    """Our per-cell AUROC beside the published per-cell numbers, and our Table 2 beside the published rows.

    Applies when at least one of our cells is a REMC id of the published per-cell table (otherwise the
    published numbers are about other data and ``reason`` says so). ``per_cell``: one row per cell of
    ours, our models' mean AUROC then one column per published per-cell series, named ``Model (kind)``.
    ``table2``: per model of ours, its own row (``basis`` = ``ours``), the published per-cell series of the
    same architecture over the same cells (``same_cells``), and the sources' summaries over all their
    cells (``source_cells``, TransferChrome Table 2 first). Our names map to theirs by the cards' ``display.published_as``.
    """
    pub = read_published(published_table) if not isinstance(published_table, pd.DataFrame) else published_table
    pub = pub[pub["task"] == "single_cell"]
    per_cell_pub = pub[pub["statistic"] == "cell"]
    pc = per_cell_table(df)
    ours_cells = sorted(pc["cell"].unique()) if not pc.empty else []
    known = set(per_cell_pub["cell"])
    overlap = [c for c in ours_cells if c in known]
    if not overlap:
        shown = ", ".join(ours_cells[:8]) + (" ..." if len(ours_cells) > 8 else "")
        return PublishedComparison(
            pd.DataFrame(columns=["cell", "cell_name"]),
            pd.DataFrame(columns=TABLE2_PUBLISHED_COLUMNS),
            f"none of our {len(ours_cells)} cells ({shown or 'none'}) is one of the {len(known)} REMC cells of the "
            "published per-cell table, so the published numbers are about other data",
        )

    models = order_models(pc["model"])
    wide = pc.pivot_table(index="cell", columns="model", values="test_auroc_mean", aggfunc="first")
    wide = wide.reindex(index=ours_cells, columns=models)
    names = per_cell_pub.drop_duplicates("cell").set_index("cell")["cell_name"]
    per_cell = pd.DataFrame({"cell": ours_cells, "cell_name": [names.get(c, "") for c in ours_cells]})
    for m in models:
        per_cell[m] = wide[m].to_numpy()
    series = list(dict.fromkeys(zip(per_cell_pub["model"], per_cell_pub["kind"], per_cell_pub["source"], strict=True)))
    for pmodel, kind, source in series:
        values = per_cell_pub[(per_cell_pub["model"] == pmodel) & (per_cell_pub["source"] == source)]
        per_cell[f"{pmodel} ({kind.replace('_', '-')})"] = per_cell["cell"].map(values.set_index("cell")["value"])

    summary_pub = pub[pub["statistic"] != "cell"].copy()
    rank = {s: i for i, s in enumerate(SOURCE_PRIORITY)}
    summary_pub["_rank"] = summary_pub["source"].map(lambda s: rank.get(s, len(rank)))
    summary_pub = summary_pub.sort_values("_rank", kind="stable")
    rows = []
    our_genes = "; ".join(gene_set_descriptions(df)) or "the source's genes and split"
    for model in models:
        mine = wide[model].dropna()
        ours = {
            "model": model,
            "basis": "ours",
            "source": OURS_SOURCE,
            "kind": "ours",
            "genes": our_genes,
            "published_model": "",
            "n_cells": len(mine),
            **_summary(mine),
        }
        rows.append(ours)
        pnames = published_as(model)
        for pmodel, kind, source in sorted(series, key=lambda s: (s[1] != "published", s[2])):
            if pmodel not in pnames:
                continue
            values = per_cell_pub[(per_cell_pub["model"] == pmodel) & (per_cell_pub["source"] == source)]
            values = values[values["cell"].isin(mine.index)]["value"]
            if values.empty:
                continue
            rows.append(
                {
                    "model": model,
                    "basis": "same_cells",
                    "source": source,
                    "kind": kind,
                    "genes": published_genes(source),
                    "published_model": pmodel,
                    "n_cells": len(values),
                    **_summary(values),
                }
            )
        for (source, pmodel), group in summary_pub[summary_pub["model"].isin(pnames)].groupby(
            ["source", "model"], sort=False
        ):
            by_stat = group.set_index("statistic")["value"]
            n = group["n_cells"].dropna()
            rows.append(
                {
                    "model": model,
                    "basis": "source_cells",
                    "source": source,
                    "kind": "published",
                    "genes": published_genes(source),
                    "published_model": pmodel,
                    "n_cells": int(n.iloc[0]) if len(n) else pd.NA,
                    **{s: by_stat.get(s, np.nan) for s in ("min", "mean", "max", "median")},
                }
            )
    table = pd.DataFrame(rows, columns=TABLE2_PUBLISHED_COLUMNS[:-1])
    ours_mean = table[table["basis"] == "ours"].set_index("model")["mean"]
    table["ours_minus_published_mean"] = np.where(
        table["basis"] == "ours", np.nan, table["model"].map(ours_mean) - table["mean"]
    )
    table["n_cells"] = pd.array(table["n_cells"].tolist(), dtype="Int64")
    return PublishedComparison(per_cell, table)
