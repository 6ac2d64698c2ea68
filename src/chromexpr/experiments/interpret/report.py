"""The interpretation section of the report: attention, class optimization, attributions, linear weights, GAN.

Inputs: per (model, cell) a run's ``interpret.npz`` (``results/interpret/{model}/{cell}/seed{seed}/``) and per
(classifier model, cell) a ``gan.npz`` (``results/interpret/gan/{model}/{cell}/seed{seed}/``); ``read_interpret`` and
``read_gan`` (``chromexpr.experiments.interpret.evaluate``) list their arrays. ``build_interpret_section`` writes into
``results/report/interpret/`` (the plan's ``report_files``, also importable here as ``interpret_report_files``, lists
every file, always all of them: a figure without data says "not configured"):

==========================  ======================================================================================
file                        content
==========================  ======================================================================================
``signs.tsv``               per model, cell and mark: the mean signed IG and saliency of the logit over all test genes,
                            summed over bins; ``sign`` of the IG sum; ``expected`` (+1 H3K4me3, H3K36me3; -1
                            H3K27me3, H3K9me3; blank otherwise); ``agrees`` (sign == expected; blank without one)
``mark_attention.tsv``      AttentiveChrome-type runs: mean mark-level attention per mark over the expressed and the
                            not-expressed test genes
``gan_sanity.tsv``          DeepChrome 2.0 Table 1: mean P(expressed) / P(not expressed) on real, GAN and random
                            inputs, the paper's beside (the card of ``deepchrome_avgpool`` holds the paper's)
``linear_weights.tsv``      the linear model's weights per cell, mark (``bias`` for the biases) and class
figures (PNG + PDF)         ``INTERPRET_FIGURE_STEMS`` (``chromexpr.experiments.interpret.figures``; its ``redraw``
                            draws them again from these tables and the run arrays they name)
``section.html``            an HTML fragment ``<section id="interpret">`` for ``index.html`` (``section.html.j2``)
==========================  ======================================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chromexpr.experiments.interpret.evaluate import (
    ATTENTION_KEYS,
    CLASSOPT_KEYS,
    LINEAR_KEYS,
    class_mean,
    has_arrays,
    linear_runs,
    published_sanity,
    read_gan,
    read_interpret,
)
from chromexpr.experiments.interpret.figures import N_EXAMPLES, figure_data, write_figures
from chromexpr.experiments.interpret.plan import INTERPRET_FIGURE_STEMS
from chromexpr.experiments.interpret.plan import report_files as interpret_report_files
from chromexpr.reporting.environment import render_section
from chromexpr.reporting.files import write_text, write_tsv
from chromexpr.reporting.formatting import fmt, html_table, plural

__all__ = [
    "EXPECTED_SIGNS",
    "INTERPRET_FIGURE_STEMS",
    "SECTION_TITLE",
    "build_interpret_section",
    "gan_sanity_table",
    "interpret_report_files",
    "linear_weights_table",
    "mark_attention_table",
    "published_sanity_text",
    "read_gan",
    "read_interpret",
    "sign_table",
]

SECTION_DIR = "interpret"
SECTION_TITLE = "Interpretation: attention, class optimization, attributions, linear weights and GAN Monte Carlo"
#: the direction in which each mark is known to move expression (active +1, repressive -1)
EXPECTED_SIGNS = {"H3K4me3": 1, "H3K36me3": 1, "H3K27me3": -1, "H3K9me3": -1}
#: DeepChrome 2.0: 3 million GAN samples, the top 100 of each class
PAPER_GAN_SAMPLES = 3_000_000
PAPER_TOP_K = 100
DIGITS = 3  # decimals of our probabilities and losses on the page (the paper's have 2)

SIGN_COLUMNS = ["model", "cell", "mark", "ig_sum", "saliency_sum", "sign", "expected", "agrees"]
MARK_ATTENTION_COLUMNS = ["model", "cell", "mark", "expressed", "not_expressed"]
GAN_SANITY_COLUMNS = ["model", "cell", "source", "positive", "negative", "published_positive", "published_negative"]
LINEAR_COLUMNS = ["cell", "mark", "class", "weight"]

Key = tuple[str, str]


def published_sanity_text() -> dict[str, str]:
    """DeepChrome 2.0 Table 1 as the page quotes it: per input (real, gan, random) ``"P(expressed) / P(not
    expressed)"`` with 2 decimals (``evaluate.published_sanity``: the card of ``plan.PUBLISHED_CARD``)."""
    return {source: "{:.2f} / {:.2f}".format(*pair) for source, pair in published_sanity().items()}


# --- tables --------------------------------------------------------------------------------------------------


