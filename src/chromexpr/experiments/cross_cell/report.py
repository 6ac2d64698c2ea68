"""The cross-cell section of the report (DeepChrome 2.0, the paper's Figs. 3, 5, 6, 7 and 9).

``build_cross_cell_section`` writes into one folder (``results/report/cross_cell/``; the plan's ``report_files``
lists the names) and renders ``section.html`` from ``section.html.j2`` beside this module, an HTML fragment
(``<section id="cross-cell">``) that the report page in the PARENT folder includes, so its links are
``cross_cell/<file>``:

===================================  ==========================================================================
``experiments.tsv`` / ``.md``         per experiment (baseline, Inclusive/Exclusive-All, -Highly, -Somewhat,
                                      -Random) and target: test AUROC (mean over seeds), training genes and
                                      cells, mean correlation, empty groups, normalized AUROC (Fig. 5)
``experiment_summary.tsv``            per experiment: mean / sd AUROC over targets, mean correlation, mean
                                      training genes (Fig. 6)
``test_on_rest_trend.tsv``            one row: slope, intercept, r, p_value, n of delta AUROC on correlation
``probability_difference.tsv``        Inclusive-All minus single-cell probability per RPKM-rank bin (Fig. 9)
``fig3_correlation`` ... ``fig9_``    PNG + PDF each, redrawn from the TSVs alone (``figures.redraw``)
``section.html``                      the section
===================================  ==========================================================================

``test_on_rest.tsv`` (``evaluate.test_on_rest_table``) is written into the same folder by another job and read
here; the correlation tables ``correlation_{split}.tsv`` live in their own folder (``results/cross_cell/``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chromexpr.errors import InputError
from chromexpr.evaluation.runs import PREDICTIONS_FILE, collect_metrics, gene_set_descriptions, read_predictions
from chromexpr.experiments.cross_cell.evaluate import (
    BASELINE,
    CORRELATION_SPLITS,
    EXPERIMENTS,
    GROUPS,
    MEDIAN_RANK,
    PROBABILITY_COLUMNS,
    TREND_KEYS,
    cross_cell_groups,
    experiment_summary,
    experiment_table,
    probability_difference,
    read_groups,
    test_on_rest_trend,
)
from chromexpr.experiments.cross_cell.figures import (
    TEST_ON_REST_FILE,
    draw_section_figures,
    experiment_label,
    read_correlation,
    read_test_on_rest,
    trend_text,
)
from chromexpr.reporting.environment import render_section
from chromexpr.reporting.files import write_text, write_tsv
from chromexpr.reporting.formatting import fmt, format_p, html_table, markdown, plural
from chromexpr.reporting.notes import budget_note

SECTION_TITLE = "Cross-cell prediction (DeepChrome 2.0)"
#: with fewer target cells the section says its numbers cannot test the paper's claims (the paper: 56)
MIN_TARGETS_FOR_CLAIMS = 10
#: the paper's Test-on-Rest claim, quoted
PAPER_CLAIM = "the trend line has a small slope and an insignificant r value"
SIGNIFICANCE = 0.05


# ---------------------------------------------------------------------------------------------------
# display tables


def _auroc_text(value: float, empty: bool) -> str:
    if empty:
        return "empty"
    return "not run" if not np.isfinite(value) else f"{value:.4f}"


def summary_display(summary: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Per experiment: the training cells (range over targets), mean correlation, genes, mean ± sd AUROC."""
    rows = []
    for s in summary.itertuples(index=False):
        rows_of = table[(table["experiment"] == s.experiment) & ~table["empty"]]
        cells = pd.to_numeric(rows_of["n_train_cells"], errors="coerce").dropna().astype(int)
        span = (
            "" if cells.empty else (str(cells.min()) if cells.min() == cells.max() else f"{cells.min()}–{cells.max()}")
        )
        n_empty = int(table[(table["experiment"] == s.experiment)]["empty"].sum())
        auroc = (
            ""
            if not np.isfinite(s.mean_auroc)
            else (f"{s.mean_auroc:.4f} ± {s.sd_auroc:.4f}" if np.isfinite(s.sd_auroc) else f"{s.mean_auroc:.4f}")
        )
        rows.append(
            {
                "experiment": experiment_label(s.experiment),
                "run": s.experiment,
                "targets": str(int(s.n_targets)),
                "empty": str(n_empty) if n_empty else "",
                "training cells": span,
                "mean correlation": fmt(float(s.mean_correlation), 3),
                "mean training genes": "" if not np.isfinite(s.mean_n_train) else f"{s.mean_n_train:,.0f}",
                "test AUROC mean ± sd": auroc,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "experiment",
            "run",
            "targets",
            "empty",
            "training cells",
            "mean correlation",
            "mean training genes",
            "test AUROC mean ± sd",
        ],
    )


