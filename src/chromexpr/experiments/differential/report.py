"""The report section of the differential-expression experiment (DeepDiff Table 1 and Figs. 4-5): the tables
(``evaluate``), the figures (``figures``) and ``section.html`` (``section.html.j2``).

Input: the differential runs' ``metrics.json`` (``results/runs/differential/{model}/{cell_a}_vs_{cell_b}/seed{n}/``,
with ``predictions.tsv.gz``, ``attention.npz`` and ``history.tsv`` beside each). ``build_differential_section``
writes into one folder, ``differential/`` beside the report's ``index.html`` (the plan's ``report_files`` lists
them):

===========================================  ================================================================
``per_pair.tsv``                              per model and pair: test PCC (mean, sd over seeds), seeds, epochs,
                                              convergence, parameters, the best variant flagged
``runs.tsv``                                  per run: the ``metrics.json`` keys (``selection`` as JSON)
``relative_pcc.tsv``                          per variant, reference and pair: 100 x PCC / PCC(reference)
``table1.tsv`` / ``.md``                      Table 1: mean / median relative PCC (%) over pairs, the paper's
                                              numbers beside, pairs counted and excluded
``claims.tsv``                                the paper's statements on Fig. 4, counted on our pairs
``lfc_counts.tsv``                            per pair: test genes, up- / down-regulated beyond the threshold
``attention.tsv``                             Fig. 5: mean mark attention per model, slot and direction
``scatter.tsv.gz``                            predicted and true test LFC of the best variant and the SVR
``fig4_pcc_per_pair.{png,pdf}``               Fig. 4 (``figures.redraw``, from the tables only)
``fig5_attention.{png,pdf}``                  Fig. 5
``scatter_lfc.{png,pdf}``                     predicted against true LFC per pair
``section.html``                              an HTML fragment ``<section id="differential">`` for the report
                                              page; its links are relative to the page (``differential/...``)
===========================================  ================================================================
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from chromexpr.errors import InputError
from chromexpr.evaluation.runs import gene_set_descriptions
from chromexpr.experiments.differential.evaluate import (
    ATTENTION_TABLE_COLUMNS,
    CARDS,
    PAPER_ATTENTION_PAIR,
    PAPER_PAIRS,
    PAPER_THRESHOLD,
    REFERENCE_COLUMN_NAMES,
    REFERENCES,
    SCATTER_COLUMNS,
    TABLE1_CITATION,
    attention_by_direction,
    best_variant_per_pair,
    collect_differential_metrics,
    direction_counts,
    model_kind,
    paper_claims,
    per_pair_table,
    read_predictions,
    relative_pcc,
    run_file,
    scatter_rows,
    table1,
)
from chromexpr.experiments.differential.figures import (
    BEST_ROLE,
    NOISE_SPREAD,
    SVR_ROLE,
    attention_spread,
    pair_label,
    percent_text,
    redraw,
)
from chromexpr.experiments.differential.plan import SECTION, pair_name
from chromexpr.experiments.differential.plan import report_files as differential_report_files
from chromexpr.models.display import display_name, order_models
from chromexpr.reporting.environment import render_section
from chromexpr.reporting.files import write_text, write_tsv
from chromexpr.reporting.formatting import fmt, html_table, markdown, plural
from chromexpr.reporting.notes import SHORT_BUDGET_EPOCHS

#: the section's folder, beside the report's index.html (its links start with it)
SECTION_DIR = SECTION
SECTION_TITLE = "Differential expression (DeepDiff, Table 1 and Figs. 4-5)"
#: fewer up- or down-regulated test genes than this and the section says Fig. 5 cannot support the paper's reading
MIN_ATTENTION_GENES = 20
COUNT_COLUMNS = ["pair", "n_test", "up", "down", "threshold", "from_run"]
ATTENTION_FILE = "attention.npz"
PREDICTIONS_FILE = "predictions.tsv.gz"


# ---------------------------------------------------------------------------------------------------
# display tables


def _pct(value: object) -> str:
    v = float(value) if value is not None and value is not pd.NA else math.nan
    return "" if math.isnan(v) else f"{v:.2f}"


def _int(value: object) -> str:
    return (
        "" if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else f"{int(value):,}"
    )


def table1_display(t1: pd.DataFrame) -> pd.DataFrame:
    """Table 1 in the paper's layout: one row per variant, per reference ours (mean, median, pairs) beside the
    paper's (mean, median); the excluded pairs in a last column."""
    if t1.empty:
        return pd.DataFrame()
    rows = []
    for variant in list(dict.fromkeys(t1["variant"])):
        part = t1[t1["variant"] == variant].set_index("reference")
        row: dict[str, str] = {"method": display_name(variant)}
        notes = []
        for reference in part.index:
            r = part.loc[reference]
            short = REFERENCE_COLUMN_NAMES.get(reference, display_name(reference))
            row[f"vs {short}: mean"] = _pct(r["mean_relative_pcc"])
            row[f"vs {short}: paper mean"] = _pct(r["published_mean"])
            row[f"vs {short}: median"] = _pct(r["median_relative_pcc"])
            row[f"vs {short}: paper median"] = _pct(r["published_median"])
            row[f"vs {short}: pairs"] = str(int(r["n_pairs"]))
            if int(r["n_excluded"]):
                notes.append(f"vs {short}, left out: {r['excluded']}")
        row["excluded pairs"] = "; ".join(notes)
        rows.append(row)
    return pd.DataFrame(rows)


