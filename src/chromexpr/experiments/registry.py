"""The experiments in the order the report shows them, and what the workflow asks of all of them.

Everything that lists experiments goes through here: the Snakefile includes ``rules/<name>.smk`` for each, the
config schema holds each one's block (``experiments/<name>/schema.yaml``), the config checks run each one's
``check``, the default target and the report page take each enabled one's targets and section, and
``snakemake figures`` redraws each section. Adding an experiment means a package here with a ``plan`` module,
one rules file, one config block with its schema, one test folder, and one name in ``NAMES``.

A plan module (``chromexpr.experiments.<name>.plan``, light: read while the DAG is built) defines:

=======================  ===================================================================================
``TITLE``                the report's name of the experiment
``CONFIG_KEY``           where its config block lives (dotted; its schema is ``schema.yaml`` beside it, except
                         for the single-cell block ``train``, which the core schema holds: every torch
                         experiment reads its training settings)
``SECTION``              the folder of its report section under ``results/report/`` (``""``: the page's own
                         folder), or None for an experiment without one
``enabled(config)``      optional: whether it runs (default: its block's ``enabled``)
``models(config)``       optional: the cards it trains or applies, none when off (default: its block's ``models``)
``single_cell_models``   optional: the single-cell runs it reads, none when off: they are trained for it
                         (default: none)
``gene_set(config)``     optional: the gene set its datasets and the single-cell runs it reads are on
                         (default ``default``; ``chromexpr.experiments.gene_sets``)
``window_bp(config)``    optional: the widest window its datasets need (default None: ``bins.window_bp``;
                         reads are binned once, at the widest)
``check(config, cards, resolve)``  the rules its schema cannot say; ``resolve`` turns a configured path into a
                         readable one
``report_files(config)`` the files its report job writes into its section folder
``report_cards(config)`` optional: the cards its report shows (default: its single-cell models and models); their
                         documentation (display names, colours, published numbers) is a param of its report job
=======================  ===================================================================================

An experiment that reads files of its own (a table the config names) has an ``inputs`` module beside its plan
(``chromexpr.experiments.<name>.inputs``, imported by no workflow script) whose ``read(config, cards, paths)`` reads
and checks them while the DAG is built and returns what its rules use (``chromexpr.inputs.check_inputs``).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

#: the experiments, in the order of the report page
NAMES = ("single_cell", "transfer", "cross_cell", "differential", "regression", "interpret", "predict")
REPORT_ROOT = "results/report"
#: the folder of a single-cell run: the runs several experiments read (transfer's origin, the cross-cell
#: baseline and Test-on-Rest, the interpretations, the predictions)
SINGLE_CELL_RUN = "results/runs/single_cell/{model}/{cell}/seed{seed}"


@dataclass(frozen=True)
class Experiment:
    """One experiment: its name (package, rules file, report folder) and its plan module."""

    name: str
    plan: ModuleType

    @property
    def title(self) -> str:
        return str(self.plan.TITLE)

    @property
    def config_key(self) -> str:
        return str(self.plan.CONFIG_KEY)

    @property
    def section_dir(self) -> str | None:
        """``results/report/<folder>`` of its report section, or None."""
        folder = self.plan.SECTION
        if folder is None:
            return None
        return f"{REPORT_ROOT}/{folder}" if folder else REPORT_ROOT

    def enabled(self, config: Mapping[str, Any]) -> bool:
        """Whether the config runs it: the plan's ``enabled``, else its block's ``enabled``."""
        if hasattr(self.plan, "enabled"):
            return bool(self.plan.enabled(config))
        return block_enabled(config, self.config_key)

    def models(self, config: Mapping[str, Any]) -> list[str]:
        """The cards it trains or applies: the plan's ``models``, else its block's ``models`` (none when off)."""
        if hasattr(self.plan, "models"):
            return list(self.plan.models(config))
        return block_models(config, self.config_key)

    def single_cell_models(self, config: Mapping[str, Any]) -> list[str]:
        """The single-cell runs it reads (the plan's ``single_cell_models``; default none)."""
        return list(self.plan.single_cell_models(config)) if hasattr(self.plan, "single_cell_models") else []

    def gene_set(self, config: Mapping[str, Any]) -> str:
        """The gene set its datasets and the single-cell runs it reads are on (the plan's ``gene_set``; default
        ``default``: the reference and split blocks' set, ``chromexpr.experiments.gene_sets``)."""
        return str(self.plan.gene_set(config)) if hasattr(self.plan, "gene_set") else "default"

    def window_bp(self, config: Mapping[str, Any]) -> int | None:
        """The widest window its datasets need (the plan's ``window_bp``; default None)."""
        return self.plan.window_bp(config) if hasattr(self.plan, "window_bp") else None

    def schema_file(self) -> Path | None:
        """Its config block's JSON schema (``schema.yaml`` in its package), or None."""
        path = Path(self.plan.__file__).with_name("schema.yaml")
        return path if path.is_file() else None

    def report_cards(self, config: Mapping[str, Any]) -> list[str]:
        """The cards its report shows: the plan's ``report_cards``, else its single-cell models and models."""
        if hasattr(self.plan, "report_cards"):
            return list(self.plan.report_cards(config))
        return list(dict.fromkeys([*self.single_cell_models(config), *self.models(config)]))

    def inputs(self) -> ModuleType | None:
        """Its ``inputs`` module (the files of its own it reads and checks while the DAG is built), or None."""
        if importlib.util.find_spec(f"chromexpr.experiments.{self.name}.inputs") is None:
            return None
        return self.module("inputs")

    def module(self, part: str) -> ModuleType:
        """``chromexpr.experiments.<name>.<part>`` (imported on first use)."""
        return importlib.import_module(f"chromexpr.experiments.{self.name}.{part}")


def experiments() -> list[Experiment]:
    """Every experiment, in ``NAMES`` order."""
    return [Experiment(name, importlib.import_module(f"chromexpr.experiments.{name}.plan")) for name in NAMES]


def experiment(name: str) -> Experiment:
    """The experiment called ``name``."""
    if name not in NAMES:
        raise KeyError(f"no experiment {name!r} (experiments: {', '.join(NAMES)})")
    return Experiment(name, importlib.import_module(f"chromexpr.experiments.{name}.plan"))


def enabled(config: Mapping[str, Any]) -> list[Experiment]:
    """The experiments the config runs, in order."""
    return [e for e in experiments() if e.enabled(config)]


def single_cell_models(config: Mapping[str, Any], gene_set: str = "default") -> list[str]:
    """Every card with single-cell runs on ``gene_set``: on the default set ``train.models``, then the models
    whose single-cell runs another enabled experiment on that set reads (transfer's origin runs, the cross-cell
    model's baseline and Test-on-Rest)."""
    models: list[str] = []
    for e in experiments():
        if e.gene_set(config) == gene_set:
            models.extend(e.single_cell_models(config))
    return list(dict.fromkeys(models))


def models(config: Mapping[str, Any]) -> list[str]:
    """Every card the config's experiments train or apply, single-cell runs first."""
    from chromexpr.experiments import gene_sets

    names = [m for name in ("default", *gene_sets.used(config)) for m in single_cell_models(config, name)]
    for e in experiments():
        names.extend(e.models(config))
    return list(dict.fromkeys(names))


def cards(config: Mapping[str, Any]) -> list[str]:
    """Every card the workflow reads: ``models(config)``, then the cards the enabled experiments' reports show."""
    names = models(config)
    for e in enabled(config):
        names.extend(e.report_cards(config))
    return list(dict.fromkeys(names))


def window_bp(config: Mapping[str, Any]) -> int:
    """The widest window any enabled experiment's datasets need (``bins.window_bp`` at least)."""
    widths = [int(config["bins"]["window_bp"])]
    for e in experiments():
        width = e.window_bp(config)
        if width is not None:
            widths.append(int(width))
    return max(widths)


def check(
    config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]], resolve: Callable[[str], Any] | None = None
) -> None:
    """Every enabled experiment's own checks (``InputError`` naming the key); ``cards`` holds ``models(config)``."""
    for e in experiments():
        if e.enabled(config):
            e.plan.check(config, cards, resolve or (lambda p: p))


def sections(config: Mapping[str, Any]) -> list[str]:
    """``section.html`` of every enabled experiment with a section folder of its own, in page order (the
    single-cell section is the page's own: it is built with it)."""
    return [f"{e.section_dir}/section.html" for e in enabled(config) if e.section_dir not in (None, REPORT_ROOT)]


def config_block(config: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """The config block at the dotted ``key`` (e.g. ``experiments.differential``)."""
    block: Any = config
    for part in key.split("."):
        block = block[part]
    return block


def block_enabled(config: Mapping[str, Any], key: str) -> bool:
    """The ``enabled`` flag of the block at ``key``."""
    return bool(config_block(config, key)["enabled"])


def block_models(config: Mapping[str, Any], key: str) -> list[str]:
    """The ``models`` of the block at ``key``, or none when the block is off."""
    return list(config_block(config, key)["models"]) if block_enabled(config, key) else []


def duplicates(values: Sequence[str]) -> list[str]:
    """The values listed more than once, in order of their second appearance."""
    seen: set[str] = set()
    dup: list[str] = []
    for v in values:
        if v in seen and v not in dup:
            dup.append(v)
        seen.add(v)
    return dup
