"""The tables of the cross-cell transfer experiment of TransferChrome: its Table 3, the paired comparison of the
variants and the domain classifier's curves (the section's ``report`` writes them, its ``figures`` draw them).

Runs (read with ``chromexpr.evaluation.runs.collect_metrics``):

- transfer runs, ``results/runs/transfer/{model}_{variant}/{source}_to_{target}/seed{n}/metrics.json``: ``model``
  is the run's name (``transferchrome_cross``), ``cell`` the target; besides the usual keys they carry
  ``base_model`` (the card, ``transferchrome``), ``variant`` (``uncross`` | ``cross``), ``protocol``
  (``honest`` | ``paper``), ``source``, ``target`` and the gene counts ``n_train`` / ``n_adapt`` / ``n_valid`` /
  ``n_test``. Their ``test_auroc`` is on the target's test genes.
- origin runs, the single-cell runs ``results/runs/single_cell/{model}/{target}/seed{n}/metrics.json``: the model
  trained and tested on the target itself (``variant`` = ``origin``), scored on the target's test split.

Under the ``honest`` protocol every variant of a target is scored on the same genes (the target's test
split), so the per-target differences are paired on genes as well as on cells. Under ``paper`` the transfer
runs are tested on a seeded half of the target's genes while the origin runs keep the single-cell test split.

Table 3 of the paper (Min / Mean / Max / Median AUROC over the 55 target cells, source E085) is in the shipped
``published_auroc.tsv`` as ``TransferChrome paper Table 3`` rows for the four transfer rows only; its three origin
rows (TransferChrome_origin, DeepChrome, ConvChrome) print the same numbers as the paper's Table 2 (single-cell,
56 cells), so they are read from the ``TransferChrome paper Table 2`` rows (``published_source`` says which).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from chromexpr.evaluation.runs import read_history
from chromexpr.evaluation.statistics import MIN_CELLS, TIE_TOLERANCE
from chromexpr.models.display import display_name

ROW_ORDER = (
    "TransferChrome_origin",
    "TransferChrome_uncross",
    "TransferChrome_cross",
    "DeepChrome",
    "DeepChrome_uncross",
    "ConvChrome",
    "ConvChrome_uncross",
)
VARIANTS = ("origin", "uncross", "cross")
#: pairs compared by ``paired_variants``, (a, b) with differences a - b: the two drops against origin, then the
#: gain of the domain classifier over the plain transfer
VARIANT_PAIRS = (("uncross", "origin"), ("cross", "origin"), ("cross", "uncross"))
TABLE3_SOURCE = "TransferChrome paper Table 3"
TABLE2_SOURCE = "TransferChrome paper Table 2"
#: Table 3 origin rows -> the model name of the same numbers in the paper's Table 2 (single cell, 56 cells)
ORIGIN_IN_TABLE2 = {
    "TransferChrome_origin": "TransferChrome",
    "DeepChrome": "DeepChrome",
    "ConvChrome": "ConvChrome_CNN1D",
}
#: the paper's own words on the mean AUROC drops against the single-cell (origin) model, in AUROC points
#: (x 100): "dropped by 2.9%" etc. (cross-cell section); they match the differences of Table 3's means to
#: 0.1 point (DeepChrome: 0.8003 - 0.7737 = 2.66 points, printed as 2.6)
PAPER_TEXT_DROPS = {
    "TransferChrome_uncross": -2.9,
    "TransferChrome_cross": -1.5,
    "DeepChrome_uncross": -2.6,
    "ConvChrome_uncross": -2.9,
}
STATISTICS = ("min", "mean", "max", "median")

PER_TARGET_COLUMNS = [
    "row",
    "base_model",
    "variant",
    "protocol",
    "source",
    "target",
    "seed",
    "test_auroc",
    "n_test",
    "best_epoch",
    "selected_grl_lambda",
]
#: Table 3's means over runs of what the kept weights had seen (column -> per_target column)
SELECTED = {"mean_best_epoch": "best_epoch", "mean_selected_grl_lambda": "selected_grl_lambda"}
TABLE3_COLUMNS = [
    "row",
    "protocol",
    "n_targets",
    "n_seeds",
    *STATISTICS,
    *(f"published_{s}" for s in STATISTICS),
    "delta_mean",
    "published_source",
    *SELECTED,
]
PAIRED_COLUMNS = [
    "base_model",
    "a",
    "b",
    "n_targets",
    "wins",
    "losses",
    "ties",
    "mean_difference",
    "median_difference",
    "p_value",
    "paired_genes",
    "note",
]
DROP_COLUMNS = ["row", "versus", "mean", "versus_mean", "drop", "published_drop", "paper_text_drop"]
CURVE_COLUMNS = ["target", "seed", "epoch", "domain_loss", "domain_accuracy", "grl_lambda", "valid_auroc"]


def row_label(model: str, variant: str) -> str:
    """The Table 3 row of a base model and variant: ``(transferchrome, origin)`` -> ``TransferChrome_origin``,
    ``(deepchrome, origin)`` -> ``DeepChrome``, ``(convchrome, uncross)`` -> ``ConvChrome_uncross``.

    As in the paper only TransferChrome's single-cell row is called ``_origin``; the baselines' is their name.
    """
    name = display_name(model)
    if variant == "origin":
        return f"{name}_origin" if str(model) == "transferchrome" else name
    return f"{name}_{variant}"


def order_rows(rows) -> list[str]:
    """Unique Table 3 labels, ``ROW_ORDER`` first, the rest alphabetically."""
    unique = {str(r) for r in rows}
    return [r for r in ROW_ORDER if r in unique] + sorted(unique - set(ROW_ORDER))


def _base_and_variant(run) -> tuple[str, str]:
    """A transfer run's base model and variant: its ``base_model`` / ``variant`` keys, else from its name."""
    model = str(run["model"])
    variant = run.get("variant")
    if not isinstance(variant, str) or not variant:
        variant = next((v for v in ("uncross", "cross") if model.endswith(f"_{v}")), "uncross")
    base = run.get("base_model")
    if not isinstance(base, str) or not base:
        base = model.removesuffix(f"_{variant}")
    return base, variant


