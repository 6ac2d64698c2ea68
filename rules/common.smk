# Generic helpers the rules use, and the config checks; no rules, and no experiment here (each experiment's
# globals live in its rules file, rules/<experiment>.smk; chromexpr.experiments.registry lists them).
#
# The patterns every rule follows (docs/workflow.md, "What re-runs, and what does not").
# - params carry only the config values the job uses, read key by key (never a whole section), so
#   editing another key re-runs nothing;
# - inputs and outputs are relative paths; files shipped with chromexpr (cards, demo and reference
#   tables) are staged into resources/shipped/ by a rule whose only param is their checksum, so a
#   finished project can move to another directory (or machine) without re-running anything;
# - params.code = script_code(<script>) (or run_code for a job that builds its card's model): a hash of
#   every chromexpr module the job runs, found by walking its script's imports, so a library edit re-runs
#   exactly the jobs it affects;
# - every cross-key rule and every input table is checked before any job runs.
import re
import shutil
from pathlib import Path

from chromexpr import dag, inputs
from chromexpr.experiments import gene_sets, registry
from chromexpr.io.atomic import sha256sum
from chromexpr.models.registry import card_digest
from chromexpr.shipped import shipped_file

REPO = Path(workflow.basedir)
SCHEMA = REPO / "config" / "schemas" / "config.schema.yaml"

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


# a user path from the config: relative to the working directory or else to the repository (then
# absolute, so such inputs move only together with the repository)
repo_or_cwd = inputs.repo_or_cwd(REPO)


def config_file(key, *, must_exist=True):
    """The input path for the config value at dotted ``key``: a shipped file (``chromexpr:<name>``)
    is staged into resources/shipped/<name>; a user path is taken as written (see repo_or_cwd).
    Checked as the DAG build checks it (chromexpr.inputs.job_input)."""
    return inputs.job_input(config, key, repo_or_cwd, must_exist=must_exist)


def shipped_checksum(wildcards):
    """sha256 of a shipped file: the only param of the rule that stages it."""
    return sha256sum(shipped_file(wildcards.name))


# GPU routing, in one place. The rules that train a torch model declare `group: TORCH_GROUP` and
# `gpu=torch_gpu()` and nothing else about GPUs; the SLURM profile's `slurm-partition-config` sends a job
# that asks for a GPU to a partition that has GPUs. The gpu resource is scoped per submission (the
# Snakefile's `resource_scopes:`): `--resources gpu=1` caps the GPUs of one job (locally: of the whole
# run), so a SLURM group job of N training jobs (`--group-components gpu=N`) asks for one GPU and runs
# them on it in turn.
TORCH_GROUP = "gpu"
HOST_HAS_GPU = shutil.which("nvidia-smi") is not None


def torch_gpu(trains=True):
    """The GPUs of a torch training job (``trains=False``: a rule that may run without training, e.g.
    the honest transfer protocol's scoring job), decided per job once the executor is known: 1 whatever
    the host (a login node without a GPU submits GPU jobs; a dry run shows what a cluster is asked), 0
    where ``train.device`` is ``cpu``, and 0 in a local run on a host without a GPU, where the jobs
    train on the CPU side by side instead of one at a time under profiles/default's cap.
    """
    device = str(config["train"]["device"])

    def gpus(wildcards):
        if not trains or device == "cpu":
            return 0
        local = getattr(workflow.executor_plugin, "name", "local") == "local"
        return int(not local or HOST_HAS_GPU or device.startswith("cuda"))

    return gpus


def card_checksum(wildcards):
    """The training digest of the model card (``chromexpr.models.card_digest``): a training job's record of
    the card it uses (the card is package data, found by name, so it is not an input path). Its display
    name, colour, published numbers, citation and deviations are not in it: editing them re-runs reports only.
    """
    return CARD_TRAINING[wildcards.model]


def report_cards(name):
    """The documentation digest of every card the experiment ``name``'s report shows (display names,
    colours, published numbers, citations): a param of its report job, so editing one re-runs the reports
    that show that card and nothing else."""
    cards = registry.experiment(name).report_cards(config)
    return {m: CARD_DOCUMENTATION[m] for m in cards}


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


# Every check that can be made before a job runs, in one place: a problem stops the run here with one
# message (the config key, or the file and line, and what to do) instead of failing jobs later. The same
# two calls as `chromexpr check-config` (chromexpr.dag.check_config_files), so both refuse the same configs
# with the same messages; the rules use the tables read here (INPUTS).
with dag.exit_on_input_error():
    # one message naming the key (no schema dump), then the schema's defaults filled in
    dag.prepare_config(config, SCHEMA)
    SOURCE = config["source"]["kind"]
    CELLS = list(config["cells"])
    MARKS = list(config["marks"])
    SEEDS = list(config["train"]["seeds"])
    # the card of every model the experiments train or apply
    CARDS = dag.load_cards(config)
    dag.check_config(config, CARDS, resolve=repo_or_cwd)
    # the files and tables the config names: the source's, then each enabled experiment's
    INPUTS = inputs.check_inputs(
        config, CARDS, inputs.Paths(repo_or_cwd, SCHEMA.parent)
    )
    CARD_TRAINING = {m: card_digest(card, "training") for m, card in CARDS.items()}
    CARD_DOCUMENTATION = {
        m: card_digest(card, "documentation") for m, card in CARDS.items()
    }

FRAMEWORK = {m: card["framework"] for m, card in CARDS.items()}
# a configured mark that some models do not take is binned and stored but unused by them: said at every DAG build
# and on the report page (nothing dropped without a word); train.input_marks: config builds every card on them
UNUSED_MARKS = (
    dag.unused_marks_note(dag.unused_marks(config, CARDS))
    if config["train"]["input_marks"] == "card"
    else []
)
for note in UNUSED_MARKS:
    logger.warning(f"chromexpr: {note}")
# what `snakemake` builds by default for each enabled experiment: each rules file adds its own
EXPERIMENT_TARGETS = {}


def final_targets():
    """What 'snakemake' builds by default: every dataset and its summary (and export), then the targets of
    every enabled experiment (the report page and its sections, the predictions), each from its rules file
    (EXPERIMENT_TARGETS)."""
    targets = dataset_files() + ["results/datasets/summary.tsv"]
    if config["export"]["deepchrome_csv"]:
        targets += expand("results/export/deepchrome/{cell}.csv.gz", cell=CELLS)
    for experiment in registry.enabled(config):
        targets += EXPERIMENT_TARGETS[experiment.name]()
    return targets


def report_sections():
    """The report sections of the enabled experiments (each its own folder under results/report/), in
    page order."""
    return registry.sections(config)


wildcard_constraints:
    cell="|".join(CELLS),
    mark="|".join(MARKS),
