"""What the Snakefile calls while it builds the DAG, before any job runs.

* ``prepare_config``: the config against its JSON schema, with one short message per problem
  (the key, what is wrong, the nearest valid key for a typo) instead of a schema dump, then its defaults.
* ``check_config``: the rules the schema cannot say (window a multiple of the bin, no duplicate
  marks or cells, the marks every configured model card needs, a trained reference model, ...).
* ``code_hash``: a hash of every chromexpr module a workflow script imports, found by walking the
  imports (``ast``), so that a library edit re-runs exactly the rules whose code changed.
* ``read_yaml``: a YAML file, with the file and line of a syntax error.

None of this is imported by the workflow scripts, so editing it re-runs nothing.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import difflib
import functools
import hashlib
import importlib.util
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from chromexpr.errors import InputError
from chromexpr.io.deepchrome_csv import DEEPCHROME_MARKS
from chromexpr.models import load_card

PACKAGE = "chromexpr"


@contextlib.contextmanager
def exit_on_input_error() -> Iterator[None]:
    """Print an ``InputError`` raised inside as its message alone and exit 1.

    The Snakefile runs its checks inside this, so that a bad config or table stops the run before any
    job with one message (file and line or config key, and what to do), not a traceback.
    """
    try:
        yield
    except InputError as exc:
        print(f"chromexpr: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None


# --- config files ---------------------------------------------------------------------------------


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; a syntax error names the file and the 1-based line and column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError("file not found", path=path, hint="check the path") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)
        start = getattr(exc, "context_mark", None)
        if context and start is not None and mark is not None and start.line != mark.line:
            context = f"{context} started at line {start.line + 1}"
        what = f"{context}: {problem}" if context else problem
        raise InputError(
            f"YAML syntax error: {what}" + (f" (column {mark.column + 1})" if mark is not None else ""),
            path=path,
            line=None if mark is None else mark.line + 1,
            hint="fix the YAML at that line (unclosed bracket or quote, a missing ':', tabs mixed with spaces)",
        ) from exc


def _schema_at(schema: Mapping[str, Any], path: Sequence[Any]) -> Mapping[str, Any]:
    node = schema
    for part in path:
        if isinstance(part, int):
            node = node.get("items", {})
        else:
            node = node.get("properties", {}).get(part, {})
    return node


def _dotted(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _unknown_keys(config: Any, schema: Mapping[str, Any], prefix: tuple = ()) -> None:
    """Raise for the first key the schema does not know, naming the nearest known key."""
    if not isinstance(config, Mapping) or "properties" not in schema:
        return
    known = list(schema["properties"])
    for key, value in config.items():
        if key not in schema["properties"]:
            if schema.get("additionalProperties", True) is not False:
                continue
            where = _dotted((*prefix, key))
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.5)
            hint = f"did you mean '{_dotted((*prefix, close[0]))}'? " if close else ""
            raise InputError(
                "unknown config key",
                key=where,
                hint=f"{hint}valid keys here: {', '.join(known)}",
            )
        _unknown_keys(value, schema["properties"][key], (*prefix, key))


def prepare_config(config: dict[str, Any], schema_path: str | Path) -> dict[str, Any]:
    """Validate ``config`` against the JSON schema at ``schema_path``, then fill in its defaults (in place,
    as Snakemake's ``validate`` would; the schema is read and checked once).

    Raises:
        InputError: naming the config key, what is wrong, and (for a typo) the nearest valid key.
    """
    schema = read_yaml(schema_path)
    validate_config(config, schema)
    return fill_defaults(config, schema)


def validate_config(config: Mapping[str, Any], schema: str | Path | Mapping[str, Any]) -> None:
    """Check ``config`` against a JSON schema (a mapping, or the path of its YAML file).

    Raises:
        InputError: naming the config key, what is wrong, and (for a typo) the nearest valid key.
    """
    if not isinstance(schema, Mapping):
        schema = read_yaml(schema)
    _unknown_keys(config, schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(dict(config)), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    err = jsonschema.exceptions.best_match(errors)
    key = _dotted(err.absolute_path) or None
    node = _schema_at(schema, list(err.absolute_path))
    description = node.get("description")
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        raise InputError(
            f"required key '{missing}' is missing",
            key=_dotted((*err.absolute_path, missing)),
            hint=_schema_at(schema, [*err.absolute_path, missing]).get("description"),
        )
    raise InputError(
        f"{err.message}",
        key=key,
        hint=(description.strip() if isinstance(description, str) else None),
    )


def fill_defaults(config: dict[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """Fill in the schema's defaults for absent keys, recursively (as Snakemake's ``validate`` does:
    an absent object gets its default, usually ``{}``, and then its own defaults)."""
    for key, node in schema.get("properties", {}).items():
        if key not in config and "default" in node:
            config[key] = copy.deepcopy(node["default"])
        if isinstance(config.get(key), dict) and node.get("type") == "object":
            fill_defaults(config[key], node)
    return config


def merge_configs(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``update`` over ``base``, recursively for mappings (how several --configfile files layer)."""
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge_configs(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def check_config_files(paths: Sequence[str | Path], schema_path: str | Path) -> dict[str, Any]:
    """Layer the YAML files in order, then run every check the Snakefile runs before a job.

    Returns:
        The merged config with defaults filled in.

    Raises:
        InputError: naming the file and line (YAML), or the config key.
    """
    config: dict[str, Any] = {}
    for path in paths:
        data = read_yaml(path)
        if data is None:
            continue
        if not isinstance(data, Mapping):
            raise InputError("a config file must be a YAML mapping of keys", path=path, line=1)
        merge_configs(config, data)
    prepare_config(config, schema_path)
    check_config(config, {m: load_card(m) for m in single_cell_models(config)})
    return config


def transfer_models(config: Mapping[str, Any]) -> list[str]:
    """Models of ``experiments.transfer`` (none when it is off)."""
    block = config["experiments"]["transfer"]
    return list(block["models"]) if block["enabled"] else []


def cross_cell_models(config: Mapping[str, Any]) -> list[str]:
    """The model of ``experiments.cross_cell`` (none when it is off)."""
    block = config["experiments"]["cross_cell"]
    return [block["model"]] if block["enabled"] else []


def single_cell_models(config: Mapping[str, Any]) -> list[str]:
    """Every model with single-cell runs: ``train.models``, then the transfer models (their ``_origin``
    is the single-cell run of the target) and the cross-cell model (its baseline and Test-on-Rest)."""
    return list(dict.fromkeys([*config["train"]["models"], *transfer_models(config), *cross_cell_models(config)]))


def transfer_targets(config: Mapping[str, Any]) -> list[str]:
    """Target cells of the transfer experiment: ``targets``, or every cell but the source."""
    block = config["experiments"]["transfer"]
    targets = block["targets"]
    return list(targets) if targets else [c for c in config["cells"] if c != block["source"]]


def cross_cell_targets(config: Mapping[str, Any]) -> list[str]:
    """Target cells of the cross-cell experiment: ``targets``, or every cell."""
    targets = config["experiments"]["cross_cell"]["targets"]
    return list(targets) if targets else list(config["cells"])


def check_experiments(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]]) -> None:
    """The ``experiments.*`` rules the schema cannot say: cells that exist, a source that is not a
    target, torch cards for transfer (and a domain head for ``_cross``), thresholds in order."""
    cells = list(config["cells"])
    transfer = config["experiments"]["transfer"]
    if transfer["enabled"]:
        key = "experiments.transfer"
        if transfer["source"] not in cells:
            raise InputError(
                f"source cell {transfer['source']} is not in 'cells' ({', '.join(cells)})",
                key=f"{key}.source",
                hint="name one of the configured cells (the paper: E085), or switch the experiment off: "
                "experiments: {transfer: {enabled: false}}",
            )
        targets = transfer_targets(config)
        unknown = [t for t in targets if t not in cells]
        if unknown:
            raise InputError(
                f"target cell(s) {', '.join(unknown)} not in 'cells'",
                key=f"{key}.targets",
                hint="list configured cells",
            )
        if transfer["source"] in targets:
            raise InputError(
                f"the source {transfer['source']} is also a target", key=f"{key}.targets", hint="drop it from targets"
            )
        if not targets:
            raise InputError("no target cell", key=f"{key}.targets", hint="configure at least two cells")
        dup = _duplicates(list(transfer["models"]) + _duplicates(targets))
        if dup:
            raise InputError(f"{', '.join(dup)} listed more than once", key=key)
        for model in transfer["models"]:
            if cards[model]["framework"] != "torch":
                raise InputError(
                    f"'{model}' is a scikit-learn card; the transfer experiment trains torch models",
                    key=f"{key}.models",
                    hint="use transferchrome, deepchrome, convchrome or another torch card",
                )
        if not any(cards[m].get("domain_adaptation") for m in transfer["models"]):
            raise InputError(
                "no model has a domain head, so there is no _cross variant to train",
                key=f"{key}.models",
                hint="include transferchrome",
            )
    cross = config["experiments"]["cross_cell"]
    if cross["enabled"]:
        key = "experiments.cross_cell"
        if len(cells) < 2:
            raise InputError(
                "the cross-cell experiment needs at least two cells",
                key=key,
                hint="add cells, or switch it off: experiments: {cross_cell: {enabled: false}}",
            )
        unknown = [t for t in cross_cell_targets(config) if t not in cells]
        if unknown:
            raise InputError(f"target cell(s) {', '.join(unknown)} not in 'cells'", key=f"{key}.targets")
        if cards[cross["model"]]["framework"] != "torch":
            raise InputError(
                f"'{cross['model']}' is a scikit-learn card; the cross-cell runs train torch models",
                key=f"{key}.model",
                hint="the paper: deepchrome_avgpool",
            )
        if cross["somewhat"] > cross["highly"]:
            raise InputError(
                f"somewhat ({cross['somewhat']}) is above highly ({cross['highly']})",
                key=f"{key}.somewhat",
                hint="the paper: highly 0.75, somewhat 0.5",
            )