def experiments_display(table: pd.DataFrame) -> pd.DataFrame:
    """Experiments x targets: test AUROC (mean over seeds); ``empty`` where the group has no other cell."""
    targets = list(dict.fromkeys(table["target"]))
    experiments = [e for e in EXPERIMENTS if e in set(table["experiment"])]
    out: dict[str, list[str]] = {"experiment": [experiment_label(e) for e in experiments]}
    index = table.set_index(["experiment", "target"])
    for target in targets:
        column = []
        for e in experiments:
            if (e, target) in index.index:
                row = index.loc[(e, target)]
                column.append(_auroc_text(float(row["test_auroc"]), bool(row["empty"])))
            else:
                column.append("")
        out[target] = column
    return pd.DataFrame(out)


# ---------------------------------------------------------------------------------------------------
# the section


def _empty_groups(groups: pd.DataFrame) -> list[dict[str, Any]]:
    """Per group with empty entries: the group and its targets without another cell."""
    out = []
    for group in GROUPS:
        rows = groups[(groups["group"] == group) & groups["empty"]]
        targets = list(dict.fromkeys(rows["target"]))
        if targets:
            out.append({"group": group.capitalize(), "targets": ", ".join(targets), "n": len(targets)})
    return out


def _group_mismatches(
    groups: pd.DataFrame,
    correlation: pd.DataFrame,
    thresholds: tuple[float, float],
    random_size: int | None,
    random_seed: int | None,
) -> list[str]:
    """Where ``groups`` differs from what the thresholds give on ``correlation`` (empty when it agrees)."""
    cells = list(dict.fromkeys(correlation["cell_a"].astype(str)))
    targets = list(dict.fromkeys(groups["target"]))
    check_random = random_size is not None and random_seed is not None
    try:
        expected = cross_cell_groups(
            correlation,
            cells,
            targets,
            highly=thresholds[0],
            somewhat=thresholds[1],
            random_size=random_size if check_random else 1,
            seed=random_seed if check_random else 0,
        )
    except InputError as err:
        return [f"cannot recompute the groups: {err.message}"]
    mine = groups.set_index(["target", "run"])["cells"]
    theirs = expected.set_index(["target", "run"])["cells"]
    out = []
    for key, cells_expected in theirs.items():
        if key[1].startswith("random_") and not check_random:
            continue
        got = mine.get(key)
        if got is None:
            out.append(f"{key[0]} {key[1]}: missing")
        elif set(filter(None, str(got).split(","))) != set(filter(None, cells_expected.split(","))):
            out.append(f"{key[0]} {key[1]}: {got or '(empty)'} instead of {cells_expected or '(empty)'}")
    return out


def _trend_sentence(trend: Mapping[str, float]) -> str:
    n = int(trend.get("n", 0) or 0)
    r, p, slope = trend.get("r", math.nan), trend.get("p_value", math.nan), trend.get("slope", math.nan)
    if not np.isfinite(r) or not np.isfinite(slope):
        return f"With {plural(n, 'pair')} there is no trend line (it needs at least 3 pairs at different correlations)."
    stats = f"r = {r:.2f}, slope = {slope:.3g} AUROC per unit of normalized correlation, p = {format_p(p)}, n = {n}"
    if p >= SIGNIFICANCE:
        verdict = (
            f"Here too the relationship is not significant ({stats}): consistent with the paper's "
            f'"{PAPER_CLAIM}" (no relationship between cross-cell transfer and expression correlation).'
        )
    else:
        direction = "positive: models transfer better between more correlated cells" if slope > 0 else "negative"
        verdict = (
            f"Here the trend is significant at p < {SIGNIFICANCE} and {direction} ({stats}), unlike the paper's "
            f'"{PAPER_CLAIM}".'
        )
    return (
        f"{verdict} Over the whole normalized range (0 to 1) the fitted change in AUROC moves by {slope:+.3f}. "
        "The pairs share cells, so they are not independent and the p-value of the regression "
        "(scipy.stats.linregress) is optimistic."
    )


