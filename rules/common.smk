# Configuration and table validation, and the helpers the rules use. No rules here.
#
# The patterns every rule here follows (README, "Workflow correctness").
# - params carry only the config values the job uses, read key by key (never a whole section), so
#   editing another key re-runs nothing;
# - inputs and outputs are relative paths; files shipped with chromexpr (cards, demo and reference
#   tables) are staged into resources/shipped/ by a rule whose only param is their checksum, so a
#   finished project can move to another directory (or machine) without re-running anything;
# - params.code = script_code(<script>): a hash of every chromexpr module the script imports,
#   computed by walking its imports, so a library edit re-runs exactly the rules it affects;
# - every cross-key rule and every input table is checked here, before any job runs.
import re
import shutil
from pathlib import Path

import pandas as pd
from snakemake.utils import validate

from chromexpr import dag
from chromexpr.errors import InputError
from chromexpr.evaluation.cross_cell import read_groups
from chromexpr.io.atomic import sha256sum
from chromexpr.io.tables import read_expression
from chromexpr.models import load_card
from chromexpr.models.registry import card_path
from chromexpr.preprocess.counting import is_bigwig as bigwig_by_content
from chromexpr.preprocess.geometry import BinGeometry, widest
from chromexpr.reporting.manifest import (
    cross_cell_report_files,
    differential_report_files,
    interpret_report_files,
    regression_report_files,
    transfer_report_files,
)
from chromexpr.training.regression_plan import part_cells
from chromexpr.shipped import SHIPPED_PREFIX, is_shipped, shipped_file, shipped_names

REPO = Path(workflow.basedir)
SCHEMA = REPO / "config" / "schemas" / "config.schema.yaml"
SHIPPED = shipped_names()
TRANSFER_REPORT_FILES = transfer_report_files()
# (results/report/cross_cell/test_on_rest.tsv is the test_on_rest job's output, not in this list)
CROSS_CELL_REPORT_FILES = cross_cell_report_files()
DIFFERENTIAL_REPORT_FILES = differential_report_files()
REGRESSION_REPORT_FILES = regression_report_files()
INTERPRET_REPORT_FILES = interpret_report_files()


_CODE_HASHES = {}


def script_code(script, models=()):
    """Hash of the chromexpr modules workflow/scripts/<script> imports and of the model family of each
    card in ``models`` (chromexpr.dag.code_hash), computed once per script and cards in this process.
    """
    key = (script, tuple(models))
    if key not in _CODE_HASHES:
        _CODE_HASHES[key] = dag.code_hash(
            REPO / "workflow" / "scripts" / script, models=models
        )
    return _CODE_HASHES[key]


def run_code(script):
    """The code param of a job that builds its {model} wildcard's card: its script's modules and that
    card's model family, so that editing one family re-runs its runs and no other."""
    return lambda wildcards: script_code(script, [wildcards.model])


def repo_or_cwd(path):
    """A user path from the config: relative to the working directory or else to the repository
    (then absolute, so such inputs move only together with the repository)."""
    p = Path(path)
    if p.is_absolute() or p.exists():
        return str(p)
    return str(REPO / p)


def config_file(key, *, must_exist=True):
    """The input path for the config value at dotted ``key``: a shipped file (``chromexpr:<name>``)
    is staged into resources/shipped/<name>; a user path is taken as written (see repo_or_cwd).
    """
    value = config
    for part in key.split("."):
        value = value[part]
    if is_shipped(value):
        name = value[len(SHIPPED_PREFIX) :]
        if name not in SHIPPED:
            raise InputError(
                f"chromexpr ships no file '{name}'",
                key=key,
                hint=f"shipped files: {', '.join(SHIPPED)}; or give a path to your own file",
            )
        return f"resources/shipped/{name}"
    if not value:
        raise InputError(
            "no file given", key=key, hint="set it to the path of your file"
        )
    path = repo_or_cwd(value)
    if must_exist and not Path(path).exists():
        raise InputError(
            f"file '{value}' not found (looked in the working directory and the repository)",
            key=key,
            hint="fix the path, or give it relative to the directory you run snakemake in",
        )
    return path


def shipped_checksum(wildcards):
    """sha256 of a shipped file: the only param of the rule that stages it."""
    return sha256sum(shipped_file(wildcards.name))


