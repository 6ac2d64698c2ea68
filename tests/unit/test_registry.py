"""Tests of chromexpr.experiments.registry: one ordered list of experiments drives what the workflow asks of
them, and nothing else names them."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import yaml

from chromexpr.dag import prepare_config
from chromexpr.experiments import registry

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "chromexpr"


def demo() -> dict:
    return prepare_config(
        yaml.safe_load((REPO / "config" / "config.yaml").read_text()), REPO / "config/schemas/config.schema.yaml"
    )


def test_every_experiment_has_a_package_a_plan_and_a_rules_file():
    assert registry.NAMES == (
        "single_cell",
        "transfer",
        "cross_cell",
        "differential",
        "regression",
        "interpret",
        "predict",
    )
    for experiment in registry.experiments():
        plan = experiment.plan
        for name in ("TITLE", "CONFIG_KEY", "SECTION", "check", "report_files"):
            assert hasattr(plan, name), (experiment.name, name)
        assert (REPO / "rules" / f"{experiment.name}.smk").is_file()
        assert (REPO / "tests" / "experiments" / experiment.name).is_dir()


def test_the_demo_runs_every_experiment_in_page_order():
    config = demo()
    assert [e.name for e in registry.enabled(config)] == list(registry.NAMES)
    assert registry.sections(config) == [
        "results/report/transfer/section.html",
        "results/report/cross_cell/section.html",
        "results/report/differential/section.html",
        "results/report/regression/section.html",
        "results/report/interpret/section.html",
        "results/report/predict/section.html",
    ]
    # single-cell runs: train.models, then those other experiments read (transfer's, the cross-cell model)
    assert registry.single_cell_models(config)[:14] == list(config["train"]["models"])
    off = copy.deepcopy(config)
    for block in off["experiments"].values():
        block["enabled"] = False
    off["predict"]["samples"] = None
    assert [e.name for e in registry.enabled(off)] == ["single_cell"] and registry.sections(off) == []
    assert registry.window_bp(off) == 5000 and registry.window_bp(config) == 10000


def test_nothing_outside_the_registry_imports_an_experiment():
    """The core (every module outside experiments/) imports no experiment package, except the modules that
    iterate the registry; experiments never import each other."""
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        tree = ast.parse(path.read_text())
        names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        experiments = {
            n for n in names if n.startswith("chromexpr.experiments.") and n != "chromexpr.experiments.registry"
        }
        if rel.parts[0] == "experiments" and len(rel.parts) > 2:
            own = f"chromexpr.experiments.{rel.parts[1]}"
            assert {n for n in experiments if not n.startswith(own)} == set(), rel
        else:
            assert experiments == set(), rel


def test_plan_functions_default_in_one_place():
    """``enabled``, ``models``, ``single_cell_models`` and ``window_bp`` are optional in a plan: the registry's
    defaults read the experiment's block (``enabled``, ``models``) or give none."""
    config = demo()
    differential = registry.experiment("differential")
    block = config["experiments"]["differential"]
    assert differential.enabled(config) and differential.models(config) == list(block["models"])
    assert differential.single_cell_models(config) == [] and not hasattr(differential.plan, "single_cell_models")
    assert registry.experiment("interpret").window_bp(config) is None
    off = {**config, "experiments": {**config["experiments"], "differential": {**block, "enabled": False}}}
    assert not differential.enabled(off) and differential.models(off) == []
    assert registry.config_block(config, "experiments.differential") is block
    assert registry.block_models(off, "experiments.differential") == []
