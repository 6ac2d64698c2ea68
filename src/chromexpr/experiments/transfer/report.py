"""The report section of the cross-cell transfer experiment (TransferChrome Table 3 and Fig. 4): the tables of
``evaluate``, the figures of ``figures`` and ``section.html.j2`` beside this module.

Input: the transfer runs' ``metrics.json`` (``results/runs/transfer/{model}_{variant}/{source}_to_{target}/seed{n}/``,
``history.tsv`` beside each) and the single-cell (origin) runs of the same targets. ``build_transfer_section``
writes into one folder, ``transfer/`` beside the report's ``index.html`` (the plan's ``report_files`` lists them):

===========================================  ================================================================
``table3.tsv`` / ``.md``                      per Table 3 row: targets, seeds, min / mean / max / median test
                                              AUROC over targets, the paper's numbers beside them
``per_target.tsv``                            per row, target and seed: test AUROC and test genes
``paired.tsv``                                per base model: uncross / cross / origin against each other
``domain_curves.tsv``                         per cross run and epoch: domain loss, accuracy, GRL lambda
``fig4_per_target.{png,pdf}``                 Fig. 4: grouped bars per target (``figures.redraw``)
``domain_curves.{png,pdf}``                   the domain classifier per epoch
``section.html``                              an HTML fragment ``<section id="transfer">`` for the report page;
                                              its links are relative to the page's folder (``transfer/...``)
===========================================  ================================================================
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from chromexpr.errors import InputError
from chromexpr.evaluation.runs import HISTORY_FILE, collect_metrics, gene_set_descriptions
from chromexpr.evaluation.statistics import MIN_CELLS
from chromexpr.experiments.transfer.evaluate import (
    PER_TARGET_COLUMNS,
    domain_curves,
    paired_variants,
    per_target_table,
    reported_drops,
    table3,
)
from chromexpr.experiments.transfer.figures import redraw
from chromexpr.models.display import display_name
from chromexpr.published import DEFAULT_PUBLISHED, read_published
from chromexpr.reporting.environment import render_section
from chromexpr.reporting.files import write_text, write_tsv
from chromexpr.reporting.formatting import fmt, format_p, html_table, markdown, plural
from chromexpr.reporting.notes import budget_note

#: the section's folder, beside the report's index.html (its links start with it)
SECTION_DIR = "transfer"
#: below this many targets the section says its numbers cannot support the paper's claims (the paper: 55)
MIN_TARGETS_FOR_CLAIMS = 10
PAPER_SOURCE = "E085"
PAPER_TARGETS = 55
SECTION_TITLE = "Cross-cell transfer (TransferChrome, Table 3 and Fig. 4)"
PROTOCOLS = {
    "honest": (
        "the split manifest holds everywhere: the transfer models are trained on the source's training genes and "
        "selected on the source's validation genes, the domain classifier sees the target's training genes without "
        "their labels, and origin, uncross and cross are all tested on the target's test genes, so no target label "
        "is read before the test and every comparison is paired on the same genes."
    ),
    "paper": (
        "as published: all of the source's labelled genes train the model, a seeded half of the target's genes "
        "(unlabelled) feeds the domain classifier and the other half is the test set; a test gene may have been "
        "seen, labelled, in the source cell (which inflates cross-cell numbers), and the origin rows stay on the "
        "single-cell test split, so origin and transfer are tested on different genes."
    ),
}


# ---------------------------------------------------------------------------------------------------
# display tables


def _signed(value: object, digits: int = 4) -> str:
    v = float(value) if value is not None and value is not pd.NA else math.nan
    return "" if math.isnan(v) else f"{v:+.{digits}f}"


def _points(value: object) -> str:
    """An AUROC difference in points (x 100), as the paper writes its drops: ``-0.0294`` -> ``-2.9``."""
    v = float(value) if value is not None and value is not pd.NA else math.nan
    return "" if math.isnan(v) else f"{100 * v:+.1f}"


def table3_display(table: pd.DataFrame) -> pd.DataFrame:
    """Table 3 with ours beside the paper's numbers (rounded, all strings)."""
    out = {"row": table["row"], "targets": table["n_targets"].astype(str), "seeds": table["n_seeds"].astype(str)}
    for s in ("min", "mean", "max", "median"):
        out[s] = table[s].astype(float).map(fmt)
    for s in ("min", "mean", "max", "median"):
        out[f"paper {s}"] = table[f"published_{s}"].astype(float).map(fmt)
    out["mean − paper"] = table["delta_mean"].map(_signed)
    out["epoch kept (mean)"] = ["" if math.isnan(v) else f"{v:.1f}" for v in table["mean_best_epoch"].astype(float)]
    out["DANN λ there (mean)"] = [
        "" if math.isnan(v) else f"{v:.2f}" for v in table["mean_selected_grl_lambda"].astype(float)
    ]
    return pd.DataFrame(out)