def differential_models(config: Mapping[str, Any]) -> list[str]:
    """The cards of the differential experiment (none when it is off)."""
    diff = config["experiments"]["differential"]
    return list(diff["models"]) if diff["enabled"] else []


def read_pairs(path: str | Path) -> list[tuple[str, str]]:
    """The pairs table (``cell_a cell_b``, tab-separated, a header line, ``#`` comments allowed).

    Raises:
        InputError: naming the file and line of a malformed row.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            "the pairs table does not exist",
            path=path,
            key="experiments.differential.pairs",
            hint="write a TSV with a header 'cell_a<TAB>cell_b' and one pair per line, or list the pairs in "
            "the config: pairs: [[E116, E123]]",
        )
    pairs: list[tuple[str, str]] = []
    header_seen = False
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.rstrip("\n").split("\t")
        if not header_seen:
            if [f.strip() for f in fields] != ["cell_a", "cell_b"]:
                raise InputError(f"the header is {fields!r}, expected 'cell_a<TAB>cell_b'", path=path, line=number)
            header_seen = True
            continue
        if len(fields) != 2 or not all(f.strip() for f in fields):
            raise InputError(
                f"expected two tab-separated cells, got {line!r}", path=path, line=number, hint="cell_a<TAB>cell_b"
            )
        pairs.append((fields[0].strip(), fields[1].strip()))
    if not pairs:
        raise InputError("the pairs table lists no pair", path=path, key="experiments.differential.pairs")
    return pairs


def differential_pairs(config: Mapping[str, Any], resolve: Any = None) -> list[tuple[str, str]]:
    """The configured pairs: ``experiments.differential.pairs`` as a list, or the TSV it names
    (``resolve`` turns the configured path into a readable one; default: as written)."""
    value = config["experiments"]["differential"]["pairs"]
    if isinstance(value, str):
        return read_pairs(resolve(value) if resolve else value)
    return [(str(a), str(b)) for a, b in value]


def pair_name(cell_a: str, cell_b: str) -> str:
    """The run folder of a pair: ``{cell_a}_vs_{cell_b}`` (the LFC is B over A)."""
    return f"{cell_a}_vs_{cell_b}"


def check_differential(
    config: Mapping[str, Any], pairs: Sequence[tuple[str, str]], cards: Mapping[str, Mapping[str, Any]]
) -> None:
    """The differential experiment's rules: pairs of two different configured cells, each once; every
    model a differential card; the Fig. 5 pair among the pairs; raw counts for the targets."""
    diff = config["experiments"]["differential"]
    key = "experiments.differential"
    cells = list(config["cells"])
    for a, b in pairs:
        unknown = [c for c in (a, b) if c not in cells]
        if unknown:
            raise InputError(
                f"pair {a} / {b}: {', '.join(unknown)} not in 'cells' ({', '.join(cells)})",
                key=f"{key}.pairs",
                hint="pair configured cells, or switch the experiment off: experiments: {differential: {enabled: false}}",
            )
        if a == b:
            raise InputError(f"pair {a} / {b} pairs a cell with itself", key=f"{key}.pairs")
    dup = _duplicates([pair_name(*p) for p in pairs] + _duplicates(list(diff["models"])))
    if dup:
        raise InputError(f"{', '.join(dup)} listed more than once", key=key)
    for model in diff["models"]:
        if cards[model]["task"] != "differential":
            raise InputError(
                f"'{model}' is a {cards[model]['task']} card; the differential experiment trains differential cards",
                key=f"{key}.models",
                hint="use deepdiff_raw_d ... deepdiff_raw_aux_siamese, svr_best_bin, svr_two_layer, relieff_rf, "
                "attentivechrome_diff",
            )
    attention = diff["attention_pair"]
    if attention is not None and tuple(attention) not in [tuple(p) for p in pairs]:
        raise InputError(
            f"attention_pair {attention[0]} / {attention[1]} is not one of the pairs", key=f"{key}.attention_pair"
        )
    if not diff["counts"] and config["source"]["kind"] != "remc":
        raise InputError(
            "the differential targets need raw RNA-seq read counts, and this source has none to download",
            key=f"{key}.counts",
            hint="name a gene_id x cell table of raw counts (the REMC 57epigenomes.N.pc layout), e.g. "
            "chromexpr:demo/counts.tsv for the demo",
        )
    if diff["window_bp"] % config["bins"]["bin_bp"]:
        raise InputError(
            f"window_bp ({diff['window_bp']}) is not a multiple of bins.bin_bp ({config['bins']['bin_bp']})",
            key=f"{key}.window_bp",
            hint="the paper: 10000 with 100-bp bins",
        )


# --- rules the schema cannot express --------------------------------------------------------------


def regression_plan(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The regression experiment's runs (nothing when it is off), checked before any job runs.

    Returns ``cells`` (every cell tested), ``training`` (cells some model trains on), ``heldout`` (test-only
    cells), ``folds`` (training cell -> cell-type fold), ``runs`` (``(model, part)`` of every trained run:
    ``jamaica_cnn`` on ``fold{k}``, the classifier and the cell-specific sub-models when ``weighted``, the
    baselines on ``all``), ``combined`` (``ensemble``, ``weighted``) and ``figure_cells`` (Figs. 1, 2, 4).
    """
    from chromexpr.training.regression_plan import SELECTIONS, TARGETS, assign_cell_folds

    reg = config["experiments"]["regression"]
    key = "experiments.regression"
    empty = {"cells": [], "training": [], "heldout": [], "folds": {}, "runs": [], "combined": [], "figure_cells": []}
    if not reg["enabled"]:
        return empty
    configured = list(config["cells"])
    cells = list(reg["cells"] or configured)
    heldout = list(reg["heldout_cells"] or [])
    for name, listed in (("cells", cells), ("heldout_cells", heldout), ("figure_cells", reg["figure_cells"] or [])):
        unknown = [c for c in listed if c not in configured]
        if unknown:
            raise InputError(
                f"{', '.join(unknown)} not in 'cells' ({', '.join(configured)})",
                key=f"{key}.{name}",
                hint="list configured cells, or switch the experiment off: experiments: {regression: {enabled: false}}",
            )
        dup = _duplicates(listed)
        if dup:
            raise InputError(f"{', '.join(dup)} listed more than once", key=f"{key}.{name}")
    outside = [c for c in heldout if c not in cells]
    if outside:
        raise InputError(
            f"held-out cell(s) {', '.join(outside)} are not among the experiment's cells", key=f"{key}.heldout_cells"
        )
    training = [c for c in cells if c not in heldout]
    folds = assign_cell_folds(training, int(reg["folds"]), int(reg["fold_seed"]))
    if reg["target"] not in TARGETS:
        raise InputError(
            f"unknown target {reg['target']!r}", key=f"{key}.target", hint=f"use one of {', '.join(TARGETS)}"
        )
    if reg["selection"] is not None and reg["selection"] not in SELECTIONS:
        raise InputError(f"unknown selection {reg['selection']!r}", key=f"{key}.selection")
    models = list(reg["baselines"])
    dup = _duplicates(models + [reg["ensemble_model"]])
    if dup:
        raise InputError(f"{', '.join(dup)} listed more than once", key=f"{key}.baselines")
    for model in models + [reg["ensemble_model"], reg["classifier_model"]]:
        card = cards[model]
        if card["task"] != "regression":
            raise InputError(
                f"'{model}' is a {card['task']} card; the regression experiment trains regression cards",
                key=f"{key}.baselines",
                hint="use jamaica_cnn, linear_regression, random_forest_regression, random_forest_correlated",
            )
    if "cell_logits" not in cards[reg["classifier_model"]]["outputs"]:
        raise InputError(
            f"'{reg['classifier_model']}' is not a cell-type classifier (no cell_logits output)",
            key=f"{key}.classifier_model",
            hint="use jamaica_celltype",
        )
    if "prediction" not in cards[reg["ensemble_model"]]["outputs"]:
        raise InputError(f"'{reg['ensemble_model']}' predicts no expression", key=f"{key}.ensemble_model")
    ensemble = reg["ensemble_model"]
    runs = [(ensemble, f"fold{k}") for k in range(int(reg["folds"]))]
    combined = ["ensemble"]
    if reg["weighted"]:
        if len(training) < 2:
            raise InputError("the weighted variant needs at least 2 training cells", key=f"{key}.weighted")
        runs.append((reg["classifier_model"], "all"))
        runs += [(ensemble, f"cell_{c}") for c in training]
        combined.append("weighted")
    runs += [(m, "all") for m in models]
    figure_cells = list(reg["figure_cells"] or (heldout[:1] + training)[:3])
    return {
        "cells": cells,
        "training": training,
        "heldout": heldout,
        "folds": folds,
        "runs": runs,
        "combined": combined,
        "figure_cells": figure_cells,
    }