def _probability_sentence(bins: pd.DataFrame) -> str:
    """The mean difference below and above the median cutoff, weighted by genes per bin."""
    n = pd.to_numeric(bins["n_genes"], errors="coerce").fillna(0)
    if n.sum() == 0:
        return "No test gene has predictions from both models."
    mean = pd.to_numeric(bins["mean_difference"], errors="coerce").fillna(0.0)
    center = pd.to_numeric(bins["bin_center"], errors="coerce")
    parts = []
    for name, mask in (("below", center < MEDIAN_RANK), ("above", center >= MEDIAN_RANK)):
        k = float(n[mask].sum())
        if k:
            parts.append(f"{name} the median cutoff {float((mean[mask] * n[mask]).sum() / k):+.3f} ({int(k):,} genes)")
    return (
        "Mean difference (Inclusive-All − single-cell probability) "
        + "; ".join(parts)
        + ". The paper finds Inclusive-All predicts low expression more confidently (a negative difference at low "
        "RPKM) and no substantial shift near the cutoff."
    )


def _predictions(runs: pd.DataFrame) -> pd.DataFrame:
    """``target``, ``gene_id``, ``probability`` of the test genes of every run (its ``cell``)."""
    parts = []
    for run in runs.itertuples(index=False):
        pred = read_predictions(Path(str(run.path)).parent / PREDICTIONS_FILE)
        test = pred[pred["split"] == "test"]
        parts.append(
            pd.DataFrame({"target": str(run.cell), "gene_id": test["gene_id"], "probability": test["probability"]})
        )
    if not parts:
        return pd.DataFrame(columns=["target", "gene_id", "probability"])
    return pd.concat(parts, ignore_index=True)


