"""The interpretation section of the report: attention, class optimization, attributions, linear weights, GAN.

Inputs: per (model, cell) a run's ``interpret.npz`` (``results/interpret/{model}/{cell}/seed{seed}/``) and per
(classifier model, cell) a ``gan.npz`` (``results/interpret/gan/{model}/{cell}/seed{seed}/``); ``read_interpret`` and
``read_gan`` list their arrays. ``build_interpret_section`` writes into ``results/report/interpret/``
(``interpret_report_files`` lists every file, always all of them: a figure without data says "not configured"):

==========================  ======================================================================================
file                        content
==========================  ======================================================================================
``signs.tsv``               per model, cell and mark: the mean signed IG and saliency of the logit over all test genes,
                            summed over bins; ``sign`` of the IG sum; ``expected`` (+1 H3K4me3, H3K36me3; -1
                            H3K27me3, H3K9me3; blank otherwise); ``agrees`` (sign == expected; blank without one)
``mark_attention.tsv``      AttentiveChrome-type runs: mean mark-level attention per mark over the expressed and the
                            not-expressed test genes
``gan_sanity.tsv``          DeepChrome 2.0 Table 1: mean P(expressed) / P(not expressed) on real, GAN and random
                            inputs, the paper's beside
``linear_weights.tsv``      the linear model's weights per cell, mark (``bias`` for the biases) and class
figures (PNG + PDF)         ``INTERPRET_FIGURE_STEMS``
``section.html``            an HTML fragment ``<section id="interpret">`` for ``index.html``
==========================  ======================================================================================
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, StrictUndefined

from chromexpr.errors import InputError
from chromexpr.plotting.figures import save_figure
from chromexpr.plotting.interpret import (
    AttentionExample,
    ClassMaps,
    ClassProfile,
    LinearWeights,
    draw_attention_examples,
    draw_attributions,
    draw_bin_attention,
    draw_class_optimization,
    draw_gan_monte_carlo,
    draw_linear_weights,
    draw_mark_attention,
    pick_examples,
)
from chromexpr.reporting.formatting import html_table, plural
from chromexpr.reporting.manifest import INTERPRET_FIGURE_STEMS, interpret_report_files
from chromexpr.reporting.single_cell import _write_text, _write_tsv

__all__ = [
    "EXPECTED_SIGNS",
    "SECTION_TITLE",
    "build_interpret_section",
    "gan_sanity_table",
    "interpret_report_files",
    "linear_weights_table",
    "mark_attention_table",
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
#: DeepChrome 2.0 Table 1: mean (P(expressed), P(not expressed)) on real, GAN and random inputs
PUBLISHED_SANITY = {"real": (0.30, 0.70), "gan": (0.31, 0.69), "random": (0.19, 0.81)}
N_EXAMPLES = 2  # example genes per class (Fig. attention_examples)
MAX_EXAMPLE_RUNS = 3  # (model, cell) pairs in the examples figure

INTERPRET_REQUIRED = (
    "marks",
    "gene_ids",
    "labels",
    "saliency_expressed",
    "saliency_not_expressed",
    "saliency_all",
    "ig_expressed",
    "ig_not_expressed",
    "ig_all",
    "ig_delta_max",
    "meta",
)
ATTENTION_KEYS = ("attention_bin", "attention_mark", "inputs", "probability")
CLASSOPT_KEYS = ("classopt_expressed", "classopt_not_expressed")
LINEAR_KEYS = ("linear_weight", "linear_bias")
GAN_REQUIRED = (
    "marks",
    "profile_expressed",
    "profile_not_expressed",
    "n_samples",
    "top_k",
    "sanity_source",
    "sanity_positive",
    "sanity_negative",
    "published_positive",
    "published_negative",
    "architecture",
    "meta",
)
SIGN_COLUMNS = ["model", "cell", "mark", "ig_sum", "saliency_sum", "sign", "expected", "agrees"]
MARK_ATTENTION_COLUMNS = ["model", "cell", "mark", "expressed", "not_expressed"]
GAN_SANITY_COLUMNS = ["model", "cell", "source", "positive", "negative", "published_positive", "published_negative"]
LINEAR_COLUMNS = ["cell", "mark", "class", "weight"]

Key = tuple[str, str]


# --- reading -------------------------------------------------------------------------------------------------


def _load_npz(path: str | Path, required: tuple[str, ...], hint: str) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise InputError("interpretation file not found", path=path, hint=hint)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: np.asarray(data[name]) for name in data.files}
    except (OSError, ValueError) as err:
        raise InputError(f"not a readable .npz ({err})", path=path, hint=hint) from err
    missing = [k for k in required if k not in arrays]
    if missing:
        raise InputError(f"missing array(s) {', '.join(missing)}", path=path, hint=hint)
    try:
        meta = json.loads(str(arrays["meta"][()]))
    except json.JSONDecodeError as err:
        raise InputError(f"meta is not JSON ({err})", path=path) from err
    arrays["meta"] = meta if isinstance(meta, dict) else {}
    arrays["marks"] = [str(m) for m in arrays["marks"]]
    arrays["path"] = path
    return arrays


def read_interpret(path: str | Path) -> dict[str, Any]:
    """One run's ``interpret.npz``: its arrays (``marks`` and ``gene_ids`` as lists of str, ``meta`` a dict)."""
    data = _load_npz(path, INTERPRET_REQUIRED, "run the interpret rule")
    data["gene_ids"] = [str(g) for g in data["gene_ids"]]
    n_marks = len(data["marks"])
    for name in ("saliency_expressed", "saliency_not_expressed", "saliency_all", "ig_expressed", "ig_not_expressed"):
        if data[name].ndim != 2 or data[name].shape[0] != n_marks:
            raise InputError(f"{name} must be (marks, bins) with {n_marks} marks, got {data[name].shape}", path=path)
    if data["ig_all"].shape != data["ig_expressed"].shape:
        raise InputError(
            f"ig_all has shape {data['ig_all'].shape}, ig_expressed {data['ig_expressed'].shape}", path=path
        )
    return data