def per_pair_display(per_pair: pd.DataFrame) -> pd.DataFrame:
    """Pairs x models: mean test PCC ± sd over seeds; the best variant of each pair marked ``*``."""
    if per_pair.empty:
        return pd.DataFrame()
    text = []
    for m, s, best in zip(
        per_pair["test_pearson_mean"].astype(float),
        per_pair["test_pearson_sd"].astype(float),
        per_pair["is_best_variant"].astype(bool),
        strict=True,
    ):
        value = "n/a" if math.isnan(m) else (f"{m:.3f} ± {s:.3f}" if not math.isnan(s) else f"{m:.3f}")
        text.append(value + (" *" if best else ""))
    wide = per_pair.assign(text=text).pivot_table(index="pair", columns="model", values="text", aggfunc="first")
    wide = wide.reindex(index=list(dict.fromkeys(per_pair["pair"])), columns=order_models(per_pair["model"]))
    wide = wide.fillna("").rename(columns=display_name)
    wide.columns.name = None
    wide.index = [pair_label(p) for p in wide.index]
    return wide.rename_axis("pair").reset_index()


def convergence_display(per_pair: pd.DataFrame) -> pd.DataFrame:
    """Per model, over its pairs: seeds, parameters, epochs run and best epoch (ranges), how the runs stopped."""
    rows = []
    for model in order_models(per_pair["model"]):
        part = per_pair[per_pair["model"] == model]
        n_runs = int(part["n_seeds"].sum())

        seeds = sorted({s for text in part["seeds"].astype(str) for s in text.split(",") if s})
        single = bool((part["stop"].astype(str) == "single fit").all())
        rows.append(
            {
                "model": display_name(model),
                "kind": model_kind(model),
                "framework": ", ".join(sorted({str(f) for f in part["framework"] if str(f) and str(f) != "nan"})),
                "pairs": str(len(part)),
                "seeds": ", ".join(sorted(seeds, key=lambda s: int(s) if s.lstrip("-").isdigit() else 0)),
                "parameters": ", ".join(sorted({_int(p) for p in part["parameters"] if _int(p)})) or "",
                "epochs run": "" if single else _span(part, "epochs_run"),
                "max_epochs": "" if single else _span(part, "max_epochs"),
                "best epoch": "" if single else _span(part, "best_epoch"),
                "stopped early": "" if single else f"{int(part['n_stopped_early'].sum())} of {n_runs}",
                "at max_epochs": "" if single else f"{int(part['n_at_max_epochs'].sum())} of {n_runs}",
            }
        )
    return pd.DataFrame(rows)


def _span(part: pd.DataFrame, column: str) -> str:
    """``12`` or ``8-15``: the range of an integer column; empty when unknown."""
    values = pd.to_numeric(part[column], errors="coerce").dropna()
    if values.empty:
        return ""
    lo, hi = int(values.min()), int(values.max())
    return str(lo) if lo == hi else f"{lo}-{hi}"


def claims_display(claims: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {"the paper says": claims["claim"], "paper (10 pairs)": claims["paper"], "ours": claims["ours"]}
    )