def local_file(path):
    """The real file behind an input path, for checks at DAG build (staged files are read from
    the package)."""
    if path.startswith("resources/shipped/"):
        return shipped_file(path[len("resources/shipped/") :])
    return Path(path)


def _check_duplicates(table, keys, path):
    dup = table.duplicated(keys, keep=False)
    if dup.any():
        line = int(dup.to_numpy().nonzero()[0][0]) + 2
        row = table[dup].iloc[0]
        raise InputError(
            f"{', '.join(str(row[k]) for k in keys)} is listed more than once",
            path=path,
            line=line,
            hint="keep one row for it",
        )


def _read_table(path, schema):
    if not Path(path).is_file():
        raise InputError(
            "table not found",
            path=path,
            hint="create it, or fix the config key naming it",
        )
    table = pd.read_csv(path, sep="\t", dtype=str, comment="#").dropna(how="all")
    try:
        validate(table, workflow.source_path(schema))
    except (
        Exception
    ) as exc:  # snakemake wraps the jsonschema error; keep its first line
        raise InputError(
            f"does not match its schema: {str(exc).splitlines()[0]}",
            path=path,
            hint=f"see {schema.removeprefix('../')} for the columns",
        ) from None
    return table


def _read_files_table():
    path = repo_or_cwd(config["source"]["local"]["files"])
    table = _read_table(path, "../config/schemas/files.schema.yaml")
    _check_duplicates(table, ["cell", "mark"], path)
    have = set(zip(table["cell"], table["mark"]))
    missing = [f"{c}/{m}" for c in CELLS for m in MARKS if (c, m) not in have]
    if missing:
        raise InputError(
            f"no file for {len(missing)} cell/mark pairs ({', '.join(missing[:6])}"
            f"{' ...' if len(missing) > 6 else ''})",
            path=path,
            hint="add a row 'cell mark path' for each, or remove the cell or mark from the config",
        )
    files = {(r.cell, r.mark): repo_or_cwd(r.path) for r in table.itertuples()}
    for (cell, mark), file in files.items():
        if cell in CELLS and mark in MARKS and not Path(file).is_file():
            raise InputError(
                f"the file of {cell}/{mark} does not exist: {file}",
                path=path,
                hint="fix the path (relative paths are taken from the working directory)",
            )
    return files


def _read_processed_table():
    path = repo_or_cwd(config["source"]["processed"]["files"])
    table = _read_table(path, "../config/schemas/processed.schema.yaml")
    _check_duplicates(table, ["cell", "split"], path)
    have = set(zip(table["cell"], table["split"]))
    missing = [
        f"{c} {s}"
        for c in CELLS
        for s in ("train", "valid", "test")
        if (c, s) not in have
    ]
    if missing:
        raise InputError(
            f"no file for {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}",
            path=path,
            hint="add a row 'cell split path' for each (split = train, valid, test), "
            "or drop the cell from 'cells'",
        )
    return {(r.cell, r.split): repo_or_cwd(r.path) for r in table.itertuples()}


def reads_file(wildcards):
    """The raw reads (or bigWig) of one cell and mark, wherever the source keeps them."""
    if SOURCE == "demo":
        return f"resources/demo/{wildcards.cell}-{wildcards.mark}.tagAlign.gz"
    if SOURCE == "remc":
        return f"resources/remc/{wildcards.cell}-{wildcards.mark}.tagAlign.gz"
    return LOCAL_FILES[(wildcards.cell, wildcards.mark)]


def is_bigwig(wildcards):
    """Whether the input of a binning job is a bigWig (by name, or by content when the file exists:
    the same test the binning step makes)."""
    return bigwig_by_content(reads_file(wildcards))


def binning_params(wildcards):
    """What a binning job uses: the engine for reads; the statistic and the missing-chromosome
    policy for bigWig signal (each only where it changes the result)."""
    if is_bigwig(wildcards):
        return {
            "bigwig_stat": config["binning"]["bigwig_stat"],
            "missing_chromosomes": config["binning"]["missing_chromosomes"],
        }
    return {"engine": config["binning"]["engine"]}


def annotation_file():
    """The gene annotation of the source."""
    if SOURCE == "demo":
        return config_file("source.demo.genes")
    if SOURCE == "remc":
        return "resources/remc/gene_info.tsv"
    return config_file("source.local.annotation")


def annotation_format():
    """Format of annotation_file()."""
    return "tss_table" if SOURCE == "demo" else config["reference"]["annotation_format"]