def read_gan(path: str | Path) -> dict[str, Any]:
    """One ``gan.npz``: its arrays (``marks`` and ``sanity_source`` as lists of str, ``meta`` a dict)."""
    data = _load_npz(path, GAN_REQUIRED, "run the interpret_gan rule")
    data["sanity_source"] = [str(s) for s in data["sanity_source"]]
    data["architecture"] = str(data["architecture"][()])
    return data


def _has(data: Mapping[str, Any], keys: tuple[str, ...]) -> bool:
    return all(k in data for k in keys)


def _bins_bp(data: Mapping[str, Any], n_bins: int) -> list[float] | None:
    bins = data["meta"].get("bins_bp")
    if isinstance(bins, list) and len(bins) == n_bins:
        return [float(b) for b in bins]
    return None


def _class_mean(values: np.ndarray, labels: np.ndarray, label: int) -> np.ndarray:
    chosen = labels == label
    if not chosen.any():
        return np.full(values.shape[1:], np.nan)
    return np.asarray(values, dtype=np.float64)[chosen].mean(axis=0)


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
        if not _has(data, ATTENTION_KEYS):
            continue
        labels = np.asarray(data["labels"])
        expressed = _class_mean(data["attention_mark"], labels, 1)
        not_expressed = _class_mean(data["attention_mark"], labels, 0)
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


def _linear_runs(runs: Mapping[Key, Mapping[str, Any]]) -> dict[Key, Mapping[str, Any]]:
    chosen = {k: d for k, d in runs.items() if _has(d, LINEAR_KEYS)}
    cells = [cell for _, cell in chosen]
    twice = sorted({c for c in cells if cells.count(c) > 1})
    if twice:
        raise InputError(
            f"linear weights from more than one model for cell(s) {', '.join(twice)}",
            hint="only the linear model (linear12) writes linear_weight",
        )
    return chosen


def linear_weights_table(runs: Mapping[Key, Mapping[str, Any]]) -> pd.DataFrame:
    """``linear_weights.tsv``: per cell, mark and class (``not_expressed`` row 0, ``expressed`` row 1 of
    ``linear_weight``) the weight; the biases as mark ``bias``."""
    rows = []
    for (_, cell), data in _linear_runs(runs).items():
        weight = np.asarray(data["linear_weight"], dtype=np.float64)
        bias = np.asarray(data["linear_bias"], dtype=np.float64).ravel()
        for c, name in enumerate(("not_expressed", "expressed")):
            for m, mark in enumerate(data["marks"]):
                rows.append({"cell": cell, "mark": mark, "class": name, "weight": float(weight[c, m])})
            rows.append({"cell": cell, "mark": "bias", "class": name, "weight": float(bias[c])})
    return pd.DataFrame(rows, columns=LINEAR_COLUMNS)