def _value(run, key: str):
    value = run.get(key)
    return None if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else value


def per_target_table(transfer_runs: pd.DataFrame, origin_runs: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """One row per base model x variant x target x seed: the test AUROC of every run behind Table 3.

    ``transfer_runs`` / ``origin_runs`` are ``collect_metrics`` frames. Transfer runs from another source than
    ``source`` are left out. Origin runs (single-cell runs, ``variant`` = ``origin``) are kept for the base
    models and targets that have a transfer run, never for the source cell itself; their ``protocol`` is the
    one of the transfer runs they are compared with. Columns ``PER_TARGET_COLUMNS``; rows in ``ROW_ORDER``,
    then by target and seed.
    """
    rows: list[dict[str, object]] = []
    targets: dict[str, set[str]] = {}
    protocols: dict[tuple[str, str], str] = {}
    for _, run in transfer_runs.iterrows():
        run_source = _value(run, "source")
        if run_source is not None and str(run_source) != source:
            continue
        base, variant = _base_and_variant(run)
        target = str(_value(run, "target") or run["cell"])
        if target == source:
            continue
        protocol = str(_value(run, "protocol") or "")
        targets.setdefault(base, set()).add(target)
        protocols.setdefault((base, target), protocol)
        rows.append(
            {
                "row": row_label(base, variant),
                "base_model": base,
                "variant": variant,
                "protocol": protocol,
                "source": source,
                "target": target,
                "seed": int(run["seed"]),
                "test_auroc": float(run["test_auroc"]),
                "n_test": _value(run, "n_test"),
                "best_epoch": _value(run, "best_epoch"),
                "selected_grl_lambda": _value(run, "selected_grl_lambda"),
            }
        )
    all_protocols = sorted({p for p in protocols.values() if p})
    for _, run in origin_runs.iterrows():
        base, target = str(run["model"]), str(run["cell"])
        if target == source or target not in targets.get(base, set()):
            continue
        rows.append(
            {
                "row": row_label(base, "origin"),
                "base_model": base,
                "variant": "origin",
                "protocol": protocols.get((base, target)) or ", ".join(all_protocols),
                "source": source,
                "target": target,
                "seed": int(run["seed"]),
                "test_auroc": float(run["test_auroc"]),
                "n_test": _value(run, "n_test"),
                "best_epoch": _value(run, "best_epoch"),
                "selected_grl_lambda": None,
            }
        )
    out = pd.DataFrame(rows, columns=PER_TARGET_COLUMNS)
    if out.empty:
        return out
    order = {r: i for i, r in enumerate(order_rows(out["row"]))}
    out = out.assign(_rank=out["row"].map(order)).sort_values(["_rank", "target", "seed"], kind="stable")
    out = out.drop(columns="_rank").reset_index(drop=True)
    out["seed"] = out["seed"].astype(int)
    out["test_auroc"] = out["test_auroc"].astype(float)
    out["n_test"] = pd.array(out["n_test"].tolist(), dtype="Int64")
    out["best_epoch"] = pd.to_numeric(out["best_epoch"], errors="coerce")
    out["selected_grl_lambda"] = pd.to_numeric(out["selected_grl_lambda"], errors="coerce")
    return out


def target_means(per_target: pd.DataFrame) -> pd.DataFrame:
    """Targets x Table 3 rows: the test AUROC averaged over seeds (rows in ``order_rows`` order)."""
    wide = per_target.groupby(["target", "row"])["test_auroc"].mean().unstack("row")
    return wide.reindex(columns=order_rows(per_target["row"])).sort_index()


def published_table3(published: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 3 from the tidy published table: ``row``, ``published_min`` ... ``published_median``,
    ``published_source``. Rows printed under ``TransferChrome paper Table 3`` are taken as they are; an origin row
    missing there comes from the paper's Table 2 summary of the same model (identical numbers in the paper)."""
    cols = ["row", *(f"published_{s}" for s in STATISTICS), "published_source"]
    found: dict[str, dict[str, object]] = {}
    for source, task, names in (
        (TABLE3_SOURCE, "cross_cell", {r: r for r in ROW_ORDER}),
        (TABLE3_SOURCE, "single_cell", {r: r for r in ROW_ORDER}),
        (TABLE2_SOURCE, "single_cell", {v: k for k, v in ORIGIN_IN_TABLE2.items()}),
    ):
        part = published[(published["source"] == source) & (published["task"] == task)]
        part = part[part["cell"].astype(str) == ""] if "cell" in part.columns else part
        for model, group in part.groupby("model", sort=False):
            row = names.get(str(model))
            if row is None or row in found:
                continue
            by_stat = group.set_index("statistic")["value"]
            label = source if source == TABLE3_SOURCE else f"{source} ({model}; printed identically in Table 3)"
            found[row] = {
                "row": row,
                **{f"published_{s}": float(by_stat.get(s, np.nan)) for s in STATISTICS},
                "published_source": label,
            }
    return pd.DataFrame(list(found.values()), columns=cols)


def table3(per_target: pd.DataFrame, published: pd.DataFrame | None) -> pd.DataFrame:
    """The paper's Table 3: one row per Table 3 row present, in ``ROW_ORDER``.

    A target's value is its test AUROC averaged over seeds; ``min`` / ``mean`` / ``max`` / ``median`` are over
    targets. ``n_targets``, ``n_seeds`` (distinct seeds), ``protocol`` (comma-joined when mixed). The published
    columns come from ``published`` (the tidy table of ``read_published``; see ``published_table3``), NaN where
    the paper has no such row or ``published`` is None; ``delta_mean`` = ours - published mean.
    """
    if per_target.empty:
        return pd.DataFrame(columns=TABLE3_COLUMNS)
    wide = target_means(per_target)
    pub = published_table3(published) if published is not None else pd.DataFrame(columns=["row"])
    pub = pub.set_index("row")
    out = []
    for row in wide.columns:
        values = wide[row].dropna()
        runs = per_target[per_target["row"] == row]
        record: dict[str, object] = {
            "row": row,
            "protocol": ", ".join(sorted({str(p) for p in runs["protocol"].dropna() if str(p)})),
            "n_targets": len(values),
            "n_seeds": int(runs["seed"].nunique()),
            "min": values.min(),
            "mean": values.mean(),
            "max": values.max(),
            "median": values.median(),
        }
        for s in STATISTICS:
            record[f"published_{s}"] = float(pub.at[row, f"published_{s}"]) if row in pub.index else np.nan
        record["delta_mean"] = record["mean"] - record["published_mean"]
        record["published_source"] = str(pub.at[row, "published_source"]) if row in pub.index else ""
        # what the kept weights had seen: the epoch selected on validation, and the DANN lambda there
        for name, column in SELECTED.items():
            seen = pd.to_numeric(runs[column], errors="coerce").dropna()
            record[name] = float(seen.mean()) if len(seen) else np.nan
        out.append(record)
    table = pd.DataFrame(out, columns=TABLE3_COLUMNS)
    for c in [*STATISTICS, *(f"published_{s}" for s in STATISTICS), "delta_mean", *SELECTED]:
        table[c] = table[c].astype(float)
    return table


def reported_drops(table: pd.DataFrame) -> pd.DataFrame:
    """The drops of the mean AUROC against the single-cell (origin) model that the paper reports, beside ours.

    One row per transfer row of ``table`` (the output of ``table3``) whose base model has an origin row:
    ``row``, ``versus`` (its origin row), ``mean`` / ``versus_mean`` (ours), ``drop`` (ours: mean - origin mean,
    AUROC), ``published_drop`` (the same from the paper's Table 3 means), ``paper_text_drop`` (the number the
    paper's text states, in AUROC points x 100: -2.9 for TransferChrome_uncross, -1.5 for _cross).
    """
    if table.empty:
        return pd.DataFrame(columns=DROP_COLUMNS)
    by_row = table.set_index("row")
    rows = []
    for row in table["row"]:
        if not (row.endswith("_uncross") or row.endswith("_cross")):
            continue
        name = row.rsplit("_", 1)[0]
        versus = f"{name}_origin" if name == "TransferChrome" else name
        if versus not in by_row.index:
            continue
        rows.append(
            {
                "row": row,
                "versus": versus,
                "mean": float(by_row.at[row, "mean"]),
                "versus_mean": float(by_row.at[versus, "mean"]),
                "drop": float(by_row.at[row, "mean"]) - float(by_row.at[versus, "mean"]),
                "published_drop": float(by_row.at[row, "published_mean"]) - float(by_row.at[versus, "published_mean"]),
                "paper_text_drop": PAPER_TEXT_DROPS.get(row, np.nan),
            }
        )
    return pd.DataFrame(rows, columns=DROP_COLUMNS)


def paired_variants(
    per_target: pd.DataFrame, *, min_targets: int = MIN_CELLS, tie_tolerance: float = TIE_TOLERANCE
) -> pd.DataFrame:
    """The variants of each base model against each other, paired by target (per-target mean over seeds).

    For each base model and each pair of ``VARIANT_PAIRS`` (uncross - origin, cross - origin, cross - uncross)
    both present: ``n_targets`` (targets with both), ``wins`` / ``losses`` / ``ties`` (a above / below / within
    ``tie_tolerance`` of b), ``mean_difference`` and ``median_difference`` (a - b), ``p_value`` (two-sided
    ``scipy.stats.wilcoxon`` on the differences, zero differences dropped; NaN, with the reason in ``note``,
    when fewer than ``min_targets`` differences are non-zero: with 5 even a clean sweep gives p = 0.0625) and
    ``paired_genes`` (True under the ``honest`` protocol, where both are scored on the same test genes).
    """
    if per_target.empty:
        return pd.DataFrame(columns=PAIRED_COLUMNS)
    rows = []
    bases = list(dict.fromkeys(per_target["base_model"]))
    for base in bases:
        runs = per_target[per_target["base_model"] == base]
        wide = runs.groupby(["target", "variant"])["test_auroc"].mean().unstack("variant")
        for a, b in VARIANT_PAIRS:
            if a not in wide.columns or b not in wide.columns:
                continue
            both = wide[[a, b]].dropna()
            diff = np.array(both[a] - both[b], dtype=float)
            diff[np.abs(diff) <= tie_tolerance] = 0.0
            nonzero = int((diff != 0).sum())
            protocols = {str(p) for p in runs.loc[runs["variant"].isin([a, b]), "protocol"].dropna()}
            row: dict[str, object] = {
                "base_model": base,
                "a": a,
                "b": b,
                "n_targets": len(diff),
                "wins": int((diff > 0).sum()),
                "losses": int((diff < 0).sum()),
                "ties": int((diff == 0).sum()),
                "mean_difference": float(diff.mean()) if len(diff) else np.nan,
                "median_difference": float(np.median(diff)) if len(diff) else np.nan,
                "p_value": np.nan,
                "paired_genes": protocols == {"honest"},
                "note": "",
            }
            if len(diff) == 0:
                row["note"] = f"no target has runs of both {a} and {b}"
            elif nonzero == 0:
                row["note"] = "all differences are zero: no test"
            elif nonzero < min_targets:
                row["note"] = f"only {nonzero} non-zero differences (< {min_targets}): too few for a Wilcoxon test"
            else:
                from scipy.stats import wilcoxon  # scipy.stats takes a second to import; only here

                row["p_value"] = float(wilcoxon(diff[diff != 0]).pvalue)
                if nonzero < 6:
                    row["note"] = f"exact test on {nonzero} differences: p cannot be below {2 / 2**nonzero:.4g}"
            if not row["paired_genes"] and len(diff):
                genes = "different test genes (paper protocol)" if "paper" in protocols else "test genes may differ"
                row["note"] = "; ".join(n for n in (row["note"], f"paired by target only: {genes}") if n)
            rows.append(row)
    out = pd.DataFrame(rows, columns=PAIRED_COLUMNS)
    out["paired_genes"] = out["paired_genes"].astype(bool)
    return out


def domain_curves(history_paths_by_target: Mapping[object, str | Path]) -> pd.DataFrame:
    """The domain classifier per epoch, from the cross runs' ``history.tsv``: ``CURVE_COLUMNS``.

    Keys are a target (``"E003"``) or a ``(target, seed)`` pair; ``seed`` is empty where the key gives none.
    A history without ``domain_loss`` / ``domain_accuracy`` / ``grl_lambda`` / ``valid_auroc`` leaves that
    column NaN. ``domain_accuracy`` is the fraction of an adaptation batch's genes whose domain (source or
    target) the classifier gets right: 0.5 means it cannot tell the cells apart.
    """
    parts = []
    for key, path in history_paths_by_target.items():
        target, seed = (key[0], key[1]) if isinstance(key, tuple) else (key, None)
        history = read_history(path)
        part = pd.DataFrame({"target": str(target), "seed": seed}, index=history.index)
        for c in CURVE_COLUMNS[2:]:
            part[c] = history[c].astype(float) if c in history.columns else np.nan
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    out = pd.concat(parts, ignore_index=True)[CURVE_COLUMNS]
    out["seed"] = pd.array([None if s is None else int(s) for s in out["seed"]], dtype="Int64")
    out["epoch"] = out["epoch"].astype(int)
    return out.sort_values(["target", "seed", "epoch"], kind="stable").reset_index(drop=True)
