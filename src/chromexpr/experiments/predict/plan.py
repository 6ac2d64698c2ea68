"""The predictions, read while the DAG is built: every sample of the ``predict.samples`` table by every model of
``predict.models`` (the single-cell runs of ``predict.cell`` and ``predict.seed``), into
``results/predict/{sample}/{model}.tsv`` and its ``.json`` sidecar."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from chromexpr.errors import InputError
from chromexpr.experiments.registry import SINGLE_CELL_RUN

TITLE = "Predictions on new samples"
CONFIG_KEY = "predict"
SECTION = None  # no report section (yet): results/predict/ holds the tables
OUTPUT = "results/predict/{sample}/{model}"
#: where a path of the samples table may not exist yet: files this workflow makes
WORKFLOW_OUTPUTS = ("resources/", "results/")


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
    samples table itself is read and checked with the files it names by the rules, ``rules/predict.smk``)."""
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


def check_samples(
    config: Mapping[str, Any],
    cards: Mapping[str, Mapping[str, Any]],
    samples: Mapping[str, Mapping[str, str]],
    path: str | Path,
    resolve: Callable[[str], Any],
) -> None:
    """The samples table (``{sample: {mark: path}}``, read from ``path``): every sample has a file for each mark
    its models take and none they do not, and every file exists (a path under ``WORKFLOW_OUTPUTS`` is the
    workflow's own, made later)."""
    needed = {m: list(cards[m]["input"]["marks"]) for m in config["predict"]["models"]}
    used = {mark for marks in needed.values() for mark in marks}
    for sample, files in samples.items():
        for model, marks in needed.items():
            missing = [mark for mark in marks if mark not in files]
            if missing:
                raise InputError(
                    f"sample {sample} has no file for {', '.join(missing)}, which {model} takes",
                    path=path,
                    hint=f"add a row '{sample} MARK path' for each, or drop {model} from predict.models",
                )
        unused = sorted(set(files) - used)
        if unused:
            raise InputError(
                f"sample {sample}: no model of predict.models takes {', '.join(unused)}",
                path=path,
                hint="remove those rows, or check the mark names against the cards' input.marks",
            )
        for mark, file in files.items():
            if not file.startswith(WORKFLOW_OUTPUTS) and not Path(resolve(file)).is_file():
                raise InputError(
                    f"the file of {sample}/{mark} does not exist: {file}",
                    path=path,
                    hint="fix the path (relative paths are taken from the working directory)",
                )


def inputs(
    config: Mapping[str, Any],
    cards: Mapping[str, Mapping[str, Any]],
    samples: Mapping[str, Mapping[str, str]],
    sample: str,
    model: str,
    resolve: Callable[[str], Any],
) -> dict[str, str]:
    """A prediction job's inputs: the run's ``model.pt``, the TSS table, and the sample's file of each mark the
    model takes (named ``mark_<MARK>``)."""
    block = config["predict"]
    run = SINGLE_CELL_RUN.format(model=model, cell=training_cell(config), seed=block["seed"])
    tss = "results/reference/tss.tsv" if block["tss"] is None else str(resolve(block["tss"]))
    found = {"model": f"{run}/model.pt", "tss": tss}
    for mark in cards[model]["input"]["marks"]:
        file = samples[sample][mark]
        found[f"mark_{mark}"] = file if file.startswith(WORKFLOW_OUTPUTS) else str(resolve(file))
    return found


def targets(config: Mapping[str, Any], samples: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Every sample x model prediction table."""
    return [OUTPUT.format(sample=s, model=m) + ".tsv" for s in sorted(samples) for m in config["predict"]["models"]]


def report_files(config: Mapping[str, Any]) -> list[str]:
    return []
