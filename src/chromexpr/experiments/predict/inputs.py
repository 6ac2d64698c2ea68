"""The predict samples, read and checked while the DAG is built (``chromexpr.inputs.check_inputs``): the samples
table (``predict.samples``: ``sample mark path``), every file it names, and the TSS table; and the inputs of a
prediction job. No workflow script imports this module."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from chromexpr.errors import InputError
from chromexpr.experiments.predict.plan import training_cell
from chromexpr.experiments.registry import SINGLE_CELL_RUN
from chromexpr.inputs import (
    Paths,
    check_duplicates,
    config_path,
    job_input,
    made_by_workflow,
    missing_file,
    source_key,
    user_file,
)


def read(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]], paths: Paths) -> dict[str, dict[str, str]]:
    """The samples table as ``{sample: {mark: path}}`` (``check_samples``), and the TSS table (``predict.tss``)
    there."""
    table_path = str(paths.resolve(config["predict"]["samples"]))
    table = paths.table(table_path, "predict.schema.yaml")
    check_duplicates(table, ["sample", "mark"], table_path)
    samples: dict[str, dict[str, str]] = {}
    for row in table.itertuples():
        samples.setdefault(row.sample, {})[row.mark] = row.path
    check_samples(config, cards, samples, table_path, paths.resolve)
    if config["predict"]["tss"] is not None:
        config_path(config, "predict.tss", paths.resolve)
    return samples


def check_samples(
    config: Mapping[str, Any],
    cards: Mapping[str, Mapping[str, Any]],
    samples: Mapping[str, Mapping[str, str]],
    path: str | Path,
    resolve: Callable[[str], Any],
) -> None:
    """The samples table (``{sample: {mark: path}}``, read from ``path``): every sample has a file for each mark
    its models take and none they do not, and every file exists (or is one this workflow makes:
    ``chromexpr.inputs.made_by_workflow``)."""
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
            if not made_by_workflow(file, config) and not Path(resolve(file)).is_file():
                raise InputError(
                    f"the file of {sample}/{mark} does not exist: {missing_file(file)}",
                    path=path,
                    hint="fix the path (relative paths are taken from the working directory; a file under "
                    "resources/ must be one this workflow makes for its source and cells)",
                )


def job_inputs(
    config: Mapping[str, Any],
    cards: Mapping[str, Mapping[str, Any]],
    samples: Mapping[str, Mapping[str, str]],
    sample: str,
    model: str,
    resolve: Callable[[str], Any],
) -> dict[str, str]:
    """A prediction job's inputs: the run's ``model.pt``, the TSS table, the source's chromosome sizes (none for
    the processed source), and the sample's file of each mark the model takes (named ``mark_<MARK>``)."""
    block = config["predict"]
    run = SINGLE_CELL_RUN.format(model=model, cell=training_cell(config), seed=block["seed"])
    tss = "results/reference/tss.tsv" if block["tss"] is None else job_input(config, "predict.tss", resolve)
    found = {"model": f"{run}/model.pt", "tss": tss}
    source = config["source"]["kind"]
    if source != "processed":  # the assembly's sizes: a gene whose window leaves its chromosome has no data
        found["chrom_sizes"] = job_input(config, f"source.{source_key(source)}.chrom_sizes", resolve)
    for mark in cards[model]["input"]["marks"]:
        found[f"mark_{mark}"] = user_file(samples[sample][mark], config, resolve)
    return found