def sign_table(runs: Mapping[Key, Mapping[str, Any]]) -> pd.DataFrame:
    """``signs.tsv``: per (model, cell) and mark, ``ig_sum`` / ``saliency_sum`` (``ig_all`` / ``saliency_all``
    summed over bins), ``sign`` of ``ig_sum`` (+1, -1, 0), ``expected`` (``EXPECTED_SIGNS``, NA otherwise) and
    ``agrees`` (sign == expected, NA without an expectation)."""
    rows = []
    for (model, cell), data in runs.items():
        ig = np.asarray(data["ig_all"], dtype=np.float64).sum(axis=1)
        sal = np.asarray(data["saliency_all"], dtype=np.float64).sum(axis=1)
        for mark, ig_sum, sal_sum in zip(data["marks"], ig, sal, strict=True):
            sign = int(np.sign(ig_sum)) if np.isfinite(ig_sum) else 0
            expected = EXPECTED_SIGNS.get(mark)
            rows.append(
                {
                    "model": model,
                    "cell": cell,
                    "mark": mark,
                    "ig_sum": float(ig_sum),
                    "saliency_sum": float(sal_sum),
                    "sign": sign,
                    "expected": pd.NA if expected is None else expected,
                    "agrees": pd.NA if expected is None else sign == expected,
                }
            )
    table = pd.DataFrame(rows, columns=SIGN_COLUMNS)
    return table.astype({"sign": "int64", "expected": "Int64", "agrees": "boolean"})


def mark_attention_table(runs: Mapping[Key, Mapping[str, Any]]) -> pd.DataFrame:
    """``mark_attention.tsv``: per AttentiveChrome-type (model, cell) and mark, the mean of ``attention_mark`` over
    the expressed (label 1) and the not-expressed (label 0) test genes (NaN for a class without genes)."""
    rows = []
    for (model, cell), data in runs.items():
        if not has_arrays(data, ATTENTION_KEYS):
            continue
        labels = np.asarray(data["labels"])
        expressed = class_mean(data["attention_mark"], labels, 1)
        not_expressed = class_mean(data["attention_mark"], labels, 0)
        for m, mark in enumerate(data["marks"]):
            rows.append(
                {
                    "model": model,
                    "cell": cell,
                    "mark": mark,
                    "expressed": float(expressed[m]),
                    "not_expressed": float(not_expressed[m]),
                }
            )
    return pd.DataFrame(rows, columns=MARK_ATTENTION_COLUMNS)


def gan_sanity_table(gans: Mapping[Key, Mapping[str, Any]]) -> pd.DataFrame:
    """``gan_sanity.tsv``: per (model, cell) and source (real, gan, random), our mean P(expressed) (``positive``)
    and P(not expressed) (``negative``), the paper's Table 1 beside."""
    rows = []
    for (model, cell), data in gans.items():
        for i, source in enumerate(data["sanity_source"]):
            rows.append(
                {
                    "model": model,
                    "cell": cell,
                    "source": source,
                    "positive": float(data["sanity_positive"][i]),
                    "negative": float(data["sanity_negative"][i]),
                    "published_positive": float(data["published_positive"][i]),
                    "published_negative": float(data["published_negative"][i]),
                }
            )
    return pd.DataFrame(rows, columns=GAN_SANITY_COLUMNS)


def linear_weights_table(runs: Mapping[Key, Mapping[str, Any]]) -> pd.DataFrame:
    """``linear_weights.tsv``: per cell, mark and class (``not_expressed`` row 0, ``expressed`` row 1 of
    ``linear_weight``) the weight; the biases as mark ``bias``."""
    rows = []
    for (_, cell), data in linear_runs(runs).items():
        weight = np.asarray(data["linear_weight"], dtype=np.float64)
        bias = np.asarray(data["linear_bias"], dtype=np.float64).ravel()
        for c, name in enumerate(("not_expressed", "expressed")):
            for m, mark in enumerate(data["marks"]):
                rows.append({"cell": cell, "mark": mark, "class": name, "weight": float(weight[c, m])})
            rows.append({"cell": cell, "mark": "bias", "class": name, "weight": float(bias[c])})
    return pd.DataFrame(rows, columns=LINEAR_COLUMNS)


# --- display -------------------------------------------------------------------------------------------------

ARROWS = {1: "↑", -1: "↓", 0: "0"}


