"""The transfer experiment's runs, read while the DAG is built: per torch model of ``experiments.transfer``, the
source's uncross run scored on (honest protocol) or trained for (paper protocol) each target, and for a card with
a domain head its cross run; each target's origin is its single-cell run, on the experiment's gene set."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chromexpr.errors import InputError
from chromexpr.experiments import gene_sets
from chromexpr.experiments.registry import block_enabled, block_models, config_block, duplicates
from chromexpr.reporting.manifest import figure_files

TITLE = "Cross-cell transfer (TransferChrome)"
CONFIG_KEY = "experiments.transfer"
SECTION = "transfer"
RUN = "results/runs/transfer/{model}_{variant}/{source}_to_{target}/seed{seed}"


def _block(config: Mapping[str, Any]) -> Mapping[str, Any]:
    return config_block(config, CONFIG_KEY)


def enabled(config: Mapping[str, Any]) -> bool:
    return block_enabled(config, CONFIG_KEY)


def models(config: Mapping[str, Any]) -> list[str]:
    """The experiment's cards (none when it is off)."""
    return block_models(config, CONFIG_KEY)


def single_cell_models(config: Mapping[str, Any]) -> list[str]:
    """Each model's origin is its single-cell run of the target (and, honestly, its uncross the source's), on the
    experiment's gene set."""
    return models(config)


def gene_set(config: Mapping[str, Any]) -> str:
    """The experiment's gene set (``gene_set``; null: the default set): its datasets and single-cell runs."""
    return gene_sets.of(_block(config))


def dataset(config: Mapping[str, Any], cell: str = "{cell}") -> str:
    """The dataset of ``cell`` on the experiment's gene set."""
    return gene_sets.dataset(gene_set(config), cell)


def single_cell_run(config: Mapping[str, Any]) -> str:
    """The folder pattern of the single-cell runs the experiment reads (its gene set's)."""
    return gene_sets.single_cell_run(gene_set(config))


def targets(config: Mapping[str, Any]) -> list[str]:
    """Target cells: ``targets``, or every cell but the source."""
    block = _block(config)
    listed = block["targets"]
    return list(listed) if listed else [c for c in config["cells"] if c != block["source"]]


def cross_models(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The models with a ``_cross`` variant: cards with a domain head."""
    return [m for m in models(config) if cards[m].get("domain_adaptation")]


def check(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]], resolve: Callable[[str], Any]) -> None:
    """Cells that exist, a source that is not a target, torch cards, at least one with a domain head."""
    block = _block(config)
    cells = list(config["cells"])
    key = "experiments.transfer"
    if block["source"] not in cells:
        raise InputError(
            f"source cell {block['source']} is not in 'cells' ({', '.join(cells)})",
            key=f"{key}.source",
            hint="name one of the configured cells (the paper: E085), or switch the experiment off: "
            "experiments: {transfer: {enabled: false}}",
        )
    listed = targets(config)
    unknown = [t for t in listed if t not in cells]
    if unknown:
        raise InputError(
            f"target cell(s) {', '.join(unknown)} not in 'cells'", key=f"{key}.targets", hint="list configured cells"
        )
    if block["source"] in listed:
        raise InputError(
            f"the source {block['source']} is also a target", key=f"{key}.targets", hint="drop it from targets"
        )
    if not listed:
        raise InputError("no target cell", key=f"{key}.targets", hint="configure at least two cells")
    dup = duplicates(list(block["models"]) + duplicates(listed))
    if dup:
        raise InputError(f"{', '.join(dup)} listed more than once", key=key)
    for model in block["models"]:
        if cards[model]["framework"] != "torch":
            raise InputError(
                f"'{model}' is a scikit-learn card; the transfer experiment trains torch models",
                key=f"{key}.models",
                hint="use transferchrome, deepchrome, convchrome or another torch card",
            )
    if not cross_models(config, cards):
        raise InputError(
            "no model has a domain head, so there is no _cross variant to train",
            key=f"{key}.models",
            hint="include transferchrome",
        )


def job_info(config: Mapping[str, Any], variant: str) -> dict[str, Any]:
    """What a transfer job uses besides the card: the protocol (and for ``cross`` the lambda schedule)."""
    block = _block(config)
    info: dict[str, Any] = {"protocol": block["protocol"]}
    if variant == "cross":
        info["lambda_schedule"] = block["lambda_schedule"]
    return info


def uncross_inputs(config: Mapping[str, Any], model: str, source: str, target: str, seed: int | str) -> dict[str, str]:
    """An uncross job's inputs: both datasets (the source's test genes probe the features), and under the
    honest protocol the source's single-cell run, whose model is scored."""
    files = {"source": dataset(config, source), "target": dataset(config, target)}
    if _block(config)["protocol"] == "honest":
        run = single_cell_run(config).format(model=model, cell=source, seed=seed)
        files.update(
            trained_model=f"{run}/model.pt",
            trained_metrics=f"{run}/metrics.json",
            trained_history=f"{run}/history.tsv",
            trained_predictions=f"{run}/predictions.tsv.gz",
        )
    return files


def run_files(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]], name: str) -> list[str]:
    """``name`` of every uncross run, then every cross run, of the experiment (none when it is off)."""
    if not enabled(config):
        return []
    source, seeds = _block(config)["source"], config["train"]["seeds"]
    out = []
    for variant, variant_models in (("uncross", models(config)), ("cross", cross_models(config, cards))):
        out += [
            RUN.format(model=m, variant=variant, source=source, target=t, seed=s) + f"/{name}"
            for m in variant_models
            for t in targets(config)
            for s in seeds
        ]
    return out


def origin_files(config: Mapping[str, Any], name: str) -> list[str]:
    """``name`` of every target's single-cell run of every model on the experiment's gene set (the origin rows)."""
    if not enabled(config):
        return []
    return [
        single_cell_run(config).format(model=m, cell=t, seed=s) + f"/{name}"
        for m in models(config)
        for t in targets(config)
        for s in config["train"]["seeds"]
    ]


TRANSFER_FIGURE_STEMS = ("fig4_per_target", "domain_curves")


def report_files(config: Mapping[str, Any] | None = None) -> list[str]:
    """Every file ``build_transfer_section`` writes, named relative to its folder."""
    tables = ["table3.tsv", "table3.md", "per_target.tsv", "paired.tsv", "domain_curves.tsv", "section.html"]
    return tables + figure_files(TRANSFER_FIGURE_STEMS)
