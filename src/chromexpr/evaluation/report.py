"""Report of single-cell runs: the paper's Table 2, paired tests, the published numbers beside ours, figures.

Input: one ``metrics.json`` per run (``results/runs/single_cell/{model}/{cell}/seed{n}/metrics.json``),
each with at least the keys of ``METRIC_KEYS``. ``build_report`` writes into one folder:

========================================  ===================================================================
``table2.tsv`` / ``.md``                   per model: cells, seeds, min / mean / max / median test AUROC over
                                           cells (a cell's value = mean over seeds), mean +/- sd over seeds
``per_cell_auroc.tsv``                     per model and cell: mean and sd over seeds (tidy, long)
``paired_vs_{reference}.tsv`` / ``.md``    per model against the reference: wins / losses / ties, Wilcoxon p
``published_comparison.tsv`` / ``.md``     our per-cell AUROC beside the published per-cell numbers
``published_table2.tsv``                   our Table 2 rows beside the published summary rows
``per_cell_auroc.{png,pdf}``               Figure 3 layout: grouped bars per cell
``auroc_distribution.{png,pdf}``           box + strip plot per model, published means as markers
``paired_vs_{reference}.{png,pdf}``        per-cell scatter of each model against the reference, with y = x
``index.html``                             every table and figure on one page
========================================  ===================================================================

The figures are drawn from the TSVs only (``draw_figures``), so they can be redrawn without the runs.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from chromexpr.errors import InputError
from chromexpr.io.atomic import atomic_path
from chromexpr.plotting import (
    auroc_distribution_figure,
    order_models,
    paired_scatter_figure,
    per_cell_auroc_figure,
    save_figure,
)
from chromexpr.shipped import shipped_file

METRIC_KEYS = (
    "model",
    "cell",
    "seed",
    "test_auroc",
    "test_auprc",
    "test_accuracy",
    "valid_auroc",
    "best_epoch",
    "epochs_run",
    "wall_seconds",
    "parameters",
    "device",
)
DEFAULT_PUBLISHED = shipped_file("published_auroc.tsv")
PUBLISHED_COLUMNS = ("source", "kind", "model", "task", "cell", "cell_name", "statistic", "value", "n_cells", "notes")

# Our model names -> the names the published sources use for the same architecture.
PUBLISHED_NAMES: dict[str, tuple[str, ...]] = {
    "deepchrome": ("DeepChrome", "DeepChrome (max-pool)"),
    "attentivechrome": ("AttentiveChrome",),
    "convchrome": ("ConvChrome_CNN1D",),
    "transferchrome": ("TransferChrome",),
    "deepchrome_avgpool": ("DeepChrome (avg-pool)",),
    "deepchrome_strided": ("DeepChrome (strided conv)",),
    "linear12": ("12-parameter linear",),
}
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

TIE_TOLERANCE = 1e-9  # AUROC steps are >= 1/(n_pos * n_neg) ~ 1e-7 on a 6,000-gene test set
FLOAT_FORMAT = "%.6g"


# ---------------------------------------------------------------------------------------------------
# Reading runs


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _read_metrics(path: Path) -> dict[str, object]:
    hint = "metrics.json is written by the training step (train_model); re-run that run or remove it"
    if not path.is_file():
        raise InputError("metrics file not found", path=path, hint=hint)
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(
            f"not valid JSON ({err.msg}, column {err.colno})", path=path, line=err.lineno, hint=hint
        ) from err
    except UnicodeDecodeError as err:
        raise InputError("not a text file", path=path, hint=hint) from err
    if not isinstance(record, dict):
        raise InputError(f"expected a JSON object, found {type(record).__name__}", path=path, hint=hint)
    missing = [k for k in METRIC_KEYS if k not in record]
    if missing:
        raise InputError(f"missing key(s) {', '.join(missing)}", path=path, hint=hint)

    def bad(key: str, expected: str) -> InputError:
        return InputError(f"key '{key}' = {record[key]!r}: expected {expected}", path=path, hint=hint)

    for key in ("model", "cell"):
        if not isinstance(record[key], str) or not record[key]:
            raise bad(key, "a non-empty string")
    if not _is_int(record["seed"]):
        raise bad("seed", "an integer")
    auroc = record["test_auroc"]
    if not _is_number(auroc) or not (0.0 <= float(auroc) <= 1.0):
        raise bad("test_auroc", "a number in [0, 1]")
    for key in ("test_auprc", "test_accuracy", "valid_auroc", "wall_seconds"):
        if record[key] is not None and not _is_number(record[key]):
            raise bad(key, "a number or null")
    for key in ("best_epoch", "epochs_run", "parameters"):
        if record[key] is not None and not _is_int(record[key]):
            raise bad(key, "an integer or null")
    if record["device"] is not None and not isinstance(record["device"], str):
        raise bad("device", "a string or null")
    row = {k: record[k] for k in METRIC_KEYS}
    # keep further scalar keys (e.g. test set size): they cost nothing and help debugging
    row.update({k: v for k, v in record.items() if k not in row and (v is None or isinstance(v, (str, int, float)))})
    row["path"] = str(path)
    return row


def collect_metrics(paths: Iterable[str | Path]) -> pd.DataFrame:
    """One row per run from its ``metrics.json``; a missing or malformed file raises ``InputError`` naming it.

    Columns: the ``METRIC_KEYS`` (``test_auroc`` checked to lie in [0, 1]), any further scalar keys, and
    ``path``. The same (model, cell, seed) twice is an error too.
    """
    rows = [_read_metrics(Path(p)) for p in paths]
    if not rows:
        return pd.DataFrame(columns=[*METRIC_KEYS, "path"])
    df = pd.DataFrame(rows)
    dup = df.duplicated(["model", "cell", "seed"], keep=False)
    if dup.any():
        first = df[dup].iloc[0]
        same = (df["model"] == first["model"]) & (df["cell"] == first["cell"]) & (df["seed"] == first["seed"])
        others = df.loc[same, "path"]
        raise InputError(
            f"run {first['model']}/{first['cell']}/seed{first['seed']} appears more than once: {', '.join(others)}",
            path=first["path"],
            hint="pass each run's metrics.json once",
        )
    for key in ("test_auroc", "test_auprc", "test_accuracy", "valid_auroc", "wall_seconds"):
        df[key] = pd.to_numeric(df[key], errors="coerce").astype(float)
    for key in ("seed", "best_epoch", "epochs_run", "parameters"):
        df[key] = pd.array(df[key].tolist(), dtype="Int64")
    return df


# ---------------------------------------------------------------------------------------------------
# Tables


def per_cell_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per model and cell: ``n_seeds`` and mean / sd over seeds (sd NaN with one seed)."""
    cols = [
        "model",
        "cell",
        "n_seeds",
        "test_auroc_mean",
        "test_auroc_sd",
        "test_auprc_mean",
        "test_accuracy_mean",
        "valid_auroc_mean",
    ]
    if df.empty:
        return pd.DataFrame(columns=cols)
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
    ).reset_index()
    out["model"] = pd.Categorical(out["model"], order_models(out["model"]), ordered=True)
    out = out.sort_values(["model", "cell"]).reset_index(drop=True)
    out["model"] = out["model"].astype(str)
    return out[cols]