def sign_summary(signs: pd.DataFrame) -> pd.DataFrame:
    """The page's summary: a first row of the expected directions, then per (model, cell) each mark's IG
    direction (↑ towards expressed, ↓ away, 0) with ✓ / ✗ against the expected one, and the count that agree."""
    if signs.empty:
        return pd.DataFrame()
    marks = list(dict.fromkeys(signs["mark"]))
    expected_row = {"model": "expected (biology)", "cell": ""}
    for mark in marks:
        e = EXPECTED_SIGNS.get(mark)
        expected_row[mark] = ARROWS[e] if e is not None else ""
    expected_row["agree"] = ""
    rows = [expected_row]
    for (model, cell), part in signs.groupby(["model", "cell"], sort=False):
        row = {"model": model, "cell": cell}
        agree = total = 0
        for mark in marks:
            hit = part[part["mark"] == mark]
            if hit.empty:
                row[mark] = ""
                continue
            r = hit.iloc[0]
            text = ARROWS[int(r["sign"])]
            if not pd.isna(r["agrees"]):
                total += 1
                agree += bool(r["agrees"])
                text += " ✓" if bool(r["agrees"]) else " ✗"
            row[mark] = text
        row["agree"] = f"{agree}/{total}" if total else ""
        rows.append(row)
    return pd.DataFrame(rows, columns=["model", "cell", *marks, "agree"])


def runs_display(runs: Mapping[Key, Mapping[str, Any]]) -> pd.DataFrame:
    """The page's table of runs: per (model, cell) its seed, card, test genes, IG steps, largest completeness gap
    and the methods shown."""
    rows = []
    for (model, cell), data in runs.items():
        meta = data["meta"]
        parts = ["IG, saliency"]
        if has_arrays(data, ATTENTION_KEYS):
            parts.append("attention")
        if has_arrays(data, CLASSOPT_KEYS):
            parts.append("class optimization")
        if has_arrays(data, LINEAR_KEYS):
            parts.append("linear weights")
        rows.append(
            {
                "model": model,
                "cell": cell,
                "seed": str(meta.get("seed", "")),
                "card": str(meta.get("card", "")),
                "test genes": str(meta.get("n_test", len(data["gene_ids"]))),
                "IG steps": str(meta.get("ig_steps", "")),
                "max |completeness gap|": f"{float(data['ig_delta_max']):.2e}",
                "shown": ", ".join(parts),
            }
        )
    return pd.DataFrame(rows)


def gan_display(sanity: pd.DataFrame) -> pd.DataFrame:
    """The page's Table 1: per (model, cell) and input, our mean class probabilities beside the paper's."""
    return pd.DataFrame(
        {
            "model": sanity["model"],
            "cell": sanity["cell"],
            "input": sanity["source"],
            "P(expressed), ours": sanity["positive"].map(lambda v: fmt(v, DIGITS)),
            "P(expressed), paper": sanity["published_positive"].map(lambda v: fmt(v, 2)),
            "P(not expressed), ours": sanity["negative"].map(lambda v: fmt(v, DIGITS)),
            "P(not expressed), paper": sanity["published_negative"].map(lambda v: fmt(v, 2)),
        }
    )


def gan_runs_display(gans: Mapping[Key, Mapping[str, Any]]) -> pd.DataFrame:
    """The page's table of GAN runs: per (model, cell) its seed, epochs, samples and top k (the paper's beside)
    and final losses."""
    rows = []
    for (model, cell), data in gans.items():
        meta = data["meta"]
        g = np.asarray(data.get("g_loss", np.empty(0)), dtype=np.float64)
        d = np.asarray(data.get("d_loss", np.empty(0)), dtype=np.float64)
        rows.append(
            {
                "model": model,
                "cell": cell,
                "seed": str(meta.get("seed", "")),
                "GAN epochs": str(meta.get("epochs", g.size or "")),
                "samples": f"{int(data['n_samples']):,}",
                "paper samples": f"{PAPER_GAN_SAMPLES:,}",
                "top k": str(int(data["top_k"])),
                "paper top k": str(PAPER_TOP_K),
                "final G loss": fmt(g[-1], DIGITS) if g.size else "",
                "final D loss": fmt(d[-1], DIGITS) if d.size else "",
            }
        )
    return pd.DataFrame(rows)


def classopt_losses(runs: Mapping[Key, Mapping[str, Any]]) -> list[str]:
    """One line per class-optimization run: its steps and final loss of each class."""
    lines = []
    for (model, cell), data in runs.items():
        if not has_arrays(data, ("classopt_loss_expressed", "classopt_loss_not_expressed")):
            continue
        e = np.asarray(data["classopt_loss_expressed"], dtype=np.float64)
        n = np.asarray(data["classopt_loss_not_expressed"], dtype=np.float64)
        if e.size and n.size:
            lines.append(
                f"{model} · {cell}: {e.size} steps; final loss {e[-1]:.4g} (expressed), {n[-1]:.4g} (not expressed)"
            )
    return lines


def _agree_text(signs: pd.DataFrame) -> str:
    known = signs.dropna(subset=["agrees"]) if not signs.empty else signs
    if known.empty:
        return ""
    n = int(known["agrees"].astype(bool).sum())
    return f"Overall {n} of {len(known)} (model, cell, mark) directions agree with the biology."


