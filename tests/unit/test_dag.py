"""Tests of chromexpr.dag: config checks at DAG build and library code hashes from an import walk."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from chromexpr.dag import (
    check_config,
    code_hash,
    config_schema,
    load_cards,
    model_modules,
    module_closure,
    read_yaml,
    validate_config,
)
from chromexpr.errors import InputError

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "config" / "schemas" / "config.schema.yaml"
SCRIPTS = REPO / "workflow" / "scripts"


def resolve(path: str) -> Path:
    """A configured path, relative to the repository (the demo config's pairs table)."""
    return REPO / path


@pytest.fixture(scope="module")
def schema_file(tmp_path_factory) -> Path:
    """The whole config schema (the core's and each experiment's block) in one file, as Snakemake's
    validate() takes it."""
    path = tmp_path_factory.mktemp("schema") / "config.schema.yaml"
    path.write_text(yaml.safe_dump(config_schema(SCHEMA)))
    return path


@pytest.fixture()
def demo_config(schema_file) -> dict:
    """The demo config with the schema's defaults filled in, as the Snakefile sees it."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    validate(config, str(schema_file))
    return config


# --- YAML and schema ------------------------------------------------------------------------------


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    bad = tmp_path / "my.yaml"
    bad.write_text("cells: [E003]\nmarks: [H3K4me3, H3K27me3\ntrain:\n  seeds: [0]\n")
    with pytest.raises(InputError) as err:
        read_yaml(bad)
    text = str(err.value)
    # the unclosed '[' of line 2 is reported where the parser gives up (line 3), with where it began
    assert text.splitlines()[0] == (
        f"{bad}:3: YAML syntax error: while parsing a flow sequence started at line 2: "
        "expected ',' or ']', but got ':' (column 6)"
    )
    assert text.splitlines()[1].startswith("  -> fix the YAML at that line")


def test_unknown_top_level_key_names_nearest(demo_config):
    config = copy.deepcopy(demo_config)
    config["trian"] = {"models": ["deepchrome"]}
    with pytest.raises(InputError) as err:
        validate_config(config, SCHEMA)
    text = str(err.value)
    assert text.splitlines()[0] == "config key 'trian': unknown config key"
    assert "did you mean 'train'?" in text
    assert len(text.splitlines()) == 2  # no schema dump


def test_unknown_nested_key_names_nearest(demo_config):
    config = copy.deepcopy(demo_config)
    config["bins"]["windw_bp"] = 5000
    with pytest.raises(
        InputError, match=r"config key 'bins.windw_bp': unknown config key\n.*did you mean 'bins.window_bp'"
    ):
        validate_config(config, SCHEMA)


def test_wrong_value_names_key_and_description(demo_config):
    config = copy.deepcopy(demo_config)
    config["bins"]["window_bp"] = -5
    with pytest.raises(InputError) as err:
        validate_config(config, SCHEMA)
    first, hint = str(err.value).splitlines()
    assert first == "config key 'bins.window_bp': -5 is less than the minimum of 1"
    assert "Bases each side of the TSS" in hint


def test_missing_required_key():
    with pytest.raises(InputError, match=r"config key 'cells': required key 'cells' is missing"):
        validate_config({"marks": ["H3K4me3"]}, SCHEMA)


def test_demo_config_is_valid(demo_config):
    validate_config(demo_config, SCHEMA)
    check_config(demo_config, load_cards(demo_config), resolve)


# --- cross-key rules ------------------------------------------------------------------------------


def test_duplicate_marks(demo_config):
    demo_config["marks"] = ["H3K4me3", "H3K4me3"]
    with pytest.raises(InputError, match=r"config key 'marks': H3K4me3 listed more than once"):
        check_config(demo_config, load_cards(demo_config), resolve)


def test_duplicate_cells(demo_config):
    demo_config["cells"] = ["E003", "E116", "E003"]
    with pytest.raises(InputError, match=r"config key 'cells': E003 listed more than once"):
        check_config(demo_config, load_cards(demo_config), resolve)


def test_window_not_a_multiple_of_bin(demo_config):
    demo_config["bins"]["window_bp"] = 5050
    with pytest.raises(InputError) as err:
        check_config(demo_config, load_cards(demo_config), resolve)
    first, hint = str(err.value).splitlines()
    assert first.startswith("config key 'bins.window_bp': 5050 is not a multiple of bins.bin_bp (100)")
    assert "use e.g. 5000" in hint


def test_card_needs_a_mark_the_config_lacks(demo_config):
    demo_config["marks"] = ["H3K4me3", "H3K27me3"]
    demo_config["train"]["models"] = ["logreg", "deepchrome"]
    with pytest.raises(InputError) as err:
        check_config(demo_config, load_cards(demo_config), resolve)
    text = str(err.value)
    # every shipped card lists the five marks by name; the first model lacking one is reported
    assert text.startswith(
        "config key 'train.models': model card 'logreg' needs the mark(s) H3K4me1, H3K36me3, H3K9me3"
    )
    assert "add H3K4me1, H3K36me3, H3K9me3 to 'marks'" in text


def test_card_bins_differ_from_geometry(demo_config):
    demo_config["bins"]["window_bp"] = 10000
    with pytest.raises(InputError, match=r"model card 'deepchrome' expects 100 bins, but .* gives 200"):
        check_config(demo_config, load_cards(demo_config), resolve)


def test_reference_model_not_trained(demo_config):
    demo_config["train"]["models"] = ["linear12", "logreg"]
    with pytest.raises(InputError, match=r"config key 'report.reference_model': 'deepchrome' is not trained"):
        check_config(demo_config, load_cards(demo_config), resolve)


# --- code hashes ----------------------------------------------------------------------------------


def make_package(root: Path) -> Path:
    """A tiny stand-in package named chromexpr: a imports b (relative), b imports c inside a function;
    d is imported by nobody."""
    pkg = root / "chromexpr"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("VERSION = 1\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "a.py").write_text("from . import b\nimport numpy\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from chromexpr.c import g\n    return g\n")
    (pkg / "c.py").write_text("def g():\n    return 1\n")
    (pkg / "d.py").write_text("X = 1\n")
    script = root / "script.py"
    script.write_text("from chromexpr.sub.a import b\nimport os\n")
    return pkg


def test_module_closure_follows_relative_and_local_imports(tmp_path):
    pkg = make_package(tmp_path)
    closure = module_closure(tmp_path / "script.py", root=pkg)
    assert closure == ["chromexpr", "chromexpr.c", "chromexpr.sub", "chromexpr.sub.a", "chromexpr.sub.b"]


def test_code_hash_changes_exactly_with_imported_modules(tmp_path):
    pkg = make_package(tmp_path)
    script = tmp_path / "script.py"
    before = code_hash(script, root=pkg)
    (pkg / "d.py").write_text("X = 2\n")  # imported by nobody
    assert code_hash(script, root=pkg) == before
    (pkg / "c.py").write_text("def g():\n    return 2\n")  # reached through a function-local import
    changed = code_hash(script, root=pkg)
    assert changed != before and len(changed) == 16


def test_module_closure_follows_lazy_exports_by_name_and_not_module_tables(tmp_path):
    """``from package import name`` counts the submodule that a package's ``lazy_exports`` mapping loads for that
    name, and only it; a table of module names in a string (the model registry's BUILTIN_CLASSES, which imports
    on demand) is no import: a job that builds a model names its module (``modules=``)."""
    pkg = make_package(tmp_path)
    (pkg / "lazy.py").write_text("def lazy_exports(package, names):\n    return None, None\n")
    (pkg / "models").mkdir()
    (pkg / "models" / "__init__.py").write_text(
        "from chromexpr.lazy import lazy_exports\n_MAP = {'A': 'a', 'B': 'b'}\n"
        "__getattr__, __dir__ = lazy_exports(__name__, _MAP)\n"
    )
    (pkg / "models" / "a.py").write_text("TABLE = {'X': ('chromexpr.d', 'torch')}\n")
    (pkg / "models" / "b.py").write_text("from chromexpr.c import g\n")
    (pkg / "view").mkdir()
    (pkg / "view" / "__init__.py").write_text(
        "from chromexpr.lazy import lazy_exports\n__getattr__, __dir__ = lazy_exports(__name__, {'f': 'page'})\n"
    )
    (pkg / "view" / "page.py").write_text("")
    (tmp_path / "script.py").write_text("from chromexpr.models import A\nfrom chromexpr.view import f\n")
    closure = module_closure(tmp_path / "script.py", root=pkg)
    assert closure == [
        "chromexpr",
        "chromexpr.lazy",
        "chromexpr.models",
        "chromexpr.models.a",
        "chromexpr.view",
        "chromexpr.view.page",
    ]
    # a module the job imports by name, with what it imports
    with_b = module_closure(tmp_path / "script.py", root=pkg, modules=["chromexpr.models.b"])
    assert set(with_b) - set(closure) == {"chromexpr.models.b", "chromexpr.c"}


def test_code_hash_sees_an_edit_of_the_same_size_at_once(tmp_path):
    """Parsed imports are cached by source digest, not by time stamp: a same-length edit made within
    the file system's time resolution still changes the hash."""
    pkg = make_package(tmp_path)
    script = tmp_path / "script.py"
    before = code_hash(script, root=pkg)
    (pkg / "c.py").write_text("def g():\n    return 3\n")
    after = code_hash(script, root=pkg)
    (pkg / "sub" / "b.py").write_text("def f():\n    from chromexpr.d import g\n    return g\n")
    assert after != before
    assert "chromexpr.d" in module_closure(script, root=pkg) and "chromexpr.c" not in module_closure(script, root=pkg)


def test_real_scripts_cover_the_modules_they_run():
    """The modules the hand-written lists missed (io/atomic.py, preprocess/geometry.py) are covered."""
    train = module_closure(SCRIPTS / "train_model.py")
    assert "chromexpr.io.atomic" in train and "chromexpr.training.loop" in train
    # no model family by itself: a training job adds its own card's (and what that imports), and no other
    assert not [m for m in train if m.startswith("chromexpr.models.") and m != "chromexpr.models.registry"]
    deepchrome = module_closure(SCRIPTS / "train_model.py", modules=model_modules(["deepchrome"]))
    assert set(deepchrome) - set(train) == {"chromexpr.models.deepchrome", "chromexpr.models.layers"}
    deepdiff = module_closure(SCRIPTS / "train_differential.py", modules=model_modules(["deepdiff_raw"]))
    assert "chromexpr.models.deepdiff" in deepdiff and "chromexpr.models.deepchrome" not in deepdiff
    assert model_modules(["deepchrome", "deepchrome_avgpool", "logreg"]) == [
        "chromexpr.models.deepchrome",
        "chromexpr.models.classical",
    ]
    report = module_closure(SCRIPTS / "build_report.py")
    assert "chromexpr.io.atomic" in report and "chromexpr.experiments.single_cell.figures" in report
    assert "chromexpr.io.atomic" in module_closure(SCRIPTS / "build_dataset.py")
    binning = module_closure(SCRIPTS / "bin_reads.py")
    assert {
        "chromexpr.io.reads",
        "chromexpr.io.bigwig",
        "chromexpr.preprocess.binning",
        "chromexpr.preprocess.geometry",
        "chromexpr.io.atomic",
    } <= set(binning)
    # preprocessing does not depend on the models or the training loop: editing a model must not
    # re-run binning (chromexpr.workflow, which every script imports, imports neither)
    for script in ("bin_reads.py", "simulate_reads.py", "prepare_reference.py", "build_dataset.py"):
        closure = module_closure(SCRIPTS / script)
        assert not [m for m in closure if m.startswith(("chromexpr.models", "chromexpr.training"))], script
    # the DAG-side module is imported by no script, so editing it re-runs nothing
    for script in SCRIPTS.glob("*.py"):
        assert "chromexpr.dag" not in module_closure(script), script.name


def test_prepare_config_equals_snakemake_validate(schema_file):
    """The Snakefile and check-config fill defaults exactly as Snakemake's validate() would (given the whole
    schema: the core's and each experiment's block)."""
    from chromexpr.dag import prepare_config

    for name in ("config.yaml", "remc.yaml", "processed_deepdiff.yaml"):
        raw = yaml.safe_load((REPO / "config" / name).read_text())
        ours = prepare_config(copy.deepcopy(raw), SCHEMA)
        theirs = copy.deepcopy(raw)
        validate(theirs, str(schema_file))
        assert ours == theirs, name


def test_each_experiments_block_comes_from_its_package():
    from chromexpr.experiments.registry import experiments

    schema = config_schema(SCHEMA)
    for experiment in experiments():
        node = schema
        for part in experiment.config_key.split("."):
            node = node["properties"][part]
        if experiment.schema_file() is not None:
            assert node == read_yaml(experiment.schema_file()), experiment.name
    assert set(schema["properties"]["experiments"]["properties"]) == {
        "transfer",
        "cross_cell",
        "differential",
        "regression",
        "interpret",
    }


def test_deepchrome_export_needs_the_five_marks(demo_config, schema_file):
    demo_config["marks"] = ["H3K4me3", "H3K27me3", "H3K36me3"]
    demo_config["train"]["models"] = []
    demo_config["experiments"] = {"transfer": {"enabled": False}, "cross_cell": {"enabled": False}}
    demo_config["predict"]["samples"] = None
    validate(demo_config, str(schema_file))
    with pytest.raises(InputError) as err:
        check_config(demo_config, {})
    first, hint = str(err.value).splitlines()
    assert first == (
        "config key 'export.deepchrome_csv': the DeepChrome CSV format has the five core marks, "
        "and 'marks' lacks H3K4me1, H3K9me3"
    )
    assert hint == "  -> set export.deepchrome_csv: false, or add the marks"
    demo_config["export"]["deepchrome_csv"] = False
    check_config(demo_config, {})


# --- names that become paths, and the user's tables ------------------------------------------------


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "a/b", "K 562"])
def test_a_name_that_could_escape_or_collide_is_refused_naming_the_key(demo_config, name):
    config = copy.deepcopy(demo_config)
    config["cells"] = [*config["cells"][:1], name]
    with pytest.raises(InputError) as err:
        validate_config(config, SCHEMA)
    assert str(err.value).splitlines()[0] == (
        f"config key 'cells[1]': {name!r} is not a valid name: use letters, digits, '_', '-' and '.', "
        "not starting with '.' (names become folder and file names)"
    )