def expression_file():
    """The expression matrix of the source."""
    if SOURCE == "demo":
        return config_file("source.demo.expression")
    if SOURCE == "remc":
        return "resources/remc/expression.tsv.gz"
    if SOURCE == "processed":
        return config_file("source.processed.expression")
    return config_file("source.local.expression")


def chrom_sizes_file():
    """Chromosome sizes of the assembly."""
    key = {"demo": "demo", "remc": "remc"}.get(SOURCE, "local")
    return config_file(f"source.{key}.chrom_sizes")


def processed_expression():
    """Expression matrix for the processed source, or nothing (labels come with the files)."""
    return (
        config_file("source.processed.expression")
        if config["source"]["processed"]["expression"]
        else []
    )


def _check_expression_cells():
    """Every configured cell has a column in the expression matrix (read now when it exists)."""
    if SOURCE == "remc":
        path = (
            "resources/remc/expression.tsv.gz"  # downloaded: checked once it is there
        )
        if not Path(path).exists():
            return
    elif SOURCE == "processed":
        path = processed_expression()
        if not path:
            return
    else:
        path = expression_file()
    read_expression(
        local_file(path), CELLS, duplicates=config["expression"]["duplicates"]
    )


def geometry():
    """The bin geometry of the single-cell datasets (bins.*), as the library's BinGeometry takes it."""
    return {k: config["bins"][k] for k in ("window_bp", "bin_bp", "orient_by_strand")}


def differential_geometry():
    """The bin geometry of the differential datasets: bins.* with the experiment's window."""
    return {
        **geometry(),
        "window_bp": config["experiments"]["differential"]["window_bp"],
    }


def binning_geometry():
    """The geometry reads are binned with, once: the widest window any enabled experiment asks for (the
    narrower datasets are cut out of it, bin for bin equal to binning them directly). The reference
    drops genes whose widest window leaves the chromosome, so every dataset holds the same genes.
    """
    wanted = [BinGeometry(**geometry())]
    if config["experiments"]["differential"]["enabled"]:
        wanted.append(BinGeometry(**differential_geometry()))
    wide = widest(*wanted)
    return {k: getattr(wide, k) for k in ("window_bp", "bin_bp", "orient_by_strand")}


def split_params():
    """The split settings that the configured split method uses."""
    split = config["split"]
    keys = {
        "blocks": [],
        "random": ["seed", "fractions"],
        "chromosome": ["valid_chromosomes", "test_chromosomes"],
    }[split["method"]]
    return {"method": split["method"], **{k: split[k] for k in keys}}


def counts_file():
    """Counts per cell and mark; temporary unless binning.keep_counts."""
    path = "results/counts/{cell}/{mark}.npy"
    return path if config["binning"]["keep_counts"] else temp(path)


def dataset_counts(wildcards):
    """The per-mark count matrices of one cell (and their binning records), in config mark order."""
    files = {m: f"results/counts/{wildcards.cell}/{m}.npy" for m in MARKS}
    files.update(
        {f"{m}_stats": f"results/counts/{wildcards.cell}/{m}.json" for m in MARKS}
    )
    return files


def processed_inputs(wildcards):
    """The released split files of one cell."""
    return {s: PROCESSED_FILES[(wildcards.cell, s)] for s in ("train", "valid", "test")}


def dataset_files():
    """Every cell's dataset."""
    return expand("results/datasets/{cell}.npz", cell=CELLS)


def final_targets():
    """What 'snakemake' builds by default."""
    targets = dataset_files() + ["results/datasets/summary.tsv"]
    if MODELS:
        targets += ["results/report/index.html"]
    else:
        targets += report_sections()
    if config["export"]["deepchrome_csv"]:
        targets += expand("results/export/deepchrome/{cell}.csv.gz", cell=CELLS)
    targets += predict_targets()
    return targets


def _read_checksums():
    path = config["source"]["remc"]["checksums"]
    if SOURCE != "remc" or not path:
        return {}
    path = repo_or_cwd(path)
    table = pd.read_csv(path, sep="\t", dtype=str, comment="#")
    for col in ("file", "size", "sha256"):
        if col not in table.columns:
            raise InputError(
                f"missing column '{col}'",
                path=path,
                line=1,
                hint="the header must be 'file size sha256'",
            )
    return {r.file: {"size": r.size, "sha256": r.sha256} for r in table.itertuples()}