def drops_display(drops: pd.DataFrame) -> pd.DataFrame:
    """The mean-AUROC drops against the single-cell model, ours beside the paper's, in AUROC points."""
    return pd.DataFrame(
        {
            "row": drops["row"],
            "against": drops["versus"],
            "ours (points)": drops["drop"].map(_points),
            "paper, Table 3 means (points)": drops["published_drop"].map(_points),
            "paper, text": ["" if math.isnan(float(v)) else f"{v:+.1f} %" for v in drops["paper_text_drop"]],
        }
    )


def paired_display(paired: pd.DataFrame) -> pd.DataFrame:
    """The paired comparison of the variants, per base model (rounded, all strings)."""
    return pd.DataFrame(
        {
            "model": [display_name(b) for b in paired["base_model"]],
            "a − b": [f"{a} − {b}" for a, b in zip(paired["a"], paired["b"], strict=True)],
            "targets": paired["n_targets"].astype(str),
            "wins": paired["wins"].astype(str),
            "losses": paired["losses"].astype(str),
            "ties": paired["ties"].astype(str),
            "mean diff.": paired["mean_difference"].map(_signed),
            "median diff.": paired["median_difference"].map(_signed),
            "Wilcoxon p": paired["p_value"].map(format_p),
            "same test genes": ["yes" if g else "no" for g in paired["paired_genes"].astype(bool)],
            "note": paired["note"].fillna(""),
        }
    )


# ---------------------------------------------------------------------------------------------------
# the section


def _check_runs(runs: pd.DataFrame, *, source: str, protocol: str) -> None:
    """Every transfer run must come from ``source`` and follow ``protocol``: the section names both."""
    for key, expected in (("source", source), ("protocol", protocol)):
        if key not in runs.columns:
            continue
        for value, path in zip(runs[key], runs["path"], strict=True):
            if isinstance(value, str) and value and value != expected:
                raise InputError(
                    f"transfer run has {key} '{value}', the section is for {key} '{expected}'",
                    path=path,
                    hint=f"pass only the runs of one {key} (or build one section per {key})",
                )


def _median_count(runs: pd.DataFrame, key: str) -> int | None:
    if key not in runs.columns:
        return None
    values = pd.to_numeric(runs[key], errors="coerce").dropna()
    return int(values.median()) if len(values) else None


def _probe_table(transfer: pd.DataFrame) -> str:
    """HTML table: per transfer row, the mean / min / max over targets of ``domain_probe_accuracy``
    (a fresh logistic regression telling the source's held-out genes from the target's test genes by the
    model's features); empty when no run measured it."""
    if transfer.empty or "domain_probe_accuracy" not in transfer.columns:
        return ""
    values = transfer.assign(value=pd.to_numeric(transfer["domain_probe_accuracy"], errors="coerce")).dropna(
        subset=["value"]
    )
    if values.empty:
        return ""
    rows = []
    for model, group in values.groupby("model", sort=False):
        per_target = group.groupby("target")["value"].mean()
        rows.append(
            {
                "run": model,
                "targets": len(per_target),
                "mean": f"{per_target.mean():.3f}",
                "min": f"{per_target.min():.3f}",
                "max": f"{per_target.max():.3f}",
            }
        )
    return html_table(pd.DataFrame(rows))