def attention_display(attention: pd.DataFrame) -> pd.DataFrame:
    """Per model and slot: mean attention of up- and down-regulated genes (the numbers of Fig. 5)."""
    if attention.empty:
        return pd.DataFrame()
    rows = []
    for model in list(dict.fromkeys(attention["model"])):
        part = attention[attention["model"] == model]
        for index in sorted(part["slot_index"].unique()):
            slot = part[part["slot_index"] == index]
            up = slot[slot["direction"] == "up"]
            down = slot[slot["direction"] == "down"]
            rows.append(
                {
                    "model": display_name(model),
                    "slot": str(slot["slot"].iloc[0]),
                    "up: mean attention": fmt(float(up["mean_attention"].iloc[0])) if len(up) else "",
                    "down: mean attention": fmt(float(down["mean_attention"].iloc[0])) if len(down) else "",
                    "up genes": _int(up["n_genes"].iloc[0]) if len(up) else "0",
                    "down genes": _int(down["n_genes"].iloc[0]) if len(down) else "0",
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------
# the tables behind the figures


def _attention_table(runs: pd.DataFrame, pair: str, threshold: float) -> tuple[pd.DataFrame, list[str]]:
    """Fig. 5's table for ``pair``: per model with ``attention.npz``, the direction means averaged over seeds.
    Also the models of the pair whose runs have no attention file (for the section's note)."""
    parts = []
    without = []
    for model in order_models(runs["model"]):
        model_runs = runs[(runs["model"] == model) & (runs["pair"] == pair)].sort_values("seed")
        if model_runs.empty:
            continue
        per_seed = []
        for path in model_runs["path"]:
            npz = run_file(path, ATTENTION_FILE)
            if npz.is_file():
                per_seed.append(attention_by_direction(npz, threshold=threshold))
        if not per_seed:
            if model_kind(model) == "variant" or model == "attentivechrome_diff":
                without.append(model)
            continue
        first = per_seed[0].copy()
        if len(per_seed) > 1:
            stacked = np.vstack([p["mean_attention"].to_numpy(dtype=float) for p in per_seed])
            with np.errstate(all="ignore"):
                first["mean_attention"] = np.nanmean(stacked, axis=0) if np.isfinite(stacked).any() else np.nan
        first.insert(0, "n_seeds", len(per_seed))
        first.insert(0, "pair", pair)
        first.insert(0, "name", display_name(model))
        first.insert(0, "model", model)
        parts.append(first)
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ATTENTION_TABLE_COLUMNS)
    return table[ATTENTION_TABLE_COLUMNS], without


def _lfc_counts(runs: pd.DataFrame, pairs: Sequence[str], threshold: float, attention: pd.DataFrame) -> pd.DataFrame:
    """Per pair: test genes and those beyond +/- ``threshold``, from the first run with test predictions."""
    rows = []
    for pair in pairs:
        for _, run in runs[runs["pair"] == pair].sort_values(["model", "seed"]).iterrows():
            path = run_file(run["path"], PREDICTIONS_FILE)
            if not path.is_file():
                continue
            counts = direction_counts(read_predictions(path)["lfc"], threshold=threshold)
            rows.append(
                {
                    "pair": pair,
                    "n_test": counts["all"],
                    "up": counts["up"],
                    "down": counts["down"],
                    "threshold": threshold,
                    "from_run": f"{run['model']}/seed{run['seed']}",
                }
            )
            break
        else:
            part = attention[attention["pair"] == pair] if not attention.empty else attention
            if len(part):
                up = int(part.loc[part["direction"] == "up", "n_genes"].max())
                down = int(part.loc[part["direction"] == "down", "n_genes"].max())
                rows.append(
                    {
                        "pair": pair,
                        "n_test": pd.NA,
                        "up": up,
                        "down": down,
                        "threshold": threshold,
                        "from_run": "attention",
                    }
                )
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)


def _scatter_table(runs: pd.DataFrame, best: pd.DataFrame, pairs: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """The lowest seed of each pair's best variant and of the two-layer SVR, their test predictions."""
    parts, missing = [], []
    winners = dict(zip(best["pair"], best["model"], strict=True))
    for pair in pairs:
        for role, model in ((BEST_ROLE, winners.get(pair)), (SVR_ROLE, "svr_two_layer")):
            if model is None:
                continue
            model_runs = runs[(runs["model"] == model) & (runs["pair"] == pair)].sort_values("seed")
            if model_runs.empty:
                continue
            run = model_runs.iloc[0]
            path = run_file(run["path"], PREDICTIONS_FILE)
            if not path.is_file():
                missing.append(f"{model}/{pair}/seed{run['seed']}")
                continue
            parts.append(scatter_rows(read_predictions(path), pair=pair, model=model, role=role, seed=int(run["seed"])))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=SCATTER_COLUMNS)
    return table, missing