def known_checksum(name):
    """Size and sha256 of a download when the checksum table lists it (else empty strings)."""
    return CHECKSUMS.get(name, {"size": "", "sha256": ""})


def train_gpus():
    """GPUs a torch training job asks for: 1 when it will use CUDA (the profile caps how many run at
    once), 0 for CPU training so that CPU jobs run in parallel. On SLURM the profile sets it.
    """
    device = config["train"]["device"]
    if device == "cuda" or (device == "auto" and shutil.which("nvidia-smi")):
        return 1
    return 0


def card_checksum(wildcards):
    """sha256 of the model card's file: a training job's record of the card it uses (the card
    itself is package data, found by name, so it is not an input path)."""
    return CARD_SHA256[wildcards.model]


def torch_training_params():
    """The train.* keys a torch training job uses (the cards' values where null)."""
    return {
        k: config["train"][k]
        for k in ("device", "max_epochs", "patience", "batch_size")
    }


def config_names():
    """The config files of this run in the order they apply (the Snakefile's ``configfile:``, then each
    ``--configfile``), each relative to the workflow or the working directory when inside one, else its
    name: never an absolute path."""
    given = [str(f) for f in (workflow.overwrite_configfiles or [])]
    files = [str(f) for f in workflow.configfiles if str(f) not in given] + given
    names = []
    for file in files:
        path = Path(file).resolve()
        for base in (REPO.resolve(), Path.cwd().resolve()):
            if path.is_relative_to(base):
                names.append(str(path.relative_to(base)))
                break
        else:
            names.append(path.name)
    return names


def report_sections():
    """The HTML sections of the enabled experiments, inserted into results/report/index.html."""
    sections = []
    if config["experiments"]["differential"]["enabled"]:
        sections.append("results/report/differential/section.html")
    if config["experiments"]["regression"]["enabled"]:
        sections.append("results/report/regression/section.html")
    if config["experiments"]["transfer"]["enabled"]:
        sections.append("results/report/transfer/section.html")
    if config["experiments"]["cross_cell"]["enabled"]:
        sections.append("results/report/cross_cell/section.html")
    if config["experiments"]["interpret"]["enabled"]:
        sections.append("results/report/interpret/section.html")
    return sections


def run_files(name):
    """``name`` (metrics.json, history.tsv, predictions.tsv.gz) of every single-cell run."""
    return expand(
        "results/runs/single_cell/{model}/{cell}/seed{seed}/{name}",
        model=MODELS,
        cell=CELLS,
        seed=SEEDS,
        name=name,
    )


def run_metrics():
    """metrics.json of every single-cell run."""
    return expand(
        "results/runs/single_cell/{model}/{cell}/seed{seed}/metrics.json",
        model=MODELS,
        cell=CELLS,
        seed=SEEDS,
    )


# Every check that can be made before a job runs, in one place: a problem stops the run here with one
# message (the config key, or the file and line, and what to do) instead of failing jobs later.
with dag.exit_on_input_error():
    # one message naming the key (no schema dump), then the schema's defaults filled in
    dag.prepare_config(config, SCHEMA)
    SOURCE = config["source"]["kind"]
    CELLS = list(config["cells"])
    MARKS = list(config["marks"])
    MODELS = list(config["train"]["models"])
    SEEDS = list(config["train"]["seeds"])
    # every model with single-cell runs: train.models, the transfer models (origin) and the cross-cell
    # model (baseline, Test-on-Rest)
    SINGLE_CELL_MODELS = dag.single_cell_models(config)
    CARDS = {m: load_card(m) for m in SINGLE_CELL_MODELS}
    dag.check_config(config, CARDS)
    CARD_SHA256 = {m: sha256sum(card_path(m)) for m in SINGLE_CELL_MODELS}
    LOCAL_FILES = _read_files_table() if SOURCE == "local" else {}
    PROCESSED_FILES = _read_processed_table() if SOURCE == "processed" else {}
    if SOURCE == "processed":
        processed_expression()
    else:
        annotation_file(), expression_file(), chrom_sizes_file()
    if MODELS:
        config_file("report.published")
    _check_expression_cells()
    CHECKSUMS = _read_checksums()