def _mode(values: pd.Series) -> object:
    values = values.dropna()
    return values.mode().iloc[0] if not values.empty else pd.NA


def table2(df: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 2, one row per model (TransferChrome layout, plus the spread over seeds).

    A cell's value is its test AUROC averaged over seeds; ``min_auroc`` ... ``median_auroc`` are taken
    over cells. ``seed_mean_auroc`` +/- ``seed_sd_auroc``: for each seed the AUROC averaged over the
    cells that seed ran on, then mean and sample sd over seeds (sd NaN with one seed). ``parameters`` is
    the model's trainable parameter count (the most common value over its runs).
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
    ]
    if df.empty:
        return pd.DataFrame(columns=cols)
    pc = per_cell_table(df)
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
            }
        )
    out = pd.DataFrame(rows, columns=cols)
    out["parameters"] = pd.array(out["parameters"].tolist(), dtype="Int64")
    return out


def paired_vs_reference(
    df: pd.DataFrame,
    reference: str = "deepchrome",
    *,
    min_cells: int = 5,
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
    wide = per_cell_table(df).pivot_table(index="cell", columns="model", values="test_auroc_mean", aggfunc="first")
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


# ---------------------------------------------------------------------------------------------------
# Published numbers


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
    cells (``source_cells``, TransferChrome Table 2 first). Our names map to theirs by ``PUBLISHED_NAMES``.
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
    for model in models:
        mine = wide[model].dropna()
        ours = {
            "model": model,
            "basis": "ours",
            "source": OURS_SOURCE,
            "kind": "ours",
            "published_model": "",
            "n_cells": len(mine),
            **_summary(mine),
        }
        rows.append(ours)
        pnames = PUBLISHED_NAMES.get(model, ())
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


# ---------------------------------------------------------------------------------------------------
# Formatting


def _fmt(value: object, digits: int = 4) -> str:
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def _fmt_p(p: object) -> str:
    if p is None or p is pd.NA or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    return f"{p:.3g}"


def _markdown(table: pd.DataFrame) -> str:
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


def _html_table(table: pd.DataFrame) -> str:
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
            "Wilcoxon p": paired["p_value"].map(_fmt_p),
            "note": paired["note"].fillna(""),
        }
    )


