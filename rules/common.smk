# Configuration and table validation, and the helpers the rules use. No rules here.
import hashlib
import shutil
from pathlib import Path

import pandas as pd
import yaml
from snakemake.utils import validate

validate(config, workflow.source_path("../config/schemas/config.schema.yaml"))

SOURCE = config["source"]["kind"]
CELLS = list(config["cells"])
MARKS = list(config["marks"])
REPO = Path(workflow.basedir)


wildcard_constraints:
    cell="|".join(CELLS),
    mark="|".join(MARKS),


def repo_or_cwd(path):
    """A config path: absolute, relative to the working directory, or else to the repository."""
    p = Path(path)
    if p.is_absolute() or p.exists():
        return str(p)
    return str(REPO / p)


def code_version(*parts):
    """Hash of library sources, as a params value, so that library edits re-run the rules using them."""
    h = hashlib.sha256()
    root = REPO / "src" / "chromexpr"
    for part in parts:
        target = root / part
        files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
        for f in files:
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _check_duplicates(table, keys, path):
    dup = table.duplicated(keys, keep=False)
    if dup.any():
        row = table[dup].iloc[0]
        raise ValueError(
            f"{path}: {', '.join(str(row[k]) for k in keys)} is listed more than once; keep one row"
        )


def _read_files_table():
    path = repo_or_cwd(config["source"]["local"]["files"])
    table = pd.read_csv(path, sep="\t", dtype=str, comment="#").dropna(how="all")
    validate(table, workflow.source_path("../config/schemas/files.schema.yaml"))
    _check_duplicates(table, ["cell", "mark"], path)
    have = set(zip(table["cell"], table["mark"]))
    missing = [f"{c}/{m}" for c in CELLS for m in MARKS if (c, m) not in have]
    if missing:
        raise ValueError(
            f"{path}: no file for {len(missing)} cell/mark pairs ({', '.join(missing[:6])}...); "
            "add a row 'cell mark path' for each, or remove the cell or mark from the config"
        )
    return {(r.cell, r.mark): repo_or_cwd(r.path) for r in table.itertuples()}


def _read_processed_table():
    path = repo_or_cwd(config["source"]["processed"]["files"])
    table = pd.read_csv(path, sep="\t", dtype=str, comment="#").dropna(how="all")
    validate(table, workflow.source_path("../config/schemas/processed.schema.yaml"))
    _check_duplicates(table, ["cell", "split"], path)
    missing = [c for c in CELLS if c not in set(table["cell"])]
    if missing:
        raise ValueError(
            f"{path}: no files for cells {missing}; add rows 'cell split path' or drop them from 'cells'"
        )
    return {(r.cell, r.split): repo_or_cwd(r.path) for r in table.itertuples()}


LOCAL_FILES = _read_files_table() if SOURCE == "local" else {}
PROCESSED_FILES = _read_processed_table() if SOURCE == "processed" else {}


def reads_file(wildcards):
    """The raw reads (or bigWig) of one cell and mark, wherever the source keeps them."""
    if SOURCE == "demo":
        return f"resources/demo/{wildcards.cell}-{wildcards.mark}.tagAlign.gz"
    if SOURCE == "remc":
        return f"resources/remc/{wildcards.cell}-{wildcards.mark}.tagAlign.gz"
    return LOCAL_FILES[(wildcards.cell, wildcards.mark)]


def annotation_file():
    """The gene annotation of the source."""
    if SOURCE == "demo":
        return repo_or_cwd(config["source"]["demo"]["genes"])
    if SOURCE == "remc":
        return "resources/remc/gene_info.tsv"
    return repo_or_cwd(config["source"]["local"]["annotation"])


def annotation_format():
    """Format of annotation_file()."""
    return "tss_table" if SOURCE == "demo" else config["reference"]["annotation_format"]


def expression_file():
    """The expression matrix of the source."""
    if SOURCE == "demo":
        return repo_or_cwd(config["source"]["demo"]["expression"])
    if SOURCE == "remc":
        return "resources/remc/expression.tsv.gz"
    if SOURCE == "processed":
        return repo_or_cwd(config["source"]["processed"]["expression"])
    return repo_or_cwd(config["source"]["local"]["expression"])