FRAMEWORK = {m: CARDS[m]["framework"] for m in SINGLE_CELL_MODELS}
TORCH_MODELS = [m for m in SINGLE_CELL_MODELS if FRAMEWORK[m] == "torch"] or [
    "__none__"
]
SKLEARN_MODELS = [m for m in SINGLE_CELL_MODELS if FRAMEWORK[m] == "sklearn"] or [
    "__none__"
]


# --- prediction on new samples (rules/predict.smk) ---
PREDICT = config["predict"]
PREDICT_CELL = PREDICT["cell"] or CELLS[0]
# where a path of config/predict.tsv may not exist yet: files this workflow makes
WORKFLOW_OUTPUTS = ("resources/", "results/")


def _read_predict_table():
    """config/predict.tsv as {sample: {mark: path}}, every check made before any job runs."""
    bad = [m for m in PREDICT["models"] if m not in MODELS or FRAMEWORK[m] != "torch"]
    if bad:
        raise InputError(
            f"predict.models names {', '.join(bad)}: only torch models of train.models can be applied "
            "(their runs' model.pt; a scikit-learn model.pkl is not loaded, loading a pickle can run code)",
            key="predict.models",
            hint=f"choose among {', '.join(m for m in MODELS if FRAMEWORK[m] == 'torch') or 'none'}",
        )
    if PREDICT_CELL not in CELLS:
        raise InputError(
            f"predict.cell {PREDICT_CELL} is not a configured cell",
            key="predict.cell",
            hint="name one of 'cells'",
        )
    if PREDICT["seed"] not in SEEDS:
        raise InputError(
            f"predict.seed {PREDICT['seed']} is not one of train.seeds {SEEDS}",
            key="predict.seed",
            hint="name a seed the single-cell runs are trained with",
        )
    if PREDICT["tss"] is None and SOURCE == "processed":
        raise InputError(
            "the processed source has no reference TSS table to predict on",
            key="predict.tss",
            hint="give the samples' genes: a TSS table (gene_id chrom tss strand) or a BED6 file",
        )
    path = repo_or_cwd(PREDICT["samples"])
    table = _read_table(path, "../config/schemas/predict.schema.yaml")
    _check_duplicates(table, ["sample", "mark"], path)
    samples = {}
    for row in table.itertuples():
        samples.setdefault(row.sample, {})[row.mark] = row.path
    needed = {m: list(CARDS[m]["input"]["marks"]) for m in PREDICT["models"]}
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
            if (
                not file.startswith(WORKFLOW_OUTPUTS)
                and not Path(repo_or_cwd(file)).is_file()
            ):
                raise InputError(
                    f"the file of {sample}/{mark} does not exist: {file}",
                    path=path,
                    hint="fix the path (relative paths are taken from the working directory)",
                )
    return samples


with dag.exit_on_input_error():
    PREDICT_SAMPLES = _read_predict_table() if PREDICT["samples"] else {}


def predict_inputs(wildcards):
    """A prediction job's inputs: the run's model.pt, the TSS table, and the sample's file of each mark
    the model takes (named mark_<MARK>)."""
    files = PREDICT_SAMPLES[wildcards.sample]
    marks = CARDS[wildcards.model]["input"]["marks"]
    run = f"results/runs/single_cell/{wildcards.model}/{PREDICT_CELL}/seed{PREDICT['seed']}"
    tss = (
        "results/reference/tss.tsv"
        if PREDICT["tss"] is None
        else str(repo_or_cwd(PREDICT["tss"]))
    )
    inputs = {"model": f"{run}/model.pt", "tss": tss}
    for mark in marks:
        file = files[mark]
        inputs[f"mark_{mark}"] = (
            file if file.startswith(WORKFLOW_OUTPUTS) else str(repo_or_cwd(file))
        )
    return inputs


def predict_targets():
    """Every sample x model prediction."""
    return expand(
        "results/predict/{sample}/{model}.tsv",
        sample=sorted(PREDICT_SAMPLES),
        model=PREDICT["models"],
    )


wildcard_constraints:
    cell="|".join(CELLS),
    mark="|".join(MARKS),


# --- the transfer experiment (rules/transfer.smk) ---

TRANSFER = config["experiments"]["transfer"]
TRANSFER_MODELS = dag.transfer_models(config)
TRANSFER_CROSS_MODELS = [
    m for m in TRANSFER_MODELS if CARDS[m].get("domain_adaptation")
]
TRANSFER_TARGETS = dag.transfer_targets(config) if TRANSFER["enabled"] else []
TRANSFER_RUN = "results/runs/transfer/{model}_{variant}/{source}_to_{target}/seed{seed}"