# ---------------------------------------------------------------------------------------------------
# the section


def _median_count(runs: pd.DataFrame, key: str) -> int | None:
    if key not in runs.columns:
        return None
    values = pd.to_numeric(runs[key], errors="coerce").dropna()
    return int(values.median()) if len(values) else None


def _budget_note(runs: pd.DataFrame) -> str:
    """The short-budget warning of this section: like ``chromexpr.reporting.notes.budget_note`` but about PCCs,
    with the paper's epoch count, and without the demo sentence (the section has its own ``demo_note``)."""
    budgets = sorted({int(v) for v in runs["max_epochs"].dropna()}) if "max_epochs" in runs.columns else []
    if not budgets or max(budgets) >= SHORT_BUDGET_EPOCHS:
        return ""
    epochs = " / ".join(str(b) for b in budgets)
    return (
        f"The epoch budget is {epochs} epoch{'s' if budgets != [1] else ''} (max_epochs; the paper trains ~90-120): "
        "these PCCs compare how far each model gets after a few epochs, not the architectures."
    )


def _ordered_pairs(pairs: Sequence[tuple[str, str]]) -> list[str]:
    names = []
    for item in pairs:
        if isinstance(item, str):
            names.append(item)
            continue
        if len(item) != 2:
            raise InputError(f"a pair is two cells, got {item!r}", key="differential.pairs")
        names.append(pair_name(str(item[0]), str(item[1])))
    return list(dict.fromkeys(names))


