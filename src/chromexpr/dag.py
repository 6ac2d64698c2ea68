"""What the Snakefile calls while it builds the DAG, before any job runs.

* ``prepare_config``: the config against its JSON schema, with one short message per problem
  (the key, what is wrong, the nearest valid key for a typo) instead of a schema dump, then its defaults.
* ``check_config``: the rules the schema cannot say (window a multiple of the bin, no duplicate
  marks or cells, the marks every configured model card needs), then each experiment's own
  (``chromexpr.experiments.registry``).
* ``config_schema``: the core schema with each experiment's block in it.
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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from chromexpr.errors import InputError
from chromexpr.experiments import gene_sets, registry
from chromexpr.io.deepchrome_csv import DEEPCHROME_MARKS
from chromexpr.models import load_card
from chromexpr.models.registry import with_marks

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
    schema = config_schema(schema_path)
    validate_config(config, schema)
    return fill_defaults(config, schema)


def config_schema(core_path: str | Path) -> dict[str, Any]:
    """The config's JSON schema: the core file at ``core_path`` with each experiment's block (its package's
    ``schema.yaml``) placed at the experiment's ``CONFIG_KEY``."""
    schema = read_yaml(core_path)
    for experiment in registry.experiments():
        path = experiment.schema_file()
        if path is None:
            continue
        node = schema
        *parents, last = experiment.config_key.split(".")
        for part in parents:
            node = node["properties"][part]
        node.setdefault("properties", {})[last] = read_yaml(path)
    return schema


#: The schemas' pattern of names that become folder and file names (cells, marks, samples): no '/', no
#: leading '.', so '.', '..' and hidden names cannot escape their folder or collide with another's.
NAME_PATTERN = "^[A-Za-z0-9_-][A-Za-z0-9_.-]*$"
NAME_RULE = "letters, digits, '_', '-' and '.', not starting with '.' (names become folder and file names)"


def _error_message(err: jsonschema.exceptions.ValidationError) -> str:
    """A schema error in words: a name that breaks ``NAME_PATTERN`` says what a name may hold."""
    if err.validator == "pattern" and err.validator_value == NAME_PATTERN:
        return f"{err.instance!r} is not a valid name: use {NAME_RULE}"
    return str(err.message)


def validate_config(config: Mapping[str, Any], schema: str | Path | Mapping[str, Any]) -> None:
    """Check ``config`` against a JSON schema (a mapping, or the path of the core schema's YAML file, to which
    ``config_schema`` adds each experiment's block).

    Raises:
        InputError: naming the config key, what is wrong, and (for a typo) the nearest valid key.
    """
    if not isinstance(schema, Mapping):
        schema = config_schema(schema)
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
        _error_message(err),
        key=key,
        hint=(description.strip() if isinstance(description, str) else None),
    )