def transfer_info(wildcards):
    """What a transfer job uses besides the card: the protocol (and for _cross the lambda schedule)."""
    info = {"protocol": TRANSFER["protocol"]}
    if wildcards.variant == "cross":
        info["lambda_schedule"] = TRANSFER["lambda_schedule"]
    return info


def uncross_inputs(wildcards):
    """Both datasets (the source's test genes probe the features), and under the honest protocol the
    source's single-cell run, whose model is scored."""
    files = {
        "source": f"results/datasets/{wildcards.source}.npz",
        "target": f"results/datasets/{wildcards.target}.npz",
    }
    if TRANSFER["protocol"] == "honest":
        run = f"results/runs/single_cell/{wildcards.model}/{wildcards.source}/seed{wildcards.seed}"
        files.update(
            trained_model=f"{run}/model.pt",
            trained_metrics=f"{run}/metrics.json",
            trained_history=f"{run}/history.tsv",
            trained_predictions=f"{run}/predictions.tsv.gz",
        )
    return files


def transfer_runs(name):
    """``name`` of every uncross and cross run of the experiment."""
    runs = expand(
        f"{TRANSFER_RUN}/{name}",
        model=TRANSFER_MODELS,
        variant="uncross",
        source=TRANSFER["source"],
        target=TRANSFER_TARGETS,
        seed=SEEDS,
    )
    return runs + expand(
        f"{TRANSFER_RUN}/{name}",
        model=TRANSFER_CROSS_MODELS,
        variant="cross",
        source=TRANSFER["source"],
        target=TRANSFER_TARGETS,
        seed=SEEDS,
    )


# --- the cross-cell experiment (rules/cross_cell.smk) ---

CROSS = config["experiments"]["cross_cell"]
CROSS_MODEL = CROSS["model"]
CROSS_TARGETS = dag.cross_cell_targets(config) if CROSS["enabled"] else []
CROSS_RUN = "results/runs/cross_cell/{run}/{target}/seed{seed}"
CORRELATION_SPLITS = ["train", "valid", "test"]


def cross_cell_groups_table():
    """The checkpoint's groups.tsv, read with chromexpr's reader (``empty`` boolean, ``cells`` text)."""
    return read_groups(checkpoints.cross_cell_groups.get().output.groups)


def cross_cell_group(wildcards):
    """The group row of a cross-cell run, from the checkpoint's groups.tsv."""
    groups = cross_cell_groups_table()
    row = groups[
        (groups["run"] == wildcards.run) & (groups["target"] == wildcards.target)
    ]
    return row.iloc[0]


def cross_cell_inputs(wildcards):
    """A cross-cell run's inputs: the groups table, the training cells' datasets, the target's."""
    row = cross_cell_group(wildcards)
    if row["empty"]:
        raise InputError(
            f"group {wildcards.run} of {wildcards.target} is empty: no run",
            path="results/cross_cell/groups.tsv",
            hint="empty groups have no job; ask for the report, not for this run",
        )
    cells = row["cells"].split(",")
    return {
        "groups": checkpoints.cross_cell_groups.get().output.groups,
        "train": [f"results/datasets/{c}.npz" for c in cells],
        "target": f"results/datasets/{wildcards.target}.npz",
    }


def cross_cell_run_files(name):
    """``name`` of every non-empty group's run (read from the checkpoint)."""

    def files(wildcards):
        groups = cross_cell_groups_table()
        return [
            f"results/runs/cross_cell/{r.run}/{r.target}/seed{seed}/{name}"
            for r in groups[~groups["empty"]].itertuples()
            for seed in SEEDS
        ]

    return files


def cross_cell_single_cell(name, cells):
    """``name`` of the model's single-cell runs on ``cells``."""
    return expand(
        "results/runs/single_cell/{model}/{cell}/seed{seed}/{name}",
        model=CROSS_MODEL,
        cell=cells,
        seed=SEEDS,
        name=name,
    )


# --- the differential experiment (rules/differential.smk) ---