def test_names_with_dots_inside_stay_valid(demo_config):
    config = copy.deepcopy(demo_config)
    config["marks"] = ["H3K4me3", "H2A.Z", "my-mark_2"]
    validate_config(config, SCHEMA)


PREDICT_SCHEMA = REPO / "config" / "schemas" / "predict.schema.yaml"


def test_user_table_errors_name_the_line_and_the_column(tmp_path):
    from chromexpr.dag import read_user_table

    table = tmp_path / "predict.tsv"
    table.write_text("# samples to predict\nsample\tmark\tpath\nK562\tH3K4me3\ta.bw\n\nK 562\tH3K27me3\tb.bw\n")
    with pytest.raises(InputError) as err:
        read_user_table(table, PREDICT_SCHEMA)
    assert err.value.path == str(table) and err.value.line == 5
    assert str(err.value).splitlines()[0] == (
        f"{table}:5: column 'sample': 'K 562' is not a valid name: use letters, digits, '_', '-' and '.', "
        "not starting with '.' (names become folder and file names)"
    )
    table.write_text("sample\tmark\tpath\n..\tH3K4me3\ta.bw\n")
    with pytest.raises(InputError, match=r":2: column 'sample': '\.\.' is not a valid name"):
        read_user_table(table, PREDICT_SCHEMA)
    table.write_text("sample\tmark\nK562\tH3K4me3\n")
    with pytest.raises(InputError, match=r":1: the header lacks column\(s\) path; it has sample, mark"):
        read_user_table(table, PREDICT_SCHEMA)
    table.write_text("")
    with pytest.raises(InputError, match="the table is empty: it needs a header line"):
        read_user_table(table, PREDICT_SCHEMA)
    table.write_text("sample\tmark\tpath\nK562\tH3K4me3\ta.bw\n")
    assert read_user_table(table, PREDICT_SCHEMA).to_dict("records") == [
        {"sample": "K562", "mark": "H3K4me3", "path": "a.bw"}
    ]


