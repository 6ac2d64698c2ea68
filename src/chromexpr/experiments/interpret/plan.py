"""The interpretation experiment's runs, read while the DAG is built: per torch classifier of
``experiments.interpret`` and cell, one ``interpret.npz`` of its single-cell run (seed ``seed``), and a GAN
Monte-Carlo for the models of ``gan.models``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chromexpr.errors import InputError
from chromexpr.experiments.registry import block_enabled, block_models, config_block
from chromexpr.reporting.manifest import figure_files

TITLE = "What the models learned"
CONFIG_KEY = "experiments.interpret"
SECTION = "interpret"
RUN = "results/interpret/{model}/{cell}/seed{seed}/interpret.npz"
GAN = "results/interpret/gan/{model}/{cell}/seed{seed}/gan.npz"
#: where DeepChrome 2.0's Table 1 (mean class probabilities of real, GAN and random inputs) is kept: the
#: ``published`` entry of this metric in this model's card
PUBLISHED_CARD = "deepchrome_avgpool"
PUBLISHED_METRIC = "gan_class_probability"


def _block(config: Mapping[str, Any]) -> Mapping[str, Any]:
    return config_block(config, CONFIG_KEY)


def enabled(config: Mapping[str, Any]) -> bool:
    return block_enabled(config, CONFIG_KEY)


def models(config: Mapping[str, Any]) -> list[str]:
    """The classifiers interpreted (none when the experiment is off)."""
    return block_models(config, CONFIG_KEY)


def report_cards(config: Mapping[str, Any]) -> list[str]:
    """The cards the section shows: its models, its GAN models and the card holding the paper's Table 1."""
    if not enabled(config):
        return []
    return list(dict.fromkeys([*models(config), *_block(config)["gan"]["models"], PUBLISHED_CARD]))


def cells(config: Mapping[str, Any]) -> list[str]:
    """The runs' cells: ``cells``, or every configured cell."""
    return list(_block(config)["cells"] or config["cells"])


def files(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every ``interpret.npz`` (``runs``) and ``gan.npz`` (``gans``) of the experiment (none when it is off)."""
    if not enabled(config):
        return {"runs": [], "gans": []}
    block = _block(config)
    seed = block["seed"]
    return {
        "runs": [RUN.format(model=m, cell=c, seed=seed) for m in block["models"] for c in cells(config)],
        "gans": [GAN.format(model=m, cell=c, seed=seed) for m in block["gan"]["models"] for c in cells(config)],
    }


def check(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]], resolve: Callable[[str], Any]) -> None:
    """Its models, cells and seed name single-cell runs the workflow trains, of torch classifiers."""
    block = _block(config)
    trained = list(config["train"]["models"])
    torch_trained = [m for m in trained if cards[m]["framework"] == "torch"]
    bad = [
        m
        for m in block["models"]
        if m not in trained
        or cards[m]["framework"] != "torch"
        or cards[m].get("task", "classification") != "classification"
    ]
    if bad:
        raise InputError(
            f"experiments.interpret.models names {', '.join(bad)}: only torch classifiers of train.models "
            "are interpreted",
            key="experiments.interpret.models",
            hint="choose among " + (", ".join(torch_trained) or "none"),
        )
    for key in ("class_optimization", "gan"):
        extra = [m for m in block[key]["models"] if m not in block["models"]]
        if extra:
            raise InputError(
                f"experiments.interpret.{key}.models names {', '.join(extra)}, not in interpret.models",
                key=f"experiments.interpret.{key}.models",
                hint="add them to experiments.interpret.models, or drop them here",
            )
    gan = block["gan"]
    if gan["models"] and gan["top_k"] > gan["n_samples"]:
        raise InputError(
            f"experiments.interpret.gan.top_k {gan['top_k']} is more than the {gan['n_samples']} samples scored",
            key="experiments.interpret.gan.top_k",
            hint="keep top_k at most n_samples (the paper: 100 of 3 million)",
        )
    unknown = [c for c in cells(config) if c not in config["cells"]]
    if unknown:
        raise InputError(
            f"experiments.interpret.cells names {', '.join(unknown)}, not configured cells",
            key="experiments.interpret.cells",
            hint="name cells of 'cells'",
        )
    seeds = list(config["train"]["seeds"])
    if block["seed"] not in seeds:
        raise InputError(
            f"experiments.interpret.seed {block['seed']} is not one of train.seeds {seeds}",
            key="experiments.interpret.seed",
            hint="name a seed the single-cell runs are trained with",
        )


INTERPRET_FIGURE_STEMS = (
    "attention_bins",
    "attention_marks",
    "attention_examples",
    "class_optimization",
    "attributions",
    "linear_weights",
    "gan_monte_carlo",
)
INTERPRET_TABLE_FILES = (
    "signs.tsv",
    "mark_attention.tsv",
    "gan_sanity.tsv",
    "linear_weights.tsv",
    "section.html",
)


def report_files(config: Mapping[str, Any] | None = None) -> list[str]:
    """Every file ``build_interpret_section`` writes, named relative to its folder (a figure without data is
    written too, saying "not configured", so the list is fixed)."""
    return [*INTERPRET_TABLE_FILES, *figure_files(INTERPRET_FIGURE_STEMS)]