def build_differential_section(
    *,
    metrics: Sequence[str | Path],
    out_dir: str | Path,
    pairs: Sequence[tuple[str, str]],
    models: Sequence[str],
    attention_pair: tuple[str, str] | None,
    lfc_threshold: float = PAPER_THRESHOLD,
    published: object = CARDS,
    source_kind: str | None = None,
    link_prefix: str = f"{SECTION_DIR}/",
) -> dict[str, Path]:
    """Write Table 1, the per-pair tables, Figs. 4-5, the LFC scatter and ``section.html``.

    Args:
        metrics: the differential runs' ``metrics.json`` (``predictions.tsv.gz`` / ``attention.npz`` are read from
            the same folders). Runs of other pairs or models than configured are left out (the section names them).
        out_dir: the section's folder (created), ``differential/`` beside the report's ``index.html``.
        pairs: the configured cell pairs (A, B), in the order the tables and figures show them.
        models: the configured models (variants and baselines).
        attention_pair: the pair of Fig. 5 (the paper: E116, E123); ``None``: no attention analysis.
        lfc_threshold: Fig. 5's |LFC| threshold (the paper: 8).
        published: the paper's Table 1: ``CARDS`` (the DeepDiff cards' numbers), a frame, or the path of
            ``published_summary.tsv`` (``evaluate.published_table1``); ``None`` leaves the paper's columns empty.
        source_kind: the data source (``demo`` adds the simulated-reads warning), when known.
        link_prefix: how the page holding the fragment reaches ``out_dir`` (images and file links).

    Returns:
        file name -> written path, for every name of the plan's ``report_files``; each written atomically.
    """
    threshold = float(lfc_threshold)
    if not math.isfinite(threshold) or threshold < 0:
        raise InputError(
            f"the LFC threshold must be a number >= 0, got {lfc_threshold!r}", key="differential.lfc_threshold"
        )
    pair_names = _ordered_pairs(pairs)
    wanted_models = [str(m) for m in models]
    all_runs = collect_differential_metrics(metrics)
    keep = all_runs["pair"].isin(pair_names) & all_runs["model"].isin(wanted_models)
    runs = all_runs[keep].reset_index(drop=True)
    ignored = sorted(
        {f"{m}/{p}" for m, p in zip(all_runs.loc[~keep, "model"], all_runs.loc[~keep, "pair"], strict=True)}
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    per_pair = per_pair_table(runs, pairs=pair_names)
    rel = relative_pcc(per_pair)
    t1 = table1(per_pair, published=published)
    best = best_variant_per_pair(per_pair)
    claims = paper_claims(per_pair)

    attention_name = pair_name(*attention_pair) if attention_pair is not None else None
    if attention_name is not None and not runs.empty:
        attention, attention_without = _attention_table(runs, attention_name, threshold)
    else:
        attention, attention_without = pd.DataFrame(columns=ATTENTION_TABLE_COLUMNS), []
    counts = (
        _lfc_counts(runs, pair_names, threshold, attention) if not runs.empty else pd.DataFrame(columns=COUNT_COLUMNS)
    )
    scatter, scatter_missing = (
        _scatter_table(runs, best, pair_names) if not runs.empty else (pd.DataFrame(columns=SCATTER_COLUMNS), [])
    )

    written: dict[str, Path] = {}

    def put(name: str, write, content) -> None:
        written[name] = write(out_dir / name, content)

    run_table = runs.drop(columns=["path"]) if "path" in runs.columns else runs
    put("per_pair.tsv", write_tsv, per_pair)
    put("runs.tsv", write_tsv, run_table)
    put("relative_pcc.tsv", write_tsv, rel)
    put("table1.tsv", write_tsv, t1)
    put("claims.tsv", write_tsv, claims)
    put("lfc_counts.tsv", write_tsv, counts)
    put("attention.tsv", write_tsv, attention)
    put("scatter.tsv.gz", write_tsv, scatter)
    n_pairs = int(per_pair["pair"].nunique()) if not per_pair.empty else 0
    put(
        "table1.md",
        write_text,
        "# Table 1: relative PCC (%) of the DeepDiff variants against the two best baselines\n\n"
        + (markdown(table1_display(t1)) if not t1.empty else "No variant and reference with runs on a common pair.\n")
        + f"\nRelative PCC (%) = 100 x PCC(variant) / PCC(baseline) per pair (PCC: mean over seeds on the test genes), "
        f"then the mean and median over our {plural(n_pairs, 'pair')}; a pair with a baseline PCC <= 0 is left out "
        f"of that baseline's columns. paper: {TABLE1_CITATION}.\n",
    )
    for path in redraw(out_dir):
        written[path.name] = path

    # ---- the wording
    configured = [(m, p) for m in order_models(wanted_models) for p in pair_names]
    have = set(zip(runs["model"], runs["pair"], strict=True)) if not runs.empty else set()
    missing_runs = [f"{display_name(m)} on {pair_label(p)}" for m, p in configured if (m, p) not in have]
    if len(missing_runs) > 12:
        missing_runs = [*missing_runs[:12], f"… ({len(missing_runs)} model × pair combinations in all)"]
    claims_note = ""
    if n_pairs < PAPER_PAIRS:
        claims_note = (
            f"Only {plural(n_pairs, 'cell pair')} with runs (the paper has {PAPER_PAIRS}, 18,460 genes each): these "
            "numbers cannot support or refute the paper's claims (Table 1's relative PCCs, the best variant per pair, "
            "Raw: d the worst in 9 of 10 pairs). They show that the experiment runs end to end."
        )
    demo_note = ""
    if source_kind == "demo":
        demo_note = (
            "The histone-mark reads are simulated on real genes, so the PCCs and attention weights say nothing about "
            f"real cells; the paper uses REMC reads of {PAPER_PAIRS} cell pairs, this report "
            f"{plural(len(pair_names), 'configured pair')} ({', '.join(pair_label(p) for p in pair_names)})."
        )
    threshold_text = f"{threshold:g}"
    attention_counts = ""
    attention_note = ""
    tops: list[str] = []
    if attention_name is not None:
        row = counts[counts["pair"] == attention_name]
        if len(row):
            up, down, n_test = int(row["up"].iloc[0]), int(row["down"].iloc[0]), row["n_test"].iloc[0]
            of = f" of {int(n_test):,} test genes" if n_test is not pd.NA and not pd.isna(n_test) else ""
            attention_counts = (
                f"{plural(up, 'up-regulated gene')} (LFC > {threshold_text}) and "
                f"{plural(down, 'down-regulated gene')} (LFC < -{threshold_text}){of}"
            )
            if min(up, down) < MIN_ATTENTION_GENES:
                attention_note = (
                    f"With {up} up- and {down} down-regulated test genes (fewer than {MIN_ATTENTION_GENES} in a "
                    "direction), these attention means cannot support or refute the paper's reading of Fig. 5."
                )
        else:
            attention_counts = "no test predictions of this pair"
            attention_note = f"No runs of {pair_label(attention_name)} with test predictions: no Fig. 5."
        for _, t in attention_spread(attention).iterrows():
            word = "up" if t["direction"] == "up" else "down"
            head = f"{display_name(t['model'])}, {word}-regulated ({t['n_genes']} genes)"
            if t["within_noise"]:
                # a ranking of slots whose means differ by less than NOISE_SPREAD of their mean would read noise
                tops.append(
                    f"{head}: no slot stands out; the means of its {t['n_slots']} slots differ by at most "
                    f"{percent_text(t['spread'])} of their mean ({t['mean']:.4g}), within noise (below "
                    f"{percent_text(NOISE_SPREAD)})"
                )
            else:
                tops.append(f"{head}: {t['top']} (spread {percent_text(t['spread'])} of the mean)")
    at_max = []
    if not per_pair.empty:
        for model in order_models(per_pair["model"]):
            part = per_pair[per_pair["model"] == model]
            n = int(part["n_at_max_epochs"].sum())
            if n:
                at_max.append(f"{display_name(model)} ({n} of {int(part['n_seeds'].sum())} runs)")
    run_counts = {k: _median_count(runs, f"n_{k}") for k in ("train", "valid", "test")}
    attention_html = ""
    if not attention.empty:
        shown_attention = attention_display(attention)
        # one row per model x slot: long (25 slots for Raw+Aux), so folded under its figure
        attention_html = (
            f"<details><summary>the mean attention of every slot ({len(shown_attention)} rows)</summary>"
            f"{html_table(shown_attention)}</details>"
        )
    counts_html = ""
    if not counts.empty:
        shown = counts.assign(pair=counts["pair"].map(pair_label)).drop(columns=["threshold"])
        counts_html = html_table(shown.astype(str).replace({"<NA>": ""}))
    context = {
        "title": SECTION_TITLE,
        "prefix": link_prefix,
        "gene_sets": gene_set_descriptions(runs),
        "variant_names": [display_name(m) for m in order_models(m for m in wanted_models if model_kind(m) == "variant")]
        or ["none configured"],
        "baseline_names": [
            display_name(m) for m in order_models(m for m in wanted_models if model_kind(m) != "variant")
        ]
        or ["no baselines"],
        "pairs": pair_names,
        "pair_labels": [pair_label(p) for p in pair_names],
        "paper_pairs": PAPER_PAIRS,
        "n_runs": len(runs),
        "n_models": int(runs["model"].nunique()) if not runs.empty else 0,
        "counts": {k: v for k, v in run_counts.items() if v is not None},
        "missing_runs": missing_runs,
        "ignored": ignored,
        "demo_note": demo_note,
        "claims_note": claims_note,
        "budget_note": _budget_note(runs) if not runs.empty else "",
        "citation": TABLE1_CITATION,
        "published_given": published is not None,
        "threshold": threshold,
        "threshold_text": threshold_text,
        "paper_threshold": PAPER_THRESHOLD,
        "paper_threshold_text": f"{PAPER_THRESHOLD:g}",
        "attention_pair": attention_name,
        "attention_pair_label": pair_label(attention_name) if attention_name else "",
        "paper_attention_pair": pair_name(*PAPER_ATTENTION_PAIR),
        "paper_attention_label": pair_label(pair_name(*PAPER_ATTENTION_PAIR)),
        "attention_counts": attention_counts,
        "attention_note": attention_note,
        "attention_without": [display_name(m) for m in attention_without],
        "tops": tops,
        "noise_spread": percent_text(NOISE_SPREAD),
        "scatter_missing": scatter_missing,
        "at_max": at_max,
        "tables": {
            "table1": html_table(table1_display(t1)) if not t1.empty else "",
            "per_pair": html_table(per_pair_display(per_pair)) if not per_pair.empty else "",
            "claims": html_table(claims_display(claims)) if not claims.empty else "",
            "attention": attention_html,
            "counts": counts_html,
            "convergence": html_table(convergence_display(per_pair)) if not per_pair.empty else "",
        },
    }
    put("section.html", write_text, render_section(__file__, context))
    return written


__all__ = [
    "REFERENCES",
    "SECTION_TITLE",
    "build_differential_section",
    "differential_report_files",
]