def build_transfer_section(
    *,
    transfer_metrics: Sequence[str | Path],
    origin_metrics: Sequence[str | Path],
    out_dir: str | Path,
    source: str,
    protocol: str,
    published: str | Path | None = DEFAULT_PUBLISHED,
    source_kind: str | None = None,
    link_prefix: str = f"{SECTION_DIR}/",
    min_targets: int = MIN_CELLS,
) -> dict[str, Path]:
    """Write Table 3, the per-target and paired tables, the domain curves, Fig. 4 and ``section.html``.

    Args:
        transfer_metrics: the transfer runs' ``metrics.json`` (the cross runs' ``history.tsv`` is read from the
            same folders).
        origin_metrics: the single-cell runs' ``metrics.json``; those of other cells or models are ignored.
        out_dir: the section's folder (created), ``transfer/`` beside the report's ``index.html``.
        source: the source cell (the paper: E085).
        protocol: ``honest`` or ``paper``; every transfer run must have been trained under it.
        published: the tidy published-AUROC table; ``None`` leaves the paper's columns empty.
        source_kind: the data source (``demo`` adds the simulated-reads warning), when known.
        link_prefix: how the page holding the fragment reaches ``out_dir`` (images and file links).
        min_targets: fewest non-zero per-target differences for a Wilcoxon test.

    Returns:
        file name -> written path, for every name of the plan's ``report_files``; each written atomically.
    """
    if protocol not in PROTOCOLS:
        raise InputError(
            f"unknown transfer protocol '{protocol}'", key="protocol", hint=f"use one of {', '.join(PROTOCOLS)}"
        )
    transfer = collect_metrics(transfer_metrics)
    origin = collect_metrics(origin_metrics)
    _check_runs(transfer, source=source, protocol=protocol)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    per_target = per_target_table(transfer, origin, source=source)
    pub = read_published(published) if published is not None else None
    t3 = table3(per_target, pub)
    paired = paired_variants(per_target, min_targets=min_targets)
    drops = reported_drops(t3)

    history_paths: dict[tuple[str, int], Path] = {}
    n_cross = 0
    if not transfer.empty:
        variant = transfer["variant"] if "variant" in transfer.columns else transfer["model"].str.rsplit("_").str[-1]
        for _, run in transfer[variant.astype(str) == "cross"].iterrows():
            n_cross += 1
            path = Path(str(run["path"])).parent / HISTORY_FILE
            target = run.get("target") if isinstance(run.get("target"), str) else run["cell"]
            if path.is_file():
                history_paths[(str(target), int(run["seed"]))] = path
    curves = domain_curves(history_paths)

    written: dict[str, Path] = {}

    def put(name: str, write, content) -> None:
        written[name] = write(out_dir / name, content)

    put("table3.tsv", write_tsv, t3)
    put("per_target.tsv", write_tsv, per_target if not per_target.empty else pd.DataFrame(columns=PER_TARGET_COLUMNS))
    put("paired.tsv", write_tsv, paired)
    put("domain_curves.tsv", write_tsv, curves)
    protocol_sentence = f"Protocol {protocol}: {PROTOCOLS[protocol]}"
    put(
        "table3.md",
        write_text,
        f"# Table 3: cross-cell test AUROC (source {source}, protocol {protocol})\n\n"
        + (markdown(table3_display(t3)) if not t3.empty else "No transfer runs.\n")
        + "\nA target's value is the mean over its seeds; min / mean / max / median are over targets. "
        "paper: TransferChrome Table 3 (55 targets, source E085); its origin rows (TransferChrome_origin, DeepChrome, "
        "ConvChrome) print the numbers of its Table 2 (56 cells) and are taken from there.\n\n"
        f"{protocol_sentence}\n\n## Mean AUROC drop against the single-cell model\n\n"
        + (markdown(drops_display(drops)) if not drops.empty else "No row has its single-cell (origin) row.\n"),
    )
    for path in redraw(out_dir):
        written[path.name] = path

    n_targets = int(t3["n_targets"].max()) if not t3.empty else 0
    targets = sorted(per_target["target"].unique()) if not per_target.empty else []
    claims_note = ""
    if n_targets < MIN_TARGETS_FOR_CLAIMS:
        claims_note = (
            f"Only {plural(n_targets, 'target cell')} (the paper has {PAPER_TARGETS}): with fewer than "
            f"{MIN_TARGETS_FOR_CLAIMS} targets, few epochs and, on demo data, simulated reads, "
            "these numbers cannot support or refute the paper's claims (that transfer costs 2.9 AUROC points and "
            "the domain classifier wins half of them back). They show that the experiment runs end to end."
        )
    cross_runs = transfer[transfer["variant"] == "cross"] if "variant" in transfer.columns else transfer
    counts = {
        "n_train": _median_count(transfer, "n_train"),
        "n_adapt": _median_count(cross_runs, "n_adapt"),  # only the cross runs adapt
        "n_valid": _median_count(transfer, "n_valid"),
        "n_test": _median_count(transfer, "n_test"),
    }
    context = {
        "title": SECTION_TITLE,
        "prefix": link_prefix,
        "gene_sets": gene_set_descriptions(pd.concat([transfer, origin], ignore_index=True)),
        "source": source,
        "paper_source": PAPER_SOURCE,
        "protocol": protocol,
        "protocol_text": PROTOCOLS[protocol],
        "n_transfer_runs": len(transfer),
        "n_origin_runs": int((per_target["variant"] == "origin").sum()) if not per_target.empty else 0,
        "targets": targets,
        "n_targets": n_targets,
        "counts": {k: v for k, v in counts.items() if v is not None},
        "claims_note": claims_note,
        "budget_note": budget_note(transfer, source_kind) if not transfer.empty else "",
        "published_given": published is not None,
        "min_targets": min_targets,
        "n_cross": n_cross,
        "n_curves": len(history_paths),
        "probe": _probe_table(transfer),
        "tables": {
            "table3": html_table(table3_display(t3)) if not t3.empty else "",
            "drops": html_table(drops_display(drops)) if not drops.empty else "",
            "paired": html_table(paired_display(paired)) if not paired.empty else "",
        },
    }
    put("section.html", write_text, render_section(__file__, context))
    return written