def per_cell_display(pc: pd.DataFrame) -> pd.DataFrame:
    """Cells x models, ``mean ± sd`` over seeds."""
    text = [
        f"{_fmt(m)} ± {_fmt(s)}" if not math.isnan(s) else _fmt(m)
        for m, s in zip(pc["test_auroc_mean"].astype(float), pc["test_auroc_sd"].astype(float), strict=True)
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


# ---------------------------------------------------------------------------------------------------
# Writing


def _write_text(path: Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _write_tsv(path: Path, table: pd.DataFrame) -> Path:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format=FLOAT_FORMAT, na_rep="")
    return path


def _read_tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype={"model": str, "cell": str, "reference": str, "note": str})


def draw_figures(tables_dir: str | Path, out_dir: str | Path | None = None, *, title: str | None = None) -> list[Path]:
    """Redraw every figure of a report from its TSVs alone (no runs, no models): PNG + PDF each.

    Reads ``per_cell_auroc.tsv`` (required), ``published_table2.tsv`` (markers, when present and not
    empty) and every ``paired_vs_{reference}.tsv``. Writes into ``out_dir`` (default ``tables_dir``).
    """
    tables_dir = Path(tables_dir)
    out_dir = Path(out_dir) if out_dir is not None else tables_dir
    per_cell_path = tables_dir / "per_cell_auroc.tsv"
    if not per_cell_path.is_file():
        raise InputError(
            "per-cell AUROC table not found",
            path=per_cell_path,
            hint="build the report first (build_report / the 'report' target)",
        )
    per_cell = _read_tsv(per_cell_path)
    published = None
    pub_path = tables_dir / "published_table2.tsv"
    if pub_path.is_file() and pub_path.stat().st_size > 0:
        published = _read_tsv(pub_path)
        published = published if not published.empty else None
    written = save_figure(per_cell_auroc_figure(per_cell, title=title), out_dir / "per_cell_auroc")
    written += save_figure(auroc_distribution_figure(per_cell, published), out_dir / "auroc_distribution")
    for paired_path in sorted(tables_dir.glob("paired_vs_*.tsv")):
        reference = paired_path.stem.removeprefix("paired_vs_")
        paired = _read_tsv(paired_path)
        written += save_figure(paired_scatter_figure(per_cell, reference, paired), out_dir / paired_path.stem)
    return written


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1200px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table.table { border-collapse: collapse; font-size: 0.88em; margin: 0.8em 0; }
table.table th, table.table td { padding: 3px 9px; border-bottom: 1px solid #eee; text-align: right; }
table.table th { background: #f4f4f4; } table.table td:first-child, table.table th:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; } .note { color: #555; font-size: 0.92em; }
.files { font-size: 0.85em; color: #555; }
"""


def _files_line(*names: str) -> str:
    links = " · ".join(f'<a href="{html.escape(n)}">{html.escape(n)}</a>' for n in names)
    return f'<p class="files">files: {links}</p>'


def _figure_html(stem: str, alt: str) -> str:
    return f'<p><img src="{html.escape(stem)}.png" alt="{html.escape(alt)}"></p>' + _files_line(
        f"{stem}.png", f"{stem}.pdf"
    )


def _index_html(
    title: str,
    runs: pd.DataFrame,
    t2: pd.DataFrame,
    pc: pd.DataFrame,
    paired: pd.DataFrame,
    reference: str,
    comparison: PublishedComparison,
    min_cells: int,
) -> str:
    paired_stem = f"paired_vs_{reference}"
    esc = html.escape
    n_models, n_cells, n_seeds = runs["model"].nunique(), runs["cell"].nunique(), runs["seed"].nunique()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p>{len(runs)} runs: {n_models} models x {n_cells} cells x up to {n_seeds} seeds. Test AUROC is on each "
        "cell's held-out test genes; a cell's value is the mean over its seeds.</p>",
        "<h2>Table 2: test AUROC across cells</h2>",
        "<p>As in TransferChrome's Table 2: per model, the minimum, mean, maximum and median over cells of the "
        "per-cell test AUROC. <em>mean ± sd over seeds</em>: the across-cell mean computed separately for each "
        "seed, then its mean and standard deviation over seeds (the run-to-run spread of the headline number).</p>",
        _html_table(table2_display(t2)),
        _files_line("table2.tsv", "table2.md"),
        "<h2>Figure: test AUROC per cell</h2>",
        "<p>Grouped bars as in TransferChrome's Figure 3: one group per cell, one bar per model (the same colour "
        "in every figure). Error bars: standard deviation over seeds, where a cell has more than one seed. The "
        "y axis starts just below the lowest value.</p>",
        _figure_html("per_cell_auroc", "test AUROC per cell and model"),
        "<h2>Figure: distribution of per-cell AUROC</h2>",
        "<p>One box per model over its cells (solid line = median, box = quartiles, whiskers = 1.5 IQR), each dot "
        "one cell. Published means in black, where known: filled diamond right of the box = published, same "
        "cells as ours; open diamond = third-party reproduction, same cells; dashed line across the box = the "
        "paper's mean over all its cells (56 for TransferChrome Table 2).</p>",
        _figure_html("auroc_distribution", "per-cell AUROC distribution per model"),
        f"<h2>Each model against {esc(reference)}</h2>",
        f"<p>Over the cells both models have: wins / losses / ties of the per-cell AUROC against {esc(reference)}, "
        "the mean and median difference (model − reference) and the two-sided Wilcoxon signed-rank p-value "
        f"(no test with fewer than {min_cells} non-zero differences; the note says why). In the scatter, points "
        "above the dashed diagonal are cells where the model wins.</p>",
        _html_table(paired_display(paired)),
        _files_line(f"{paired_stem}.tsv", f"{paired_stem}.md"),
        _figure_html(paired_stem, f"per-cell AUROC against {reference}"),
        "<h2>Published numbers beside ours</h2>",
    ]
    if comparison.applicable:
        parts += [
            "<p>Our rows, then for the same architecture: the published per-cell numbers over the same cells "
            "(DeepChrome supplementary table; third-party reproduction of DeepChrome and AttentiveChrome) and the "
            "papers' summaries over all their cells (TransferChrome Table 2, AttentiveChrome poster, DeepChrome "
            "2.0 Table 2). Published DeepChrome per-cell values have 2 decimals. Numbers over different cells "
            f"are not directly comparable; the <em>same cells</em> rows are. {esc(SAME_DATA_CAVEAT)}</p>",
            _html_table(published_table2_display(comparison.table2)),
            _files_line("published_table2.tsv"),
            "<p>Per cell: our mean AUROC per model, then the published per-cell numbers.</p>",
            _html_table(published_per_cell_display(comparison.per_cell)),
            _files_line("published_comparison.tsv", "published_comparison.md"),
        ]
    else:
        parts += [
            f'<p class="note">Not shown: {esc(comparison.reason or "")}.</p>',
            _files_line("published_comparison.md"),
        ]
    parts += [
        "<h2>Per-cell test AUROC</h2>",
        "<p>Mean ± sd over seeds for each cell and model (the numbers behind the per-cell figure).</p>",
        _html_table(per_cell_display(pc)),
        _files_line("per_cell_auroc.tsv"),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def build_report(
    metrics_paths: Sequence[str | Path],
    out_dir: str | Path,
    *,
    published: str | Path | None = DEFAULT_PUBLISHED,
    reference_model: str = "deepchrome",
    title: str = "chromexpr: single-cell expression prediction",
    min_cells: int = 5,
) -> dict[str, Path]:
    """Write the tables, figures and ``index.html`` of a report of single-cell runs into ``out_dir``.

    Args:
        metrics_paths: the runs' ``metrics.json`` files.
        out_dir: the report folder (created).
        published: the tidy published-AUROC table; ``None`` leaves the comparison out.
        reference_model: the model every other one is paired against.
        title: the page title.
        min_cells: fewest non-zero per-cell differences for a Wilcoxon test.

    Returns:
        file name (e.g. ``"table2.tsv"``) -> written path. Every file is written atomically.
    """
    runs = collect_metrics(metrics_paths)
    if runs.empty:
        raise InputError(
            "no metrics.json files given: nothing to report",
            hint="train at least one model on one cell before building the report",
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t2 = table2(runs)
    pc = per_cell_table(runs)
    paired = paired_vs_reference(runs, reference_model, min_cells=min_cells)
    if published is None:
        comparison = PublishedComparison(
            pd.DataFrame(columns=["cell", "cell_name"]),
            pd.DataFrame(columns=TABLE2_PUBLISHED_COLUMNS),
            "no published table was given (published=None)",
        )
    else:
        comparison = published_beside_ours(runs, published)

    written: dict[str, Path] = {}

    def put(name: str, write, content) -> None:
        written[name] = write(out_dir / name, content)

    paired_stem = f"paired_vs_{reference_model}"
    put("table2.tsv", _write_tsv, t2)
    put(
        "table2.md",
        _write_text,
        f"# Table 2: test AUROC across cells\n\n{_markdown(table2_display(t2))}\n"
        "A cell's value is the mean over its seeds; min / mean / max / median are over cells. "
        "mean ± sd over seeds: the across-cell mean per seed, then mean and sd over seeds.\n",
    )
    put("per_cell_auroc.tsv", _write_tsv, pc)
    put(f"{paired_stem}.tsv", _write_tsv, paired)
    put(
        f"{paired_stem}.md",
        _write_text,
        f"# Each model against {reference_model}\n\n{_markdown(paired_display(paired))}\n"
        "Per-cell mean AUROC over seeds; differences are model − reference; two-sided Wilcoxon signed-rank "
        f"test (scipy.stats.wilcoxon, zero differences dropped), skipped with fewer than {min_cells} non-zero "
        "differences.\n",
    )
    put("published_comparison.tsv", _write_tsv, comparison.per_cell)
    put("published_table2.tsv", _write_tsv, comparison.table2)
    if comparison.applicable:
        md = (
            "# Published numbers beside ours\n\n## Table 2\n\n"
            f"{_markdown(published_table2_display(comparison.table2))}\n"
            "Rows over different cells are not directly comparable; the 'same cells' rows are. Published "
            "DeepChrome per-cell values have 2 decimals. Sources: published_auroc.tsv shipped with chromexpr. "
            f"{SAME_DATA_CAVEAT}\n\n"
            f"## Per cell\n\n{_markdown(published_per_cell_display(comparison.per_cell))}"
        )
    else:
        md = f"# Published numbers beside ours\n\nNot applicable: {comparison.reason}.\n"
    put("published_comparison.md", _write_text, md)
    for path in draw_figures(out_dir):
        written[path.name] = path
    put("index.html", _write_text, _index_html(title, runs, t2, pc, paired, reference_model, comparison, min_cells))
    return written