DIFFERENTIAL = config["experiments"]["differential"]
DIFF_RUN = "results/runs/differential/{model}/{cell_a}_vs_{cell_b}/seed{seed}"
with dag.exit_on_input_error():
    DIFF_MODELS = dag.differential_models(config)
    DIFF_PAIRS = (
        dag.differential_pairs(config, resolve=repo_or_cwd)
        if DIFFERENTIAL["enabled"]
        else []
    )
    DIFF_CARDS = {m: load_card(m) for m in DIFF_MODELS}
    if DIFFERENTIAL["enabled"]:
        dag.check_differential(config, DIFF_PAIRS, DIFF_CARDS)
    CARD_SHA256.update({m: sha256sum(card_path(m)) for m in DIFF_MODELS})
DIFF_CELLS = list(dict.fromkeys(c for pair in DIFF_PAIRS for c in pair))
DIFF_TORCH_MODELS = [
    m for m in DIFF_MODELS if DIFF_CARDS[m]["framework"] == "torch"
] or ["__none__"]
DIFF_SKLEARN_MODELS = [
    m for m in DIFF_MODELS if DIFF_CARDS[m]["framework"] == "sklearn"
] or ["__none__"]
DIFF_ATTENTION_PAIR = (
    list(DIFFERENTIAL["attention_pair"] or DIFF_PAIRS[0]) if DIFF_PAIRS else []
)


def differential_counts_file():
    """The raw RNA-seq read counts of the differential targets."""
    if DIFFERENTIAL["counts"]:
        return config_file("experiments.differential.counts")
    return "resources/remc/counts.tsv.gz"


def _check_counts_cells():
    """Every paired cell has a column in the counts matrix (read now when it exists)."""
    path = differential_counts_file()
    if path.startswith("resources/remc/") and not Path(path).exists():
        return  # downloaded: checked once it is there
    read_expression(
        local_file(path), DIFF_CELLS, duplicates=config["expression"]["duplicates"]
    )


if DIFFERENTIAL["enabled"]:
    with dag.exit_on_input_error():
        _check_counts_cells()


def differential_training_params():
    """What a differential torch job uses: train.device and train.patience, and the experiment's
    max_epochs (null: the card's); the batch size is always the card's (DeepDiff: 10).
    """
    return {
        "device": config["train"]["device"],
        "patience": config["train"]["patience"],
        "max_epochs": DIFFERENTIAL["max_epochs"],
    }


def differential_runs(name, models=None):
    """``name`` of every differential run (of ``models``, default all)."""
    return [
        f"results/runs/differential/{model}/{a}_vs_{b}/seed{seed}/{name}"
        for model in (DIFF_MODELS if models is None else models)
        for a, b in DIFF_PAIRS
        for seed in SEEDS
    ]


def differential_attention_runs():
    """attention.npz of every torch differential run (every torch card returns its attention)."""
    return differential_runs(
        "attention.npz", [m for m in DIFF_MODELS if m in DIFF_TORCH_MODELS]
    )


# --- the regression experiment (rules/regression.smk) ---

REGRESSION = config["experiments"]["regression"]
REG_RUN = "results/runs/regression/{model}/{part}/seed{seed}"
with dag.exit_on_input_error():
    REG_MODELS = dag.regression_models(config)
    REG_CARDS = {m: load_card(m) for m in REG_MODELS}
    REG_PLAN = dag.regression_plan(config, REG_CARDS)
    CARD_SHA256.update({m: sha256sum(card_path(m)) for m in REG_MODELS})
REG_TORCH_MODELS = [m for m in REG_MODELS if REG_CARDS[m]["framework"] == "torch"] or [
    "__none__"
]
REG_SKLEARN_MODELS = [
    m for m in REG_MODELS if REG_CARDS[m]["framework"] == "sklearn"
] or ["__none__"]
REG_PARTS = sorted({part for _, part in REG_PLAN["runs"]}) or ["__none__"]


def regression_datasets(wildcards=None):
    """The single-cell datasets of every cell of the regression experiment, by cell."""
    return {cell: f"results/datasets/{cell}.npz" for cell in REG_PLAN["cells"]}


def regression_params(wildcards):
    """A regression run's cells and settings: train / valid cells of its part, every cell tested."""
    train_cells, valid_cells = part_cells(
        wildcards.part, REG_PLAN["training"], REG_PLAN["folds"]
    )
    return {
        "train_cells": train_cells,
        "valid_cells": valid_cells,
        "test_cells": REG_PLAN["cells"],
        "target": REGRESSION["target"],
        "selection": REGRESSION["selection"],
        "trainval": REGRESSION["trainval"],
        "device": config["train"]["device"],
        "patience": config["train"]["patience"],
        "max_epochs": REGRESSION["max_epochs"],
    }