def regression_models(config: Mapping[str, Any]) -> list[str]:
    """Every card the regression experiment trains (none when it is off)."""
    reg = config["experiments"]["regression"]
    if not reg["enabled"]:
        return []
    return list(dict.fromkeys([reg["ensemble_model"], reg["classifier_model"], *reg["baselines"]]))


def _duplicates(values: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    dup: list[str] = []
    for v in values:
        if v in seen and v not in dup:
            dup.append(v)
        seen.add(v)
    return dup


def check_config(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]]) -> None:
    """Cross-key rules, checked before any job runs.

    Args:
        config: the validated config (defaults filled in).
        cards: the loaded model card of every model of ``single_cell_models(config)``.

    Raises:
        InputError: naming the key at fault and what to do.
    """
    for key in ("cells", "marks"):
        dup = _duplicates(list(config[key]))
        if dup:
            raise InputError(
                f"{', '.join(dup)} listed more than once",
                key=key,
                hint=f"list each of the {key} once (the dataset has one {key[:-1]} axis entry per item)",
            )
    bins = config["bins"]
    if bins["window_bp"] % bins["bin_bp"]:
        raise InputError(
            f"{bins['window_bp']} is not a multiple of bins.bin_bp ({bins['bin_bp']}), so the bins "
            "would not tile the window",
            key="bins.window_bp",
            hint=f"use e.g. {bins['window_bp'] - bins['window_bp'] % bins['bin_bp']}, "
            "or a bin width that divides the window",
        )
    models = list(config["train"]["models"])
    dup = _duplicates(models)
    if dup:
        raise InputError(
            f"{', '.join(dup)} listed more than once", key="train.models", hint="list each model card once"
        )
    marks = list(config["marks"])
    n_bins = 2 * bins["window_bp"] // bins["bin_bp"]
    for model in single_cell_models(config):
        spec = cards[model]["input"]
        lacking = [m for m in spec["marks"] if m not in marks]
        if lacking:
            raise InputError(
                f"model card '{model}' needs the mark(s) {', '.join(lacking)}, which 'marks' lacks "
                f"(marks: {', '.join(marks)})",
                key="train.models",
                hint=f"add {', '.join(lacking)} to 'marks', or remove '{model}' from train.models",
            )
        if int(spec["bins"]) != n_bins and config["source"]["kind"] != "processed":
            raise InputError(
                f"model card '{model}' expects {spec['bins']} bins, but bins.window_bp "
                f"{bins['window_bp']} / bins.bin_bp {bins['bin_bp']} gives {n_bins}",
                key="bins",
                hint=f"set the bins to give {spec['bins']} per gene, or remove '{model}' from train.models",
            )
    if config["export"]["deepchrome_csv"]:
        lacking = [m for m in DEEPCHROME_MARKS if m not in marks]
        if lacking:
            raise InputError(
                f"the DeepChrome CSV format has the five core marks, and 'marks' lacks {', '.join(lacking)}",
                key="export.deepchrome_csv",
                hint="set export.deepchrome_csv: false, or add the marks",
            )
    check_experiments(config, cards)
    reference = config["report"]["reference_model"]
    if models and reference not in models:
        raise InputError(
            f"'{reference}' is not trained (train.models: {', '.join(models)})",
            key="report.reference_model",
            hint="name one of train.models, or add it to train.models",
        )