def read_user_table(path: str | Path, schema_path: str | Path) -> Any:
    """A tab-separated table of the user's (``#`` comments and blank lines allowed), every row checked against
    the JSON schema of one row at ``schema_path``; all values are strings, and ``attrs["lines"]`` holds the
    1-based file line of each row.

    Raises:
        InputError: naming the file and the line: the table is missing or has no header, a required column
            is missing, or a value breaks its column's rule (which column, and what the rule is).
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputError("table not found", path=path, hint="create it, or fix the config key naming it")
    schema = yaml.safe_load(Path(schema_path).read_text())
    columns = list(schema.get("properties", {}))
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, comment="#", skip_blank_lines=True)
    except pd.errors.EmptyDataError:
        raise InputError(
            "the table is empty: it needs a header line and one row per entry",
            path=path,
            hint=f"columns, tab-separated: {', '.join(columns)}",
        ) from None
    missing = [c for c in schema.get("required", []) if c not in table.columns]
    if missing:
        raise InputError(
            f"the header lacks column(s) {', '.join(missing)}; it has {', '.join(map(str, table.columns))}",
            path=path,
            line=1,
            hint=f"the columns, tab-separated: {', '.join(columns)}",
        )
    table = table.dropna(how="all")
    # the file line of each row (``attrs["lines"]``, for errors found later, e.g. a row listed twice)
    lines = [i for i, text in enumerate(path.read_text().splitlines(), 1) if text.strip() and not text.startswith("#")]
    table.attrs["lines"] = lines[1:]
    validator = jsonschema.Draft202012Validator(schema)
    for position, (_, row) in enumerate(table.iterrows()):
        record = {k: v for k, v in row.items() if isinstance(v, str)}
        err = jsonschema.exceptions.best_match(validator.iter_errors(record))
        if err is None:
            continue
        column = _dotted(err.absolute_path) or (err.message.split("'")[1] if "'" in err.message else "")
        description = schema.get("properties", {}).get(column, {}).get("description")
        line = table.attrs["lines"][position] if position < len(table.attrs["lines"]) else None
        raise InputError(
            f"column '{column}': {_error_message(err)}" if column else _error_message(err),
            path=path,
            line=line,
            hint=description,
        )
    return table


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


def check_config_files(
    paths: Sequence[str | Path], schema_path: str | Path, repo: str | Path | None = None
) -> dict[str, Any]:
    """Layer the YAML files in order, then run every check the Snakefile runs before a job, in its order: the
    schema (``prepare_config``), the rules between keys (``check_config``), the files and tables the config names
    (``chromexpr.inputs.check_inputs``). A configured path is read as the workflow reads it: from the working
    directory, else from the checkout ``repo`` (default: the folder above ``schema_path``'s ``config/schemas``).

    Returns:
        The merged config with defaults filled in.

    Raises:
        InputError: naming the file and line (YAML, a table), or the config key: the message the Snakefile gives.
    """
    from chromexpr import inputs

    config: dict[str, Any] = {}
    for path in paths:
        data = read_yaml(path)
        if data is None:
            continue
        if not isinstance(data, Mapping):
            raise InputError("a config file must be a YAML mapping of keys", path=path, line=1)
        merge_configs(config, data)
    prepare_config(config, schema_path)
    schemas = Path(schema_path).resolve().parent
    resolve = inputs.repo_or_cwd(schemas.parent.parent if repo is None else repo)
    cards = load_cards(config)
    check_config(config, cards, resolve)
    inputs.check_inputs(config, cards, inputs.Paths(resolve, schemas))
    return config


def check_config(
    config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]], resolve: Callable[[str], Any] | None = None
) -> None:
    """The rules the schema cannot say, checked before any job runs: the core's (cells, marks, bins, the
    marks and bins every card with single-cell runs needs, the DeepChrome CSV export), then each enabled
    experiment's own (``chromexpr.experiments.registry.check``).

    Args:
        config: the validated config (defaults filled in).
        cards: the loaded model card of every model of ``registry.models(config)``.
        resolve: turns a configured path into a readable one (default: as written).

    Raises:
        InputError: naming the key at fault and what to do.
    """
    for key in ("cells", "marks"):
        dup = registry.duplicates(list(config[key]))
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
    marks = list(config["marks"])
    n_bins = 2 * bins["window_bp"] // bins["bin_bp"]
    for model in registry.single_cell_models(config):
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
    gene_sets.check(config)
    registry.check(config, cards, resolve)


def load_cards(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The card of every model the config's experiments train, apply or show (``registry.cards``), validated, then
    the card each of them is assembled from (a card's ``cell_runs``: DeepDiff's AttentiveChrome baseline is built
    from two runs of ``attentivechrome_cell``)."""
    cards = {m: load_card(m) for m in registry.cards(config)}
    for card in list(cards.values()):
        part = card.get("cell_runs")
        if isinstance(part, str) and part not in cards:
            cards[part] = load_card(part)
    if config.get("train", {}).get("input_marks") == "config":
        # every card built on the configured marks, in config order (chromexpr.models.registry.with_marks)
        cards = {m: with_marks(card, config["marks"]) for m, card in cards.items()}
    return cards


def unused_marks(config: Mapping[str, Any], cards: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """Each configured mark that some model the config trains does not take (``train.input_marks: card``) -> those
    models, in ``registry.models`` order: binned and stored, but not used by them."""
    trained = [m for m in registry.models(config) if m in cards]
    out: dict[str, list[str]] = {}
    for mark in config["marks"]:
        lacking = [m for m in trained if mark not in cards[m]["input"]["marks"]]
        if lacking:
            out[str(mark)] = lacking
    return out


def unused_marks_note(unused: Mapping[str, Sequence[str]]) -> list[str]:
    """One sentence per configured mark some models do not use (``unused_marks``), for the log and the report."""
    notes = []
    for mark, models in unused.items():
        shown = ", ".join(models[:6]) + (f" and {len(models) - 6} more" if len(models) > 6 else "")
        notes.append(
            f"mark {mark} is configured but {len(models)} model(s) do not use it ({shown}): each card takes its own "
            "marks (train.input_marks: card); set train.input_marks: config to build every card on the configured marks"
        )
    return notes


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
    """16 hex digits of sha256 over the source of ``module_closure(script, modules=model_modules(models))`` and
    the templates those modules render (``template_files``).

    A rule passes it as a ``params:`` value, so that editing any module its script imports, or a report
    template it renders, re-runs the rule's jobs (Snakemake's own code trigger covers the script file itself);
    a job that builds a model passes its card, so that editing that card's model family re-runs it and no other
    job.
    """
    root = Path(root) if root is not None else _package_root()
    digest = hashlib.sha256()
    paths = []
    for name in module_closure(script, root=root, modules=model_modules(models)):
        path = _module_file(root, name)
        assert path is not None
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
        paths.append(path)
    for template in template_files(paths):
        digest.update(str(template.relative_to(root)).encode() + b"\0" + template.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def template_files(modules: Iterable[Path]) -> list[Path]:
    """The Jinja2 templates beside the module files ``modules`` (``*.j2`` in a module's folder or its
    ``templates/`` folder): the report templates a module renders, each once, sorted."""
    found: set[Path] = set()
    for path in modules:
        for folder in (path.parent, path.parent / "templates"):
            if folder.is_dir():
                found.update(folder.glob("*.j2"))
    return sorted(found)