def regression_runs(name, kinds=("trained", "combined")):
    """``name`` of every regression run: trained (model, part) runs and the combined ones, every seed."""
    out = []
    if "trained" in kinds:
        out += [
            f"results/runs/regression/{model}/{part}/seed{seed}/{name}"
            for model, part in REG_PLAN["runs"]
            for seed in SEEDS
        ]
    if "combined" in kinds:
        out += [
            f"results/runs/regression/{kind}/all/seed{seed}/{name}"
            for kind in REG_PLAN["combined"]
            for seed in SEEDS
        ]
    return out


def regression_members(wildcards):
    """The member runs' metrics.json and predictions a combined run reads (weighted: the classifier's
    too)."""
    model = REGRESSION["ensemble_model"]
    if wildcards.kind == "ensemble":
        folders = [f"{model}/fold{k}" for k in range(REGRESSION["folds"])]
    else:
        folders = [f"{model}/cell_{c}" for c in REG_PLAN["training"]]
        folders.append(f"{REGRESSION['classifier_model']}/all")
    return [
        f"results/runs/regression/{folder}/seed{wildcards.seed}/{name}"
        for folder in folders
        for name in ("metrics.json", "predictions.tsv.gz")
    ]


def regression_fold_runs(name):
    """``name`` of every fold sub-model run (Fig. 3, Fig. 4)."""
    return [
        f"results/runs/regression/{REGRESSION['ensemble_model']}/fold{k}/seed{seed}/{name}"
        for k in range(REGRESSION["folds"])
        for seed in SEEDS
    ]


# --- interpretation (rules/interpret.smk) ---

INTERPRET = config["experiments"]["interpret"]
INTERPRET_CELLS = INTERPRET["cells"] or CELLS
INTERPRET_RUN = "results/interpret/{model}/{cell}/seed{seed}/interpret.npz"
INTERPRET_GAN = "results/interpret/gan/{model}/{cell}/seed{seed}/gan.npz"


def _check_interpret():
    """experiments.interpret's models, cells and seed name runs the workflow trains."""
    bad = [
        m
        for m in INTERPRET["models"]
        if m not in MODELS
        or FRAMEWORK[m] != "torch"
        or CARDS[m].get("task", "classification") != "classification"
    ]
    if bad:
        raise InputError(
            f"experiments.interpret.models names {', '.join(bad)}: only torch classifiers of train.models "
            "are interpreted",
            key="experiments.interpret.models",
            hint="choose among "
            + (", ".join(m for m in MODELS if FRAMEWORK[m] == "torch") or "none"),
        )
    for key in ("class_optimization", "gan"):
        extra = [m for m in INTERPRET[key]["models"] if m not in INTERPRET["models"]]
        if extra:
            raise InputError(
                f"experiments.interpret.{key}.models names {', '.join(extra)}, not in interpret.models",
                key=f"experiments.interpret.{key}.models",
                hint="add them to experiments.interpret.models, or drop them here",
            )
    unknown = [c for c in INTERPRET_CELLS if c not in CELLS]
    if unknown:
        raise InputError(
            f"experiments.interpret.cells names {', '.join(unknown)}, not configured cells",
            key="experiments.interpret.cells",
            hint="name cells of 'cells'",
        )
    if INTERPRET["seed"] not in SEEDS:
        raise InputError(
            f"experiments.interpret.seed {INTERPRET['seed']} is not one of train.seeds {SEEDS}",
            key="experiments.interpret.seed",
            hint="name a seed the single-cell runs are trained with",
        )


if INTERPRET["enabled"]:
    with dag.exit_on_input_error():
        _check_interpret()


def interpret_files():
    """Every interpret.npz and gan.npz of the experiment."""
    if not INTERPRET["enabled"]:
        return {"runs": [], "gans": []}
    seed = INTERPRET["seed"]
    return {
        "runs": expand(
            INTERPRET_RUN, model=INTERPRET["models"], cell=INTERPRET_CELLS, seed=seed
        ),
        "gans": expand(
            INTERPRET_GAN,
            model=INTERPRET["gan"]["models"],
            cell=INTERPRET_CELLS,
            seed=seed,
        ),
    }