def chrom_sizes_file():
    """Chromosome sizes of the assembly."""
    key = {"demo": "demo", "remc": "remc"}.get(SOURCE, "local")
    return repo_or_cwd(config["source"][key]["chrom_sizes"])


def counts_file():
    """Counts per cell and mark; temporary unless binning.keep_counts."""
    path = "results/counts/{cell}/{mark}.npy"
    return path if config["binning"]["keep_counts"] else temp(path)


def dataset_counts(wildcards):
    """The per-mark count matrices of one cell, in config mark order."""
    return {m: f"results/counts/{wildcards.cell}/{m}.npy" for m in MARKS}


def processed_inputs(wildcards):
    """The released split files of one cell."""
    return {s: PROCESSED_FILES[(wildcards.cell, s)] for s in ("train", "valid", "test")}


def processed_expression():
    """Expression matrix for the processed source, or nothing (labels come with the files)."""
    path = config["source"]["processed"]["expression"]
    return repo_or_cwd(path) if path else []


def dataset_files():
    """Every cell's dataset."""
    return expand("results/datasets/{cell}.npz", cell=CELLS)


def final_targets():
    """What 'snakemake' builds by default."""
    targets = dataset_files() + ["results/datasets/summary.tsv"]
    if MODELS:
        targets += ["results/report/index.html"]
    if config["export"]["deepchrome_csv"]:
        targets += expand("results/export/deepchrome/{cell}.csv.gz", cell=CELLS)
    return targets


def _read_checksums():
    path = config["source"]["remc"]["checksums"]
    if SOURCE != "remc" or not path:
        return {}
    table = pd.read_csv(repo_or_cwd(path), sep="\t", dtype=str, comment="#")
    for col in ("file", "size", "sha256"):
        if col not in table.columns:
            raise ValueError(
                f"{path}: missing column '{col}' (header must be 'file size sha256')"
            )
    return {r.file: {"size": r.size, "sha256": r.sha256} for r in table.itertuples()}


CHECKSUMS = _read_checksums()


def known_checksum(name):
    """Size and sha256 of a download when the checksum table lists it (else empty strings)."""
    return CHECKSUMS.get(name, {"size": "", "sha256": ""})


def _card_framework(name):
    path = REPO / "models" / f"{name}.yaml"
    if not path.exists():
        raise ValueError(
            f"config key 'train.models': no model card {path}; "
            f"available: {', '.join(sorted(p.stem for p in (REPO / 'models').glob('*.yaml')))}"
        )
    with open(path) as fh:
        return yaml.safe_load(fh).get("framework", "torch")


MODELS = list(config["train"]["models"])
SEEDS = list(config["train"]["seeds"])
FRAMEWORK = {m: _card_framework(m) for m in MODELS}
TORCH_MODELS = [m for m in MODELS if FRAMEWORK[m] == "torch"] or ["__none__"]
SKLEARN_MODELS = [m for m in MODELS if FRAMEWORK[m] == "sklearn"] or ["__none__"]
TORCH_MODELS_RE = "|".join(TORCH_MODELS)
SKLEARN_MODELS_RE = "|".join(SKLEARN_MODELS)


def train_gpus():
    """GPUs a torch training job asks for: 1 when it will use CUDA (the profile caps how many run at
    once), 0 for CPU training so that CPU jobs run in parallel. On SLURM the profile sets it.
    """
    device = config["train"]["device"]
    if device == "cuda" or (device == "auto" and shutil.which("nvidia-smi")):
        return 1
    return 0


def card_file(wildcards):
    """The model card of a training job."""
    return str(REPO / "models" / f"{wildcards.model}.yaml")


def run_metrics():
    """metrics.json of every single-cell run."""
    return expand(
        "results/runs/single_cell/{model}/{cell}/seed{seed}/metrics.json",
        model=MODELS,
        cell=CELLS,
        seed=SEEDS,
    )
