"""The predictions section of the report: per sample, the runs applied to it, how its marks were scaled, the
genes left out, the distribution of the probabilities, and how far those probabilities can be trusted.

A probability from a model selected on validation AUROC is a ranking score, not a calibrated probability: the
section measures each applied run's calibration on the genes where the answer is known, the run's own test
genes (``predictions.tsv.gz`` of the run: expected calibration error over 10 equal-width bins, Brier score, and
the spread of its probabilities there), and warns where the run never beat a constant on its validation genes
(``chromexpr.evaluation.runs.run_diagnostics``) or was trained on the demo's simulated reads.

Files (``results/report/predict/``): ``predictions.tsv`` / ``.md`` (one row per sample and model),
``calibration.tsv`` (one row per run and probability bin), ``histogram.tsv`` and ``probabilities.png``/``.pdf``
(the distribution of P per sample and model) and ``section.html``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chromexpr.errors import InputError
from chromexpr.evaluation.runs import collect_metrics, read_predictions, run_diagnostics
from chromexpr.experiments.predict.figures import STEM, histogram_table, probability_figure
from chromexpr.experiments.predict.plan import SECTION, TITLE
from chromexpr.io.jsonio import read_json
from chromexpr.models.display import display_name
from chromexpr.plotting.base import save_figure
from chromexpr.reporting.environment import render_section
from chromexpr.reporting.files import write_text, write_tsv
from chromexpr.reporting.formatting import html_table, markdown

#: equal-width probability bins of the calibration table and the expected calibration error
CALIBRATION_BINS = 10
#: a run's expected calibration error above this is called poorly calibrated in the section
ECE_WARNING = 0.05


def calibration(labels: np.ndarray, probability: np.ndarray, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Reliability table of ``probability`` against 0/1 ``labels``: per equal-width bin of [0, 1] (the last bin
    closed), ``n``, ``mean_probability`` and ``positive_fraction`` (NaN where empty)."""
    labels = np.asarray(labels, dtype=np.float64)
    probability = np.asarray(probability, dtype=np.float64)
    index = np.minimum((probability * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        inside = index == b
        n = int(inside.sum())
        rows.append(
            {
                "bin": f"[{b / bins:.1f}, {(b + 1) / bins:.1f}{']' if b == bins - 1 else ')'}",
                "n": n,
                "mean_probability": float(probability[inside].mean()) if n else np.nan,
                "positive_fraction": float(labels[inside].mean()) if n else np.nan,
            }
        )
    return pd.DataFrame(rows)


def expected_calibration_error(table: pd.DataFrame) -> float:
    """Sum over bins of (bin genes / genes) x |positive fraction - mean probability| (Naeini et al. 2015)."""
    full = table[table["n"] > 0]
    total = full["n"].sum()
    if not total:
        return float("nan")
    gaps = (full["positive_fraction"] - full["mean_probability"]).abs()
    return float((full["n"] * gaps).sum() / total)


def _run_of(info: dict[str, Any], path: Path) -> Path:
    model = info.get("model")
    if not isinstance(model, str) or not model.endswith("model.pt"):
        raise InputError("the sidecar does not name the model.pt applied", path=path, hint="re-run the prediction")
    return Path(model).parent


def build_predict_section(
    tables: Sequence[str | Path],
    out_dir: str | Path,
    *,
    source_kind: str | None = None,
    link_prefix: str = f"{SECTION}/",
) -> dict[str, Path]:
    """Write the predictions section from the prediction tables ``results/predict/{sample}/{model}.tsv`` (each with
    its ``.json`` sidecar beside it; the run each applies is read from its folder).

    Returns:
        file name -> written path, for every file of ``plan.report_files``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, curves, scores = [], [], {}
    for table_path in map(Path, tables):
        sample = table_path.parent.name
        sidecar = table_path.with_suffix(".json")
        info = read_json(sidecar)
        run = _run_of(info, sidecar)
        predicted = pd.read_csv(table_path, sep="\t")
        if "probability" not in predicted.columns:
            raise InputError("not a classification prediction (no probability column)", path=table_path)
        p = predicted["probability"].to_numpy(dtype=np.float64)
        metrics = collect_metrics([run / "metrics.json"])
        diagnostics = run_diagnostics(metrics).iloc[0]
        own = read_predictions(run / "predictions.tsv.gz")
        own = own[own["split"] == "test"]
        reliability = calibration(own["label"].to_numpy(), own["probability"].to_numpy())
        ece = expected_calibration_error(reliability)
        brier = float(np.mean((own["probability"].to_numpy() - own["label"].to_numpy()) ** 2))
        card = str(info.get("card"))
        ratio = (info.get("input") or {}).get("depth_ratio") or {}
        caveats = []
        if source_kind == "demo":
            caveats.append(f"demo run: trained on simulated reads, {int(diagnostics['epochs_run'])} epoch(s)")
        if not bool(diagnostics["converged"]):
            caveats.append("not converged: its best validation loss never beat a constant prediction")
        if np.isfinite(ece) and ece > ECE_WARNING:
            caveats.append(f"poorly calibrated on its own test genes (ECE {ece:.3f})")
        rows.append(
            {
                "sample": sample,
                "model": card,
                "run": str(run),
                "trained_on": info.get("trained_on"),
                "test_auroc_own": float(metrics["test_auroc"].iloc[0]),
                "genes": int(len(predicted)),
                "genes_left_out": int(info.get("genes_left_out") or 0),
                "depth_ratio": ", ".join(f"{m} {v:.3g}" for m, v in ratio.items()) or "",
                "p_min": float(p.min()),
                "p_median": float(np.median(p)),
                "p_max": float(p.max()),
                "fraction_p_over_half": float((p > 0.5).mean()),
                "own_test_p_range": f"{own['probability'].min():.3f}-{own['probability'].max():.3f}",
                "ece_own_test": ece,
                "brier_own_test": brier,
                "caveat": "; ".join(caveats),
            }
        )
        curves.append(reliability.assign(sample=sample, model=card, run=str(run)))
        scores[(sample, card)] = p
    if not rows:
        raise InputError("no prediction table given: nothing to report", hint="configure predict.samples")
    summary = pd.DataFrame(rows)
    written: dict[str, Path] = {}
    written["predictions.tsv"] = write_tsv(out_dir / "predictions.tsv", summary)
    cal = pd.concat(curves, ignore_index=True)[
        ["sample", "model", "run", "bin", "n", "mean_probability", "positive_fraction"]
    ]
    written["calibration.tsv"] = write_tsv(out_dir / "calibration.tsv", cal)
    histogram = histogram_table(scores)
    written["histogram.tsv"] = write_tsv(out_dir / "histogram.tsv", histogram)
    for path in save_figure(probability_figure(histogram), out_dir / STEM):
        written[path.name] = path
    shown = summary.assign(
        model=summary["model"].map(display_name),
        **{c: summary[c].map(lambda v: f"{v:.3f}") for c in ("p_min", "p_median", "p_max", "test_auroc_own")},
        fraction_p_over_half=summary["fraction_p_over_half"].map(lambda v: f"{100 * v:.0f}%"),
        ece_own_test=summary["ece_own_test"].map(lambda v: f"{v:.3f}"),
        brier_own_test=summary["brier_own_test"].map(lambda v: f"{v:.3f}"),
    ).drop(columns=["run"])
    context = {
        "title": TITLE,
        "prefix": link_prefix,
        "n_samples": summary["sample"].nunique(),
        "n_tables": len(summary),
        "table": html_table(shown),
        "ece_warning": ECE_WARNING,
        "caveats": [f"{r['sample']}, {display_name(r['model'])}: {r['caveat']}" for r in rows if r["caveat"]],
    }
    written["predictions.md"] = write_text(out_dir / "predictions.md", f"# {TITLE}\n\n{markdown(shown)}\n")
    written["section.html"] = write_text(out_dir / "section.html", render_section(__file__, context))
    return written


__all__ = ["CALIBRATION_BINS", "build_predict_section", "calibration", "expected_calibration_error"]