# --- figure data ---------------------------------------------------------------------------------------------


def _figure_data(runs: Mapping[Key, Mapping[str, Any]], gans: Mapping[Key, Mapping[str, Any]]) -> dict[str, Any]:
    bin_attention: dict[Key, ClassMaps] = {}
    mark_attention: dict[Key, ClassProfile] = {}
    examples: dict[Key, list[AttentionExample]] = {}
    classopt: dict[Key, ClassMaps] = {}
    ig: dict[Key, ClassMaps] = {}
    saliency: dict[Key, np.ndarray] = {}
    linear: dict[Key, LinearWeights] = {}
    for key, data in runs.items():
        marks = data["marks"]
        bins_bp = _bins_bp(data, data["ig_all"].shape[1])
        ig[key] = ClassMaps(marks, data["ig_expressed"], data["ig_not_expressed"], bins_bp)
        saliency[key] = np.asarray(data["saliency_all"], dtype=np.float64)
        labels = np.asarray(data["labels"])
        if _has(data, ATTENTION_KEYS):
            att = np.asarray(data["attention_bin"], dtype=np.float64)
            bins = _bins_bp(data, att.shape[2])
            bin_attention[key] = ClassMaps(marks, _class_mean(att, labels, 1), _class_mean(att, labels, 0), bins)
            mark_attention[key] = ClassProfile(
                marks, _class_mean(data["attention_mark"], labels, 1), _class_mean(data["attention_mark"], labels, 0)
            )
            if len(examples) < MAX_EXAMPLE_RUNS:
                examples[key] = [
                    AttentionExample(
                        gene_id=data["gene_ids"][i],
                        label=int(labels[i]),
                        probability=float(data["probability"][i]),
                        marks=marks,
                        inputs=np.asarray(data["inputs"][i], dtype=np.float64),
                        bin_attention=att[i],
                        mark_attention=np.asarray(data["attention_mark"][i], dtype=np.float64),
                        bins_bp=bins,
                    )
                    for i in pick_examples(data["probability"], N_EXAMPLES)
                ]
        if _has(data, CLASSOPT_KEYS):
            bins = _bins_bp(data, np.asarray(data["classopt_expressed"]).shape[1])
            classopt[key] = ClassMaps(marks, data["classopt_expressed"], data["classopt_not_expressed"], bins)
    for key, data in _linear_runs(runs).items():
        linear[key] = LinearWeights(data["marks"], data["linear_weight"], data["linear_bias"])
    gan = {k: ClassProfile(d["marks"], d["profile_expressed"], d["profile_not_expressed"]) for k, d in gans.items()}
    return {
        "bin_attention": bin_attention,
        "mark_attention": mark_attention,
        "examples": examples,
        "classopt": classopt,
        "ig": ig,
        "saliency": saliency,
        "linear": linear,
        "gan": gan,
    }


# --- display -------------------------------------------------------------------------------------------------

ARROWS = {1: "↑", -1: "↓", 0: "0"}


def _num(value: object, digits: int = 3) -> str:
    if value is None or value is pd.NA:
        return ""
    value = float(value)  # type: ignore[arg-type]
    return "" if np.isnan(value) else f"{value:.{digits}f}"


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
    rows = []
    for (model, cell), data in runs.items():
        meta = data["meta"]
        parts = ["IG, saliency"]
        if _has(data, ATTENTION_KEYS):
            parts.append("attention")
        if _has(data, CLASSOPT_KEYS):
            parts.append("class optimization")
        if _has(data, LINEAR_KEYS):
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
    return pd.DataFrame(
        {
            "model": sanity["model"],
            "cell": sanity["cell"],
            "input": sanity["source"],
            "P(expressed), ours": sanity["positive"].map(_num),
            "P(expressed), paper": sanity["published_positive"].map(lambda v: _num(v, 2)),
            "P(not expressed), ours": sanity["negative"].map(_num),
            "P(not expressed), paper": sanity["published_negative"].map(lambda v: _num(v, 2)),
        }
    )


def gan_runs_display(gans: Mapping[Key, Mapping[str, Any]]) -> pd.DataFrame:
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
                "final G loss": _num(g[-1]) if g.size else "",
                "final D loss": _num(d[-1]) if d.size else "",
            }
        )
    return pd.DataFrame(rows)


