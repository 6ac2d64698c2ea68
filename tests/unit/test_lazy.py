"""Lazy package exports (chromexpr.lazy), and the guard they exist for: what the Snakefile imports at
DAG-build time loads neither torch nor scikit-learn, scipy or matplotlib."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chromexpr.lazy import lazy_exports

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "sklearn", "scipy", "matplotlib", "captum", "pybedtools")


def make_package(root: Path) -> str:
    """A package ``lazypkg`` whose ``__init__`` exports ``VALUE`` (from ``one``) lazily; importing
    ``one`` appends to a log, so the test sees when it runs."""
    pkg = root / "lazypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from chromexpr.lazy import lazy_exports\n"
        "LOG = []\n"
        "__getattr__, __dir__ = lazy_exports(__name__, {'VALUE': 'one'})\n"
    )
    (pkg / "one.py").write_text("import lazypkg\nlazypkg.LOG.append('one')\nVALUE = 41 + 1\n")
    return "lazypkg"


def test_a_name_loads_its_module_on_first_access_only(tmp_path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    name = make_package(tmp_path)
    import importlib

    pkg = importlib.import_module(name)
    try:
        assert pkg.LOG == [] and f"{name}.one" not in sys.modules
        assert "VALUE" in dir(pkg)
        assert pkg.VALUE == 42 and pkg.LOG == ["one"]
        assert pkg.VALUE == 42 and pkg.LOG == ["one"]  # cached in the package: imported once
        from lazypkg import VALUE  # the from-import form goes through the same hook

        assert VALUE == 42
        with pytest.raises(AttributeError, match="has no attribute 'OTHER'"):
            _ = pkg.OTHER
    finally:
        for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[mod]


def test_lazy_exports_returns_the_two_hooks() -> None:
    getattr_hook, dir_hook = lazy_exports("chromexpr.models", {"DeepChrome": "deepchrome"})
    assert getattr_hook("DeepChrome").__name__ == "DeepChrome"
    assert "DeepChrome" in dir_hook()


def test_every_package_export_resolves() -> None:
    """Each lazily exported name of models, training and plotting exists in the module it names."""
    import chromexpr.models
    import chromexpr.plotting
    import chromexpr.training

    for package in (chromexpr.models, chromexpr.training, chromexpr.plotting):
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{package.__name__}.{name}"


def test_the_snakefile_imports_load_nothing_heavy() -> None:
    """The modules the Snakefile and rules/*.smk import (read from them), and what the workflow asks of every
    experiment's plan while it builds the DAG, in a fresh interpreter."""
    lines = (REPO / "Snakefile").read_text().splitlines()
    for rules in sorted((REPO / "rules").glob("*.smk")):
        lines += rules.read_text().splitlines()
    modules = sorted({line.split()[1] for line in lines if line.startswith("from chromexpr")})
    assert "chromexpr.dag" in modules and "chromexpr.experiments.registry" in modules
    assert "chromexpr.experiments.differential" in modules  # the rules files' plans
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "import chromexpr.models as models\n"
        "models.load_card('deepchrome'); models.load_card('jamaica_cnn')\n"
        "from chromexpr.dag import load_cards, prepare_config, read_yaml\n"
        "from chromexpr.experiments import registry\n"
        f"config = prepare_config(read_yaml({str(REPO / 'config/config.yaml')!r}), {str(REPO / 'config/schemas/config.schema.yaml')!r})\n"
        "cards = load_cards(config)\n"
        "for e in registry.experiments(): e.plan.report_files(config); e.plan.models(config)\n"
        f"print(json.dumps([h for h in {HEAVY!r} if h in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
