"""The library's layering (DESIGN.md section 2): each layer imports only the layers below it.

io < preprocess < dataset < sources < models (and the cards' published numbers) < training < plotting < evaluation
< reporting (the report core assembles what evaluation computes and plotting draws) < experiments (one package
each over that core), all above the base modules (``chromexpr``, ``errors``, ``logs``).
Imports anywhere in a module count, inside functions too, so a reverse import cannot hide in a
function body.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "chromexpr"

#: rank of each layer; a module may import modules of a lower rank, or of its own layer
RANKS = {
    "chromexpr": 0,
    "chromexpr.errors": 0,
    "chromexpr.logs": 0,
    "chromexpr.io": 1,
    "chromexpr.preprocess": 2,
    "chromexpr.dataset": 3,
    "chromexpr.sources": 4,
    "chromexpr.models": 5,
    "chromexpr.published": 5.5,  # reads the cards (models) and the shipped tables
    # the metrics (AUROC, AUPR) import only chromexpr.errors and scikit-learn: training selects epochs and scores
    # tests with them, so they rank below training though DESIGN.md places them in evaluation/
    "chromexpr.evaluation.metrics": 5.9,
    "chromexpr.training": 6,
    "chromexpr.plotting": 7,
    "chromexpr.evaluation": 8,
    "chromexpr.reporting": 9,
    "chromexpr.experiments": 10,
}
#: known upward imports, each with its reason; a new one fails the test
ALLOWED: set[tuple[str, str]] = set()


def _layer(module: str) -> str | None:
    """The layer of a dotted module name (the longest prefix in RANKS), None when unranked."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in RANKS and (n > 1 or module == "chromexpr"):
            return prefix
    return None


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every chromexpr import in the file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "chromexpr"]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module
            and node.module.split(".")[0] == "chromexpr"
        ):
            found += [(node.lineno, node.module)]
    return found


LAYERED = sorted(p for p in SRC.rglob("*.py") if _layer(_module_name(p)) not in (None, "chromexpr"))


@pytest.mark.parametrize("path", LAYERED, ids=lambda p: str(p.relative_to(SRC)))
def test_module_imports_only_lower_layers(path: Path) -> None:
    own = _layer(_module_name(path))
    assert own is not None
    bad = []
    for line, module in _imports(path):
        other = _layer(module)
        if other is None or other == own or other == "chromexpr":
            continue
        if (_module_name(path), module) in ALLOWED:
            continue
        if RANKS[other] >= RANKS[own]:
            bad.append(f"{path.relative_to(SRC)}:{line} imports {module} ({other} is not below {own})")
    assert not bad, "\n".join(bad)


def test_the_layers_exist() -> None:
    # a renamed layer would silently pass the test above
    for name in RANKS:
        if name == "chromexpr":
            continue
        rel = Path(*name.split(".")[1:])
        assert (SRC / rel).is_dir() or (SRC / rel).with_suffix(".py").is_file(), name
    assert not (SRC / "io" / "processed.py").exists() and not (SRC / "preprocess" / "dataset.py").exists()