def classopt_losses(runs: Mapping[Key, Mapping[str, Any]]) -> list[str]:
    lines = []
    for (model, cell), data in runs.items():
        if not _has(data, ("classopt_loss_expressed", "classopt_loss_not_expressed")):
            continue
        e = np.asarray(data["classopt_loss_expressed"], dtype=np.float64)
        n = np.asarray(data["classopt_loss_not_expressed"], dtype=np.float64)
        if e.size and n.size:
            lines.append(
                f"{model} · {cell}: {e.size} steps; final loss {e[-1]:.4g} (expressed), {n[-1]:.4g} (not expressed)"
            )
    return lines


TEMPLATE = """\
{%- macro files() -%}
<p class="files">files: {% for n in varargs %}<a href="{{ prefix }}{{ n }}">{{ n }}</a>{% if not loop.last %} · {% endif %}{% endfor %}</p>
{%- endmacro -%}
{%- macro table(html) -%}
<div style="overflow-x:auto">{{ html | safe }}</div>
{%- endmacro -%}
{%- macro figure(stem, alt) -%}
<p><img src="{{ prefix }}{{ stem }}.png" alt="{{ alt }}"></p>
{{ files(stem ~ ".png", stem ~ ".pdf") }}
{%- endmacro -%}
<section id="interpret">
<h2>{{ title }}</h2>
{% if demo_note %}
<p class="warning"><strong>Demo data.</strong> {{ demo_note }}</p>
{% endif %}
<h3>Direction of each mark</h3>
<p>For each model and cell, the sign of the mean signed integrated gradients (IG, zero baseline) of the logit
(log-odds of <em>expressed</em>) over all test genes, summed over bins: ↑ the mark pushes towards expressed, ↓ away.
✓ / ✗: agrees or not with the known biology (active H3K4me3 and H3K36me3 ↑, repressive H3K27me3 and H3K9me3 ↓;
no expectation for other marks). {{ agree_text }}</p>
{% if tables.summary %}
{{ table(tables.summary) }}
{% else %}
<p class="note">No interpretation run.</p>
{% endif %}
{{ files("signs.tsv") }}

<h3>Runs</h3>
<p>Integrated gradients use {{ ig_steps_text }} steps; the completeness gap (sum of a gene's attributions minus
its logit difference to the zero baseline) is at most {{ delta_text }} over all runs and genes.</p>
{% if tables.runs %}
{{ table(tables.runs) }}
{% endif %}

<h3>Attributions</h3>
<p>Per model and cell one row. Left and middle: the mean over the expressed and over the not-expressed test genes of the
signed integrated gradients of the logit, marks × bins (x: bin start in bp from the TSS), a diverging colour scale
centred on 0 (red raises the log-odds of expressed, blue lowers it; limits ± the row's largest |IG|). Right: the mean
signed saliency (input gradient of the logit) over all test genes, one line per mark across the bins.</p>
{{ figure("attributions", "mean signed integrated gradients per class and saliency per mark") }}

<h3>AttentiveChrome: bin-level attention</h3>
<p>Per AttentiveChrome-type model and cell, the bin-level (level 1) attention of each mark, averaged over the expressed
(left) and the not-expressed (right) test genes (true labels); marks × bins, x in bp from the TSS, one colour scale per
model and cell (its min to max).{% if not n_attention %} No AttentiveChrome-type run is configured: the figure says so.{% endif %}</p>
{{ figure("attention_bins", "mean bin-level attention per class") }}

<h3>AttentiveChrome: mark-level attention</h3>
<p>The mark-level (level 2) attention, mean per mark over the expressed (red) and not-expressed (blue) test genes.</p>
{{ figure("attention_marks", "mean mark-level attention per class") }}
{{ files("mark_attention.tsv") }}

<h3>AttentiveChrome: example genes</h3>
<p>For {{ example_runs_text }}: the {{ n_examples }} test genes of highest and the {{ n_examples }} of lowest
predicted P(expressed), one row each; left the model's input signal of the gene (marks × bins, gray), right its
bin-level attention; each left title gives the gene, its true label and P(expressed), the numbers at the right of each
attention panel are the gene's mark-level attention per mark. The genes of one model and cell share one input and one
attention colour scale (min to max over them).</p>
{{ figure("attention_examples", "input signal and attention of example genes") }}

<h3>DeepChrome: class optimization</h3>
<p>Per DeepChrome-type model and cell, the input map (marks × bins, values in [0, 1]) optimized to maximize the
expressed (left) and the not-expressed (right) class score, on one 0-1 colour scale.{% if not n_classopt %} No
class optimization is configured: the figure says so.{% endif %}</p>
{% if classopt_lines %}
<ul>
{% for line in classopt_lines %}<li>{{ line }}</li>
{% endfor %}
</ul>
{% endif %}
{{ figure("class_optimization", "class-optimization maps per class") }}

<h3>Linear model weights (DeepChrome 2.0 Fig. 8)</h3>
<p>The linear model's {{ n_linear_params }} parameters per cell: per mark the weight of the not-expressed (blue) and
of the expressed (red) logit, and the two biases (group <code>bias</code>).{% if not n_linear %} No linear model
(linear12) is configured: the figure says so.{% endif %}</p>
{{ figure("linear_weights", "weights of the linear model per mark and class") }}
{{ files("linear_weights.tsv") }}

<h3>GAN Monte Carlo (DeepChrome 2.0 Fig. 4 and Table 1)</h3>
<p>A GAN learns the training inputs; the classifier scores {{ samples_text }} generated inputs (the paper: {{ paper_samples }}),
keeps the top {{ top_k_text }} (the paper: {{ paper_top_k }}) by P(expressed) and by P(not expressed), averages each
set over samples and bins, and normalizes each mark so the larger of the two classes is 1: red the expressed, blue the
not-expressed profile.{% if not n_gan %} No GAN run is configured: the figure says so.{% endif %}</p>
{{ figure("gan_monte_carlo", "normalized mean input of the top GAN samples per class") }}
<p>Sanity check (Table 1): the classifier's mean P(expressed) and P(not expressed) on real test inputs, GAN samples and
random inputs, ours beside the paper's (real {{ published.real }}, GAN {{ published.gan }}, random {{ published.random }}).</p>
{% if tables.gan %}
{{ table(tables.gan) }}
{% endif %}
{% if tables.gan_runs %}
{{ table(tables.gan_runs) }}
{% endif %}
{{ files("gan_sanity.tsv") }}
{% for text in architectures %}
<p class="note"><strong>GAN architecture.</strong> {{ text }}</p>
{% endfor %}
</section>
"""