def build_interpret_section(
    runs: Mapping[Key, str | Path],
    gans: Mapping[Key, str | Path],
    *,
    out_dir: str | Path,
    source_kind: str,
    link_prefix: str = f"{SECTION_DIR}/",
) -> list[Path]:
    """Write the interpretation tables, figures and ``section.html`` into ``out_dir``; return the paths in
    ``interpret_report_files`` order.

    Args:
        runs: (model, cell) -> the run's ``interpret.npz``.
        gans: (classifier model, cell) -> the ``gan.npz``.
        out_dir: the section folder (``results/report/interpret``).
        source_kind: the data source kind; ``demo`` adds the simulated-data note.
        link_prefix: where the files are, seen from ``index.html``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run_data = {(str(m), str(c)): read_interpret(p) for (m, c), p in runs.items()}
    gan_data = {(str(m), str(c)): read_gan(p) for (m, c), p in gans.items()}

    signs = sign_table(run_data)
    attention = mark_attention_table(run_data)
    sanity = gan_sanity_table(gan_data)
    linear = linear_weights_table(run_data)
    written: dict[str, Path] = {}
    for name, table in (
        ("signs.tsv", signs),
        ("mark_attention.tsv", attention),
        ("gan_sanity.tsv", sanity),
        ("linear_weights.tsv", linear),
    ):
        written[name] = write_tsv(out_dir / name, table)

    data = figure_data(run_data, gan_data)
    written.update(write_figures(data, out_dir))

    steps = sorted({str(d["meta"].get("ig_steps")) for d in run_data.values() if d["meta"].get("ig_steps") is not None})
    deltas = [float(d["ig_delta_max"]) for d in run_data.values()]
    samples = sorted({int(d["n_samples"]) for d in gan_data.values()})
    top_k = sorted({int(d["top_k"]) for d in gan_data.values()})
    example_keys = list(data["examples"])
    demo_note = ""
    if source_kind == "demo":
        demo_note = (
            "The histone-mark reads are simulated (the demo source): the simulator places H3K4me3 and H3K36me3 on "
            "active genes and H3K27me3 and H3K9me3 over silent ones, so the marks follow the known biology by "
            "construction. Agreement of the signs below checks that the interpretation methods recover a planted "
            "signal, not biology; the attention maps, class-optimization maps and GAN profiles likewise describe "
            "the simulator. The demo trains every model for a couple of epochs (train.max_epochs), far from "
            "converged: a direction marked ✗ is what an undertrained model learned so far (its GAN and random "
            "inputs are scored just as uncritically), not a failure of the method; trained to convergence on a "
            "cell with the same planted marks, DeepChrome reads H3K4me3 ↑ and H3K27me3 ↓ (a unit test)."
        )
    n_linear_marks = {len(w.marks) for w in data["linear"].values()} or {5}
    context = {
        "title": SECTION_TITLE,
        "prefix": link_prefix,
        "demo_note": demo_note,
        "agree_text": _agree_text(signs),
        "ig_steps_text": ", ".join(steps) or "?",
        "delta_text": f"{max(deltas):.2e}" if deltas else "n/a",
        "n_attention": len(data["bin_attention"]),
        "n_classopt": len(data["classopt"]),
        "n_linear": len(data["linear"]),
        "n_linear_params": " / ".join(str(2 * n + 2) for n in sorted(n_linear_marks)),
        "n_gan": len(gan_data),
        "n_examples": N_EXAMPLES,
        "example_runs_text": (
            ", ".join(f"{m} · {c}" for m, c in example_keys)
            + (
                f" (the first {plural(len(example_keys), 'run')} of {len(data['bin_attention'])})"
                if len(data["bin_attention"]) > len(example_keys)
                else ""
            )
            if example_keys
            else "each AttentiveChrome-type run (none configured)"
        ),
        "classopt_lines": classopt_losses(run_data),
        "samples_text": ", ".join(f"{n:,}" for n in samples) or "n",
        "top_k_text": ", ".join(map(str, top_k)) or "k",
        "paper_samples": f"{PAPER_GAN_SAMPLES:,}",
        "paper_top_k": PAPER_TOP_K,
        "published": published_sanity_text(),
        "architectures": sorted({d["architecture"] for d in gan_data.values()}),
        "tables": {
            "summary": html_table(sign_summary(signs)) if not signs.empty else "",
            "runs": html_table(runs_display(run_data)) if run_data else "",
            "gan": html_table(gan_display(sanity)) if not sanity.empty else "",
            "gan_runs": html_table(gan_runs_display(gan_data)) if gan_data else "",
        },
    }
    written["section.html"] = write_text(out_dir / "section.html", render_section(__file__, context))
    missing = [n for n in interpret_report_files() if n not in written]
    if missing:  # pragma: no cover - the plan and this builder disagree
        raise RuntimeError(f"interpret section did not write {', '.join(missing)}")
    return [written[n] for n in interpret_report_files()]