def test_input_marks_config_builds_every_card_on_the_configured_marks(demo_config):
    from chromexpr.dag import load_cards, unused_marks, unused_marks_note
    from chromexpr.models import build_model
    from chromexpr.models.registry import count_parameters

    six = ["H3K4me3", "H3K4me1", "H3K36me3", "H3K27me3", "H3K9me3", "H3K27ac"]
    demo_config["marks"] = six
    cards = load_cards(demo_config)  # input_marks: card (the default): the cards' own marks
    assert cards["deepchrome"]["input"]["marks"] == six[:5] and cards["deepchrome"]["expected_parameters"] == 644_177
    unused = unused_marks(demo_config, cards)
    assert list(unused) == ["H3K27ac"] and "deepchrome" in unused["H3K27ac"]
    assert unused_marks_note({"H3K27ac": ["deepchrome", "linear12"]}) == [
        "mark H3K27ac is configured but 2 model(s) do not use it (deepchrome, linear12): each card takes its own "
        "marks (train.input_marks: card); set train.input_marks: config to build every card on the configured marks"
    ]
    demo_config["train"]["input_marks"] = "config"
    cards = load_cards(demo_config)
    assert all(card["input"]["marks"] == six for card in cards.values())
    assert cards["deepchrome"]["expected_parameters"] is None  # the paper's count is for its five marks
    assert unused_marks(demo_config, cards) == {}
    # the parameter count follows the marks: one more input channel of the first convolution (50 filters x 10)
    assert count_parameters(build_model(cards["deepchrome"])) - 644_177 == 50 * 10
    # the same marks in another order keep the paper's count (and its check)
    demo_config["marks"] = list(reversed(six[:5]))
    cards = load_cards(demo_config)
    assert cards["deepchrome"]["expected_parameters"] == 644_177
    assert cards["deepchrome"]["input"]["marks"] == list(reversed(six[:5]))