def build_cross_cell_section(
    *,
    run_metrics: Sequence[str | Path],
    baseline_metrics: Sequence[str | Path],
    groups: str | Path,
    correlations: Mapping[str, str | Path],
    expression: str | Path,
    test_on_rest: str | Path,
    out_dir: str | Path,
    model: str = "deepchrome_avgpool",
    correlation_split: str = "train",
    thresholds: tuple[float, float] = (0.75, 0.5),
    random_size: int | None = None,
    random_seed: int | None = None,
    source_kind: str | None = None,
) -> dict[str, Path]:
    """Write the cross-cell section's tables, figures and ``section.html`` into ``out_dir``.

    Args:
        run_metrics: the cross-cell runs' ``metrics.json`` (keys ``run``, ``cell`` = target, ``seed``, ...;
            ``predictions.tsv.gz`` beside each ``all_inclusive`` run is read for Fig. 9).
        baseline_metrics: the single-cell runs' ``metrics.json``; those of ``model`` are the baseline
            (their ``predictions.tsv.gz`` too).
        groups: the groups TSV (``cross_cell_groups``).
        correlations: split -> ``correlation_{split}.tsv`` (``correlation_tables``).
        expression: ``expression.tsv.gz`` (``expression_table``).
        test_on_rest: ``test_on_rest.tsv`` (``test_on_rest_table``).
        out_dir: the section folder (created), a child of the report folder: the HTML links are
            ``{out_dir.name}/<file>``.
        model: the cross-cell model.
        correlation_split: the split whose correlation defined the groups (and Test-on-Rest's x axis).
        thresholds: (highly, somewhat) normalized-correlation thresholds the groups used.
        random_size: the Random group's size (None: inferred from the groups, the largest random group).
        random_seed: the seed of the Random draws (None: not recorded; the groups are not re-checked).
        source_kind: the data source (``demo``, ``remc``, ...): ``demo`` adds the simulated-data warning.

    Returns:
        file name -> written path for every name of the plan's ``report_files()``, each written atomically.
    """
    out_dir = Path(out_dir)
    correlation_paths = {str(k): Path(v) for k, v in correlations.items()}
    if correlation_split not in correlation_paths:
        raise InputError(
            f"correlation split {correlation_split!r} not among the correlation tables ({', '.join(correlation_paths)})",
            key="experiments.cross_cell.correlation_split",
            hint="one of train, valid, test, with its correlation_{split}.tsv",
        )
    runs = collect_metrics(run_metrics, keys=("run", "cell", "seed"))
    other_models = sorted({str(m) for m in runs["model"]} - {model}) if not runs.empty else []
    if other_models:
        raise InputError(
            f"cross-cell runs of model(s) {', '.join(other_models)}, expected {model} only",
            hint="pass the cross-cell runs of one model (experiments.cross_cell.model)",
        )
    baseline_all = collect_metrics(baseline_metrics)
    baseline = baseline_all[baseline_all["model"] == model] if not baseline_all.empty else baseline_all
    group_table = read_groups(str(groups))
    targets = list(dict.fromkeys(group_table["target"]))
    tables = {split: read_correlation(path) for split, path in correlation_paths.items()}
    correlation = tables[correlation_split]
    expression_frame = pd.read_csv(expression, sep="\t", dtype={"gene_id": str, "split": str})
    rest = read_test_on_rest(Path(test_on_rest))

    table = experiment_table(runs, baseline, group_table)
    summary = experiment_summary(table)
    trend = test_on_rest_trend(rest)
    all_runs = runs[runs["run"] == "all_inclusive"] if not runs.empty else runs
    base_runs = baseline[baseline["cell"].astype(str).isin(targets)] if not baseline.empty else baseline
    bins = probability_difference(_predictions(base_runs), _predictions(all_runs), expression_frame)

    written: dict[str, Path] = {}

    def put(name: str, write, content) -> None:
        written[name] = write(out_dir / name, content)

    put("experiments.tsv", write_tsv, table)
    put("experiment_summary.tsv", write_tsv, summary)
    put("test_on_rest_trend.tsv", write_tsv, pd.DataFrame([trend], columns=list(TREND_KEYS)))
    put("probability_difference.tsv", write_tsv, bins[list(PROBABILITY_COLUMNS)])
    shown = summary_display(summary, table)
    wide = experiments_display(table)
    put(
        "experiments.md",
        write_text,
        f"# {SECTION_TITLE}\n\n## Per experiment (Fig. 6)\n\n{markdown(shown)}\n"
        "Mean and sd over the targets with a run; *empty*: targets for which no other cell passes the group's "
        "threshold (no run). Mean correlation: the training cells' mean normalized correlation to the target "
        f"(split {correlation_split}).\n\n## Per experiment and target: test AUROC, mean over seeds (Fig. 5)\n\n"
        f"{markdown(wide)}\n",
    )
    correlations_for_figures = {s: tables[s] for s in CORRELATION_SPLITS if s in tables}
    correlations_for_figures.update({s: t for s, t in tables.items() if s not in correlations_for_figures})
    for path in draw_section_figures(out_dir, correlations_for_figures, out_dir):
        written[path.name] = path

    n_targets = len(targets)
    cells = list(dict.fromkeys(correlation["cell_a"].astype(str))) if not correlation.empty else []
    random_rows = group_table[(group_table["run"] == "random_exclusive") & ~group_table["empty"]]
    inferred_size = int(random_rows["n_cells"].max()) if not random_rows.empty else None
    mismatches = (
        _group_mismatches(group_table, correlation, thresholds, random_size, random_seed)
        if not correlation.empty
        else []
    )
    frames = [r for r in (runs, baseline) if not r.empty]
    combined = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    notes = []
    if n_targets < MIN_TARGETS_FOR_CLAIMS:
        notes.append(
            f"Only {plural(n_targets, 'target cell')} (the paper: 56): too few for these numbers to support or "
            "contradict the paper's conclusions; they show that the pipeline runs."
        )
    note = budget_note(combined, source_kind) if not combined.empty else ""
    if note:
        notes.append(note)
    seeds = sorted({int(s) for s in runs["seed"].dropna()}) if not runs.empty else []
    prefix = f"{out_dir.name}/"
    context = {
        "title": SECTION_TITLE,
        "prefix": prefix,
        "gene_sets": gene_set_descriptions(pd.concat([runs, baseline], ignore_index=True)),
        "model": model,
        "split": correlation_split,
        "highly": thresholds[0],
        "somewhat": thresholds[1],
        "random_size": random_size if random_size is not None else inferred_size,
        "random_size_inferred": random_size is None,
        "random_seed": random_seed,
        "n_cells": len(cells),
        "cells": ", ".join(cells),
        "n_targets": n_targets,
        "targets": ", ".join(targets),
        "n_runs": len(runs),
        "seeds": ", ".join(str(s) for s in seeds),
        "n_baseline": len(base_runs),
        "empty_groups": _empty_groups(group_table),
        "mismatches": mismatches[:8],
        "n_mismatches": len(mismatches),
        "notes": notes,
        "trend": {k: trend[k] for k in TREND_KEYS},
        "trend_text": trend_text(trend),
        "trend_sentence": _trend_sentence(trend),
        "n_pairs": len(rest),
        "probability_sentence": _probability_sentence(bins),
        "median_rank": MEDIAN_RANK,
        "baseline_label": experiment_label(BASELINE),
        "tables": {"summary": html_table(shown), "experiments": html_table(wide)},
        "test_on_rest_file": TEST_ON_REST_FILE,
    }
    put("section.html", write_text, render_section(__file__, context))
    return written