def _environment() -> Environment:
    return Environment(
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True
    )


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
        written[name] = _write_tsv(out_dir / name, table)

    data = _figure_data(run_data, gan_data)
    drawers: dict[str, Callable[[], Any]] = {
        "attention_bins": lambda: draw_bin_attention(data["bin_attention"]),
        "attention_marks": lambda: draw_mark_attention(data["mark_attention"]),
        "attention_examples": lambda: draw_attention_examples(data["examples"]),
        "class_optimization": lambda: draw_class_optimization(data["classopt"]),
        "attributions": lambda: draw_attributions(data["ig"], data["saliency"]),
        "linear_weights": lambda: draw_linear_weights(data["linear"]),
        "gan_monte_carlo": lambda: draw_gan_monte_carlo(data["gan"]),
    }
    if tuple(drawers) != INTERPRET_FIGURE_STEMS:  # pragma: no cover - the manifest and this builder disagree
        raise RuntimeError(f"interpret figures {tuple(drawers)} != manifest {INTERPRET_FIGURE_STEMS}")
    for stem, draw in drawers.items():
        for path in save_figure(draw(), out_dir / stem):
            written[path.name] = path

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
        "published": {k: f"{p:.2f} / {n:.2f}" for k, (p, n) in PUBLISHED_SANITY.items()},
        "architectures": sorted({d["architecture"] for d in gan_data.values()}),
        "tables": {
            "summary": html_table(sign_summary(signs)) if not signs.empty else "",
            "runs": html_table(runs_display(run_data)) if run_data else "",
            "gan": html_table(gan_display(sanity)) if not sanity.empty else "",
            "gan_runs": html_table(gan_runs_display(gan_data)) if gan_data else "",
        },
    }
    written["section.html"] = _write_text(
        out_dir / "section.html", _environment().from_string(TEMPLATE).render(**context)
    )
    missing = [n for n in interpret_report_files() if n not in written]
    if missing:  # pragma: no cover - the manifest and this builder disagree
        raise RuntimeError(f"interpret section did not write {', '.join(missing)}")
    return [written[n] for n in interpret_report_files()]