# --- library code hashes --------------------------------------------------------------------------


def _package_root() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:  # pragma: no cover - we are inside the package
        raise RuntimeError("chromexpr is not importable")
    return Path(spec.origin).parent


def _module_file(root: Path, dotted: str) -> Path | None:
    """File of the chromexpr module ``dotted`` (a package's ``__init__.py``), or None."""
    parts = dotted.split(".")
    if parts[0] != PACKAGE:
        return None
    base = root.joinpath(*parts[1:]) if len(parts) > 1 else root
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    candidate = base.with_suffix(".py")
    return candidate if candidate.is_file() else None


def _statements(tree: ast.AST) -> Iterator[ast.AST]:
    """Every statement in ``tree``, nested ones too (imports are statements, so expressions,
    which are most of a module's nodes, need no visit)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                todo.extend(children)


def _lazy_mapping(tree: ast.AST) -> dict[str, str]:
    """``name -> submodule`` of a package ``__init__``'s ``lazy_exports(__name__, mapping)`` call
    (``chromexpr.lazy``; the mapping a dict literal, or the name of one bound in the module)."""
    body = getattr(tree, "body", [])
    for node in body:
        value = getattr(node, "value", None)
        if not (
            isinstance(node, (ast.Assign, ast.AnnAssign))
            and isinstance(value, ast.Call)
            and getattr(value.func, "id", getattr(value.func, "attr", None)) == "lazy_exports"
            and len(value.args) == 2
        ):
            continue
        mapping = value.args[1]
        if isinstance(mapping, ast.Name):
            for other in body:
                targets = other.targets if isinstance(other, ast.Assign) else [getattr(other, "target", None)]
                if any(isinstance(t, ast.Name) and t.id == mapping.id for t in targets):
                    mapping = other.value
                    break
        if isinstance(mapping, ast.Dict):
            return {
                k.value: v.value
                for k, v in zip(mapping.keys, mapping.values, strict=True)
                if isinstance(k, ast.Constant) and isinstance(v, ast.Constant) and isinstance(v.value, str)
            }
    return {}


def _imports(tree: ast.AST, current: str | None, is_package: bool) -> tuple[set[str], set[tuple[str, str]]]:
    """What the import statements anywhere in ``tree`` execute: the dotted names of the modules (with their
    parent packages), and the ``(package, name)`` of every ``from package import name`` (a name a package
    exports lazily loads its submodule only then: ``module_closure`` resolves those against the package)."""
    found: set[str] = set()
    names: set[tuple[str, str]] = set()
    for node in _statements(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level and current is not None:
                pkg = current.split(".") if is_package else current.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            # 'from chromexpr.x import y' may import the submodule chromexpr.x.y
            found.update(f"{base}.{alias.name}" for alias in node.names)
            names.update((base, alias.name) for alias in node.names)
    with_parents: set[str] = set()
    for name in found:
        parts = name.split(".")
        with_parents.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    ours = {n for n in with_parents if n == PACKAGE or n.startswith(PACKAGE + ".")}
    return ours, {(b, n) for b, n in names if b == PACKAGE or b.startswith(PACKAGE + ".")}


def module_closure(script: str | Path, *, root: str | Path | None = None, modules: Sequence[str] = ()) -> list[str]:
    """Every chromexpr module that running ``script`` imports, directly or transitively, and ``modules``
    (modules the job imports by name, such as its card's model family) with what they import.

    Imports anywhere in a file count (also those inside functions), and importing ``a.b.c`` counts
    ``a`` and ``a.b`` too, because Python runs their ``__init__``; ``from a import name`` counts the
    submodule that package ``a`` loads for ``name`` when it exports it lazily (``chromexpr.lazy``). A
    table of module names that code imports on demand (the model registry's ``BUILTIN_CLASSES``) does not
    count: a job that builds a model names its card's module (``model_modules``). Returns sorted dotted
    names.
    """
    root = Path(root) if root is not None else _package_root()
    script = Path(script)
    todo, names = _imports(ast.parse(script.read_text(encoding="utf-8")), None, False)
    todo = set(todo) | set(modules)
    names = set(names)
    seen: dict[str, Path] = {}
    resolved: set[tuple[str, str]] = set()
    while todo or names - resolved:
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            path = _module_file(root, name)
            if path is None:
                continue
            seen[name] = path
            found, imported = _module_imports(path, name)
            todo |= set(found) - set(seen)
            names |= imported
        for base, name in names - resolved:
            resolved.add((base, name))
            path = seen.get(base)
            if path is not None and path.name == "__init__.py":
                sub = _module_lazy(path, base).get(name)
                if sub is not None and f"{base}.{sub}" not in seen:
                    todo.add(f"{base}.{sub}")
    return sorted(seen)


_IMPORTS_CACHE: dict[tuple[str, bool, bytes], tuple[frozenset[str], frozenset[tuple[str, str]], dict[str, str]]] = {}


def _parsed(path: Path, name: str) -> tuple[frozenset[str], frozenset[tuple[str, str]], dict[str, str]]:
    """``_imports`` and ``_lazy_mapping`` of the module ``name`` at ``path``, parsed once per distinct source.

    One Snakefile hashes some 30 scripts whose closures share most of the package; parsing each
    module once (the cache is keyed on its source's digest, so any edit is seen) instead of once per
    script takes seconds off every DAG build.
    """
    source = path.read_bytes()
    is_package = path.name == "__init__.py"
    key = (name, is_package, hashlib.sha1(source, usedforsecurity=False).digest())
    found = _IMPORTS_CACHE.get(key)
    if found is None:
        tree = ast.parse(source)
        modules, names = _imports(tree, name, is_package)
        found = (frozenset(modules), frozenset(names), _lazy_mapping(tree) if is_package else {})
        _IMPORTS_CACHE[key] = found
    return found


def _module_imports(path: Path, name: str) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    modules, names, _ = _parsed(path, name)
    return modules, names


def _module_lazy(path: Path, name: str) -> dict[str, str]:
    return _parsed(path, name)[2]


def model_modules(cards: Iterable[str | Mapping[str, Any]]) -> list[str]:
    """The module of each card's model class (``chromexpr.models.<family>``): what a job that builds the card's
    model imports besides its script's own imports. A class no shipped module defines adds nothing."""
    from chromexpr.models.registry import BUILTIN_CLASSES

    out = []
    for card in cards:
        data = card if isinstance(card, Mapping) else _card(str(card))
        entry = BUILTIN_CLASSES.get(data["class"])
        if entry is not None and entry[0] not in out:
            out.append(entry[0])
    return out


@functools.cache
def _card(name: str) -> dict[str, Any]:
    return load_card(name)


def code_hash(
    script: str | Path, *, root: str | Path | None = None, models: Sequence[str | Mapping[str, Any]] = ()
) -> str:
    """16 hex digits of sha256 over the source of ``module_closure(script, modules=model_modules(models))``.

    A rule passes it as a ``params:`` value, so that editing any module its script imports re-runs
    the rule's jobs (Snakemake's own code trigger covers the script file itself); a job that builds a
    model passes its card, so that editing that card's model family re-runs it and no other job.
    """
    root = Path(root) if root is not None else _package_root()
    digest = hashlib.sha256()
    for name in module_closure(script, root=root, modules=model_modules(models)):
        path = _module_file(root, name)
        assert path is not None
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
