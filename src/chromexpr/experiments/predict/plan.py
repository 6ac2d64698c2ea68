"""The predictions, read while the DAG is built: every sample of the ``predict.samples`` table by every model of
``predict.models`` (the single-cell runs of ``predict.cell`` and ``predict.seed``), into
``results/predict/{sample}/{model}.tsv`` and its ``.json`` sidecar, and the report's predictions section."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chromexpr.errors import InputError

TITLE = "Predictions on new samples"
CONFIG_KEY = "predict"
SECTION = "predict"  # results/report/predict/: the predictions, their distribution and their calibration
OUTPUT = "results/predict/{sample}/{model}"


def enabled(config: Mapping[str, Any]) -> bool:
    return bool(config["predict"]["samples"])


def models(config: Mapping[str, Any]) -> list[str]:
    """The models applied (none without samples)."""
    return list(config["predict"]["models"]) if enabled(config) else []


def training_cell(config: Mapping[str, Any]) -> str:
    """The training cell of the runs applied: ``predict.cell``, or the first configured cell."""
    return str(config["predict"]["cell"] or config["cells"][0])


def check(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]], resolve: Callable[[str], Any]) -> None:
    """Torch models of train.models, a configured cell and seed, a TSS table where the source has none (the
    samples table and the files it names are read and checked with the other inputs: ``inputs.read``)."""
    block = config["predict"]
    trained = list(config["train"]["models"])
    torch_trained = [m for m in trained if cards[m]["framework"] == "torch"]
    bad = [m for m in block["models"] if m not in torch_trained]
    if bad:
        raise InputError(
            f"predict.models names {', '.join(bad)}: only torch models of train.models can be applied "
            "(their runs' model.pt carries the marks, geometry and normalization a sample needs)",
            key="predict.models",
            hint=f"choose among {', '.join(torch_trained) or 'none'}",
        )
    cell = training_cell(config)
    if cell not in config["cells"]:
        raise InputError(
            f"predict.cell {cell} is not a configured cell", key="predict.cell", hint="name one of 'cells'"
        )
    seeds = list(config["train"]["seeds"])
    if block["seed"] not in seeds:
        raise InputError(
            f"predict.seed {block['seed']} is not one of train.seeds {seeds}",
            key="predict.seed",
            hint="name a seed the single-cell runs are trained with",
        )
    if block["tss"] is None and config["source"]["kind"] == "processed":
        raise InputError(
            "the processed source has no reference TSS table to predict on",
            key="predict.tss",
            hint="give the samples' genes: a TSS table (gene_id chrom tss strand) or a BED6 file",
        )


def targets(config: Mapping[str, Any], samples: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Every sample x model prediction table."""
    return [OUTPUT.format(sample=s, model=m) + ".tsv" for s in sorted(samples) for m in config["predict"]["models"]]


def run_files(config: Mapping[str, Any], names: tuple[str, ...] | None = None) -> list[str]:
    """The files of every single-cell run applied (``predict.models`` on ``predict.cell``, ``predict.seed``) that
    the report's section reads: its record, its own test predictions (calibration) and its history (convergence)."""
    from chromexpr.experiments.registry import SINGLE_CELL_RUN

    if not enabled(config):
        return []
    cell, seed = training_cell(config), config["predict"]["seed"]
    return [
        SINGLE_CELL_RUN.format(model=m, cell=cell, seed=seed) + f"/{n}"
        for m in models(config)
        for n in names or RUN_FILES
    ]


#: the files of an applied run the predictions section reads
RUN_FILES = ("metrics.json", "predictions.tsv.gz", "history.tsv")


def report_files(config: Mapping[str, Any] | None = None) -> list[str]:
    """Every file ``build_predict_section`` writes, named relative to its folder."""
    from chromexpr.reporting.manifest import figure_files

    tables = ["predictions.tsv", "predictions.md", "calibration.tsv", "histogram.tsv", "section.html"]
    return tables + figure_files(["probabilities"])
