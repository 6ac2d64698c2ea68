"""The workflow as users run it: lint, formatting, offline dry runs, a demo run end to end, kill + resume."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# The whole chain, CI-sized (see the file). Nested --config values arrive as strings, hence a file.
SMALL = ["--configfile", str(REPO / "config/examples/small.yaml")]
#: the demo config: a --configfile is complete on its own, so a test that edits the demo names it first
DEMO_CONFIG = str(REPO / "config/config.yaml")


def snakemake(
    *args: str, cwd: Path = REPO, timeout: int = 900, check: bool = True, repo: Path = REPO, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run Snakemake from the test's Python environment, as a user would from the shell."""
    cmd = [str(BIN / "snakemake"), "-s", str(repo / "Snakefile"), *args]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {})}
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


def job_counts(text: str) -> dict[str, int]:
    """Parse the 'Job stats' table of a dry run."""
    counts = {}
    for m in re.finditer(r"^(\w+)\s+(\d+)$", text, flags=re.M):
        counts[m.group(1)] = int(m.group(2))
    return counts


DEMO = REPO / "src/chromexpr/data/demo"


def simulate_reads_cli(cell: str, out_dir: Path) -> None:
    """Stand-in reads for one cell (H3K4me3, H3K27me3, H3K36me3 at depth 0.2) with `chromexpr simulate`,
    as the README's own-data example makes them."""
    marks = ["H3K4me3", "H3K27me3", "H3K36me3"]
    subprocess.run(
        [
            str(BIN / "chromexpr"),
            "simulate",
            "--genes",
            str(DEMO / "genes.tsv"),
            "--expression",
            str(DEMO / "expression.tsv"),
            "--chrom-sizes",
            str(DEMO / "chrom.sizes"),
            "--cells",
            cell,
            "--marks",
            *marks,
            "--depth",
            "0.2",
            "--out-dir",
            str(out_dir),
        ],
        check=True,
        capture_output=True,
    )


def jobs_to_run(work: Path, *extra: str, repo: Path = REPO, env: dict | None = None) -> dict[str, int]:
    """Jobs per rule that a dry run of the small demo in ``work`` would run (without 'all')."""
    proc = snakemake("-n", "--cores", "2", "--directory", str(work), *SMALL, *extra, repo=repo, env=env)
    out = proc.stdout + proc.stderr
    if "Nothing to be done" in out:
        return {}
    counts = job_counts(out)
    return {rule: n for rule, n in counts.items() if rule not in ("all", "total")}


def layered(tmp_path: Path, name: str, text: str) -> list[str]:
    """--configfile arguments: the small demo, then ``text`` on top of it."""
    extra = tmp_path / f"{name}.yaml"
    extra.write_text(text)
    return ["--configfile", str(REPO / "config/examples/small.yaml"), str(extra)]


def copy_workflow(dest: Path, *, with_library: bool = False) -> Path:
    """A copy of the repository's workflow (Snakefile, rules, scripts, config), optionally with the
    library sources, as a colleague's checkout in another place would be."""
    dest.mkdir(parents=True, exist_ok=True)
    names = ["Snakefile", "rules", "workflow", "config", "profiles"] + (["src"] if with_library else [])
    for name in names:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def test_lint_is_clean():
    proc = snakemake("--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_is_clean():
    proc = subprocess.run(
        [str(BIN / "snakefmt"), "--check", "Snakefile", "rules"], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_lint_and_format_are_clean():
    """ruff (configured in pyproject.toml) finds nothing, and the code is formatted as it says."""
    for args in (["check", "."], ["format", "--check", "."]):
        proc = subprocess.run([str(BIN / "ruff"), *args], cwd=REPO, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_remc_dag_builds_offline(tmp_path):
    """The full 56-cell REMC DAG builds without network (downloads are our own rules). ``--quiet rules``: the
    job-count table only, not 4,000 job descriptions (their printing, ~3 s on 2 cores, is not the DAG build)."""
    t0 = time.perf_counter()
    proc = snakemake(
        "-n",
        "--quiet",
        "rules",
        "--cores",
        "2",
        "--directory",
        str(tmp_path),
        "--configfile",
        str(REPO / "config/remc.yaml"),
    )
    seconds = time.perf_counter() - t0
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts["download_reads"] == 56 * 5
    assert counts["bin_reads"] == 56 * 5
    assert counts["build_dataset"] == 56
    assert counts["download_expression"] == counts["download_annotation"] == 1
    # 14 model cards (12 torch, 2 scikit-learn) x 56 cells x 3 seeds
    assert counts["train_torch"] == 12 * 56 * 3 and counts["train_sklearn"] == 2 * 56 * 3
    # transfer E085 -> 55 targets x 3 seeds: transferchrome_cross trains; the honest uncross of 3 models scores
    assert counts["transfer_cross"] == 55 * 3 and counts["transfer_uncross"] == 3 * 55 * 3
    # ...on TransferChrome's genes (gene set transferchrome): its datasets of the 56 cells and its 3 models'
    # single-cell runs on them (the origin rows, and the source's run the uncross scores)
    assert counts["build_gene_set_dataset"] == 56 and counts["train_torch_gene_set"] == 3 * 56 * 3
    # cross-cell: the correlation, the groups checkpoint, Test-on-Rest; the group runs follow the checkpoint
    assert counts["cross_cell_correlation"] == counts["cross_cell_groups"] == counts["test_on_rest"] == 1
    # differential: the 10 pairs x 12 cards (7 torch, 4 scikit-learn, AttentiveChrome's pair runs assembled from
    # the 9 paired cells' own runs) x 3 seeds, on their 200-bin datasets, from the raw-count matrix (the one
    # extra download)
    assert counts["train_differential_torch"] == 7 * 10 * 3 and counts["train_differential_sklearn"] == 4 * 10 * 3
    assert counts["assemble_differential"] == 10 * 3 and counts["train_differential_cell"] == 9 * 3
    assert counts["build_differential_dataset"] == 9 and counts["download_counts"] == 1
    assert counts["report"] == counts["report_transfer"] == counts["report_cross_cell"] == 1
    assert counts["report_differential"] == 1
    assert seconds < 30, f"DAG build took {seconds:.1f} s"


def test_demo_dag(tmp_path):
    proc = snakemake("-n", "--cores", "2", "--directory", str(tmp_path))
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts["simulate_reads"] == 25 and counts["bin_reads"] == 25 and counts["build_dataset"] == 5
    # every model card of the demo config on every demo cell
    assert counts["train_torch"] + counts["train_sklearn"] == 14 * 5
    assert counts["transfer_cross"] == 4 and counts["transfer_uncross"] == 3 * 4
    # DeepDiff: the demo pair (E116/E123) x 11 cards on the 2 paired cells' 200-bin datasets
    assert counts["train_differential_torch"] + counts["train_differential_sklearn"] == 10
    assert counts["assemble_differential"] == 1
    assert counts["build_differential_dataset"] == 2 and counts["train_differential_cell"] == 2
    assert counts["report"] == counts["report_transfer"] == counts["report_cross_cell"] == 1
    assert counts["report_differential"] == 1
    # the demo's K562 sample (config/predict.tsv) by the E003 DeepChrome and AttentiveChrome runs
    assert counts["predict_sample"] == 2
    # E003's DeepChrome, AttentiveChrome and linear runs interpreted, one GAN (DeepChrome)
    assert counts["interpret_run"] == 3 and counts["interpret_gan"] == 1 and counts["report_interpret"] == 1


PREDICT_MARKS = ["H3K4me3", "H3K4me1", "H3K36me3", "H3K27me3", "H3K9me3"]


@pytest.mark.parametrize(
    ("replace", "predict", "expected"),
    [
        # a mark the models take has no file
        ({"H3K4me1": None}, "{}", "sample K562 has no file for H3K4me1"),
        # a mark no model takes
        ({"H3K9ac": "x.gz"}, "{}", "no model of predict.models takes H3K9ac"),
        # a scikit-learn run (its model.skops is never loaded)
        ({}, "{models: [logreg]}", "only torch models of train.models"),
        # a file that does not exist
        ({"H3K4me3": "/nonexistent/reads.gz"}, "{}", "does not exist: /nonexistent/reads.gz"),
        # a training cell the workflow does not train
        ({}, "{cell: E999}", "predict.cell E999 is not a configured cell"),
    ],
)
def test_predict_table_errors_before_any_job(tmp_path, replace, predict, expected):
    files = {m: f"resources/demo/E123-{m}.tagAlign.gz" for m in PREDICT_MARKS} | replace
    table = tmp_path / "predict.tsv"
    rows = [f"K562\t{mark}\t{path}" for mark, path in files.items() if path is not None]
    table.write_text("sample\tmark\tpath\n" + "\n".join(rows) + "\n")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"predict: {{samples: {table}}}\n")
    extra = tmp_path / "extra.yaml"
    extra.write_text(f"predict: {predict}\n")
    proc = snakemake(
        "-n",
        "--cores",
        "1",
        "--directory",
        str(tmp_path),
        "--configfile",
        DEMO_CONFIG,
        str(cfg),
        str(extra),
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert expected in out, out[-3000:]
    assert "Traceback" not in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("sample\tmark\tpath\n..\tH3K4me3\tx.bw\n", "predict.tsv:2: column 'sample': '..' is not a valid name"),
        ("sample\tmark\tpath\nK 562\tH3K4me3\tx.bw\n", "predict.tsv:2: column 'sample': 'K 562' is not a valid name"),
        ("", "predict.tsv: the table is empty: it needs a header line"),
    ],
)
def test_a_bad_predict_table_names_its_line_before_any_job(tmp_path, content, expected):
    table = tmp_path / "predict.tsv"
    table.write_text(content)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"predict: {{samples: {table}}}\n")
    proc = snakemake(
        "-n", "--cores", "1", "--directory", str(tmp_path), "--configfile", DEMO_CONFIG, str(cfg), check=False
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and expected in out, out[-3000:]
    assert "Traceback" not in out and "Job stats" not in out  # stopped before planning any job


def test_processed_dag(tmp_path):
    """The released DeepDiff sample (config/processed_deepdiff.yaml): no reference or binning jobs (the files
    are binned already), both cells ingested twice (TSS +/- 5 kb for the single-cell family, +/- 10 kb for
    DeepDiff), every experiment on the real pair."""
    proc = snakemake(
        "-n", "--cores", "2", "--directory", str(tmp_path), "--configfile", str(REPO / "config/processed_deepdiff.yaml")
    )
    counts = job_counts(proc.stdout + proc.stderr)
    assert "prepare_reference" not in counts and "bin_reads" not in counts
    assert counts["ingest_processed"] == 2 and counts["ingest_differential"] == 2
    # the 7 DeepDiff variants, 4 scikit-learn baselines (the two-layer SVR in both feature sets) and the
    # AttentiveChrome baseline assembled from the two cells' own runs
    assert counts["train_differential_torch"] == 7 and counts["train_differential_sklearn"] == 4
    assert counts["assemble_differential"] == 1 and counts["train_differential_cell"] == 2
    assert counts["report_differential"] == counts["report"] == 1


def test_bad_config_names_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("cells: [E003]\nbins: {window_bp: -5}\n")
    proc = snakemake(
        "-n", "--cores", "1", "--directory", str(tmp_path), "--configfile", DEMO_CONFIG, str(bad), check=False
    )
    assert proc.returncode != 0
    assert "window_bp" in proc.stdout + proc.stderr


def test_local_source_reports_missing_files(tmp_path):
    table = tmp_path / "cells.tsv"
    table.write_text("cell\tmark\tpath\nE003\tH3K4me3\treads.tagAlign.gz\n")
    cfg = tmp_path / "local.yaml"
    cfg.write_text(
        f"source: {{kind: local, local: {{files: {table}, annotation: a.tsv, expression: e.tsv}}}}\ncells: [E003]\n"
        "experiments: {transfer: {enabled: false}, cross_cell: {enabled: false}, differential: {enabled: false}, regression: {enabled: false}, interpret: {enabled: false}}\n"
        "predict: {samples: null}\n"
    )
    proc = snakemake(
        "-n", "--cores", "1", "--directory", str(tmp_path), "--configfile", DEMO_CONFIG, str(cfg), check=False
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert str(table) in out and "E003/H3K4me1" in out


def test_local_source_end_to_end(tmp_path):
    """The user's own files: tagAlign.gz, plain BED and a BAM, listed in a table, to a dataset."""
    import pysam

    from chromexpr.dataset import load_dataset

    reads = tmp_path / "reads"
    simulate_reads_cli("E003", reads)
    # H3K27me3 as plain BED (chr-less names, as some aligners write them); H3K36me3 as a BAM
    bed = reads / "E003-H3K27me3.bed"
    with gzip.open(reads / "E003-H3K27me3.tagAlign.gz", "rt") as src, open(bed, "w") as dst:
        for line in src:
            dst.write(line.removeprefix("chr"))
    sizes = dict(line.split() for line in (DEMO / "chrom.sizes").read_text().splitlines())
    bam = reads / "E003-H3K36me3.bam"
    header = {"HD": {"VN": "1.6"}, "SQ": [{"SN": c, "LN": int(n)} for c, n in sizes.items()]}
    with (
        pysam.AlignmentFile(bam, "wb", header=header) as out,
        gzip.open(reads / "E003-H3K36me3.tagAlign.gz", "rt") as src,
    ):
        names = list(sizes)
        for i, line in enumerate(src):
            chrom, start, end, _, _, strand = line.split("\t")
            seg = pysam.AlignedSegment(out.header)
            seg.query_name, seg.reference_id = f"r{i}", names.index(chrom)
            seg.reference_start, seg.cigarstring = int(start), f"{int(end) - int(start)}M"
            seg.flag, seg.mapping_quality = (16 if strand.strip() == "-" else 0), 60
            seg.query_sequence = "A" * (int(end) - int(start))
            out.write(seg)
    table = tmp_path / "cells.tsv"
    table.write_text(
        "cell\tmark\tpath\n"
        f"E003\tH3K4me3\t{reads / 'E003-H3K4me3.tagAlign.gz'}\n"
        f"E003\tH3K27me3\t{bed}\nE003\tH3K36me3\t{bam}\n"
    )
    cfg = tmp_path / "local.yaml"
    cfg.write_text(
        f"source: {{kind: local, local: {{files: {table}, annotation: {DEMO / 'genes.tsv'}, "
        f"expression: {DEMO / 'expression.tsv'}, chrom_sizes: {DEMO / 'chrom.sizes'}}}}}\n"
        "cells: [E003]\nmarks: [H3K4me3, H3K27me3, H3K36me3]\ntrain: {models: []}\nexport: {deepchrome_csv: false}\n"
        "experiments: {transfer: {enabled: false}, cross_cell: {enabled: false}, differential: {enabled: false}, regression: {enabled: false}, interpret: {enabled: false}}\n"
        "predict: {samples: null}\n"
    )
    snakemake(
        "results/datasets/E003.npz", "--cores", "2", "--directory", str(tmp_path), "--configfile", DEMO_CONFIG, str(cfg)
    )
    ds = load_dataset(tmp_path / "results/datasets/E003.npz")
    assert ds.counts.shape == (3318, 3, 100) and ds.counts.sum() > 0
    assert ds.meta["provenance"]["marks"]["H3K36me3"]["input"]["path"] == str(bam)
    assert ds.meta["provenance"]["marks"]["H3K27me3"]["stats"]["chrom_renamed"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One real demo run (two cells) shared by the end-to-end checks."""
    work = tmp_path_factory.mktemp("demo")
    t0 = time.perf_counter()
    snakemake("--cores", "2", "--directory", str(work), *SMALL, timeout=1500)
    return work, time.perf_counter() - t0


def test_torch_jobs_ask_for_a_gpu_except_when_they_train_here_on_the_cpu(demo_run, tmp_path):
    """rules/common.smk torch_gpu: a dry run (what a cluster would be asked) gives every torch training job
    gpu=1 on any host; the local run on this GPU-less host gave them gpu=0, so they trained side by side
    under profiles/default's cap of one GPU job."""
    if shutil.which("nvidia-smi"):
        pytest.skip("this host has a GPU: its local torch jobs ask for one")
    work, _ = demo_run
    (log,) = (work / ".snakemake/log").glob("*.snakemake.log")
    blocks = re.findall(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", log.read_text(), re.M)
    local = {rule: res for rule, res in blocks if rule in ("train_torch", "train_sklearn")}
    assert set(local) == {"train_torch", "train_sklearn"}, blocks
    assert all(re.search(r"\bgpu=0\b", res) for rule, res in blocks if rule == "train_torch"), blocks
    proc = snakemake("-n", "--cores", "2", "--directory", str(tmp_path), *SMALL)
    dry = re.findall(r"^ *(?:local)?rule (\w+):\n(?: +.*\n)*? +resources: (.*)$", proc.stdout, re.M)
    gpus = {(rule, bool(re.search(r"\bgpu=1\b", res))) for rule, res in dry if rule.startswith("train_")}
    assert gpus == {("train_torch", True), ("train_sklearn", False)}, gpus


def test_demo_produces_datasets(demo_run):
    from chromexpr.dataset import load_dataset

    work, _ = demo_run
    tss = pd.read_csv(work / "results/reference/tss.tsv", sep="\t")
    kept = set(pd.read_csv(work / "results/reference/splits.tsv", sep="\t")["gene_id"])
    assert len(tss) == 3789 and len(kept) == 3318  # binned: every demo gene; the default set: 5 kb apart
    for cell in ("E003", "E116"):
        ds = load_dataset(work / f"results/datasets/{cell}.npz")
        assert ds.counts.shape == (3318, 5, 100)
        assert list(ds.gene_ids) == [g for g in tss["gene_id"] if g in kept]  # the set's genes, in binned order
        assert abs(ds.label.mean() - 0.5) < 0.02
        assert ds.meta["provenance"]["inputs"]["expression"]["sha256"]
        assert set(ds.meta["provenance"]["marks"]) == set(ds.marks)
    summary = pd.read_csv(work / "results/datasets/summary.tsv", sep="\t")
    # learnable from the marks, but not trivially
    assert summary["baseline_logreg_test_auroc"].between(0.65, 0.97).all(), summary
    # counts are temporary by default
    assert not list((work / "results/counts").glob("*/*.npy"))


def test_demo_counts_equal_bedtools(demo_run, tmp_path):
    """The workflow's native counts equal `bedtools intersect -c` bin by bin on a real demo file."""
    from chromexpr.dataset import load_dataset

    work, _ = demo_run
    out = tmp_path / "bedtools.tsv"
    subprocess.run(
        [
            str(BIN / "chromexpr"),
            "bin-reads",
            "--reads",
            str(work / "resources/demo/E116-H3K27me3.tagAlign.gz"),
            "--tss",
            str(work / "results/reference/tss.tsv"),
            "--engine",
            "bedtools",
            "--out",
            str(out),
        ],
        check=True,
    )
    ref = pd.read_csv(out, sep="\t", index_col=0)
    ds = load_dataset(work / "results/datasets/E116.npz")
    mark = list(ds.marks).index("H3K27me3")
    ref = ref.loc[list(ds.gene_ids)]  # every binned gene; the dataset keeps its gene set's
    np.testing.assert_array_equal(ref.to_numpy(), ds.counts[:, mark, :])


def test_demo_export_is_deepchrome_csv(demo_run):
    work, _ = demo_run
    with gzip.open(work / "results/export/deepchrome/E003.csv.gz", "rt") as fh:
        header = fh.readline().strip()
        first = fh.readline().strip().split(",")
    assert header == "geneID,binID,H3K27me3,H3K36me3,H3K4me1,H3K4me3,H3K9me3,label"
    assert first[1] == "1"


def test_demo_trains_and_reports(demo_run):
    import json

    work, _ = demo_run
    for model in ("deepchrome", "linear12", "logreg"):
        for cell in ("E003", "E116"):
            run = work / f"results/runs/single_cell/{model}/{cell}/seed0"
            metrics = json.loads((run / "metrics.json").read_text())
            assert metrics["model"] == model and metrics["cell"] == cell and metrics["seed"] == 0
            assert 0.6 < metrics["test_auroc"] <= 1.0
            assert (run / "predictions.tsv.gz").exists() and (run / "history.tsv").exists()
            assert not (run / "checkpoint.pt").exists()
    report = work / "results/report"
    html = (report / "index.html").read_text()
    for name in ("table2.tsv", "per_cell_auroc.png", "auroc_distribution.png", "paired_vs_deepchrome.png"):
        assert (report / name).stat().st_size > 0
        assert name in html
    table2 = pd.read_csv(report / "table2.tsv", sep="\t")
    assert set(table2["model"]) == {"deepchrome", "linear12", "logreg"}
    # provenance: the config files by workflow-relative path, the source, the epoch budget of the runs
    provenance = json.loads((report / "provenance.json").read_text())
    small = str(Path(SMALL[1]).relative_to(REPO))
    assert provenance["config_files"] == [small]  # a --configfile is the project's config, not the demo's
    assert provenance["source_kind"] == "demo" and provenance["cells"] == ["E003", "E116"]
    assert provenance["models"]["deepchrome"]["max_epochs"] == [2]
    assert provenance["models"]["logreg"]["max_epochs"] == []
    assert "provenance" in html and small in html and "epoch budget is 2 epochs" in html
    curves = pd.read_csv(report / "training_curves.tsv", sep="\t")
    assert set(curves.groupby("model")["epoch"].max()) <= {1, 2}
    roc = pd.read_csv(report / "roc_curves.tsv", sep="\t")
    assert set(roc["model"]) == {"deepchrome", "linear12", "logreg"} and roc["tpr"].max() == 1.0
    per_cell = pd.read_csv(report / "per_cell_auroc.tsv", sep="\t")
    assert per_cell["converged"].dtype == bool


def test_figures_target_redraws_without_training(demo_run):
    work, _ = demo_run
    png = work / "results/report/per_cell_auroc.png"
    before = png.stat().st_mtime_ns
    proc = snakemake("figures", "--cores", "1", "--directory", str(work), *SMALL)
    out = proc.stdout + proc.stderr
    assert png.stat().st_mtime_ns > before
    assert "train_torch" not in out and "train_sklearn" not in out and "rule report" not in out


def test_snakemake_report_packages_the_figures(demo_run, tmp_path):
    import zipfile

    work, _ = demo_run
    out = tmp_path / "report.zip"
    snakemake("--cores", "1", "--directory", str(work), *SMALL, "--report", str(out))
    from chromexpr.experiments.single_cell.plan import report_files

    names = zipfile.ZipFile(out).namelist()
    # every file the report job writes is a declared output wrapped in report(): all of them are packaged
    written = sorted(p.name for p in (work / "results/report").iterdir() if p.is_file())
    assert written == sorted(report_files({"report": {"reference_model": "deepchrome"}}))
    for name in written:
        assert any(n.endswith(f"/{name}") or n == name for n in names), name
    # every caption file is used by some output (or is the workflow's front page)
    report_rules = "\n".join(p.read_text() for p in (REPO / "rules").glob("*.smk"))
    for caption in (REPO / "workflow/report").glob("*.rst"):
        assert caption.name == "workflow.rst" or f"workflow/report/{caption.name}" in report_rules, caption.name
    assert 'report: "workflow/report/workflow.rst"' in (REPO / "Snakefile").read_text()


def test_job_server_runs_give_the_results_of_a_process_per_job(demo_run, tmp_path):
    """The fixture's jobs ran in forks of the job server (chromexpr.jobserver); the same training runs made
    again with the server off (CHROMEXPR_JOB_SERVER=0: a Python process per job) give the same files."""
    import json

    import torch

    from chromexpr.training.model_file import load_model_file

    work, _ = demo_run
    log = (work / "logs/train/single_cell/deepchrome/E003/seed0.log").read_text()
    assert "(a fork of the job server)" in log
    copy = Path(shutil.copytree(work, tmp_path / "copy", symlinks=True))
    runs = [f"results/runs/single_cell/{m}/E003/seed0" for m in ("deepchrome", "linear12", "logreg")]
    for run in runs:
        shutil.rmtree(copy / run)
    targets = [f"{run}/metrics.json" for run in runs]
    snakemake(*targets, "--cores", "2", "--directory", str(copy), *SMALL, env={"CHROMEXPR_JOB_SERVER": "0"})
    assert "(a fork of the job server)" not in (copy / "logs/train/single_cell/deepchrome/E003/seed0.log").read_text()
    timing = re.compile(r"seconds|per_second|resumed_from")
    for run in runs:
        a, b = work / run, copy / run
        for name in ("predictions.tsv.gz", "history.tsv"):
            if name == "history.tsv":
                ha, hb = (pd.read_csv(p / name, sep="\t") for p in (a, b))
                keep = [c for c in ha.columns if not timing.search(c)]
                pd.testing.assert_frame_equal(ha[keep], hb[keep])
            else:
                assert (a / name).read_bytes() == (b / name).read_bytes(), run
        ma, mb = (json.loads((p / "metrics.json").read_text()) for p in (a, b))
        assert {k: v for k, v in ma.items() if not timing.search(k)} == {
            k: v for k, v in mb.items() if not timing.search(k)
        }
        if (a / "model.pt").exists():
            sa, sb = load_model_file(a / "model.pt").state_dict, load_model_file(b / "model.pt").state_dict
            assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_rerun_does_nothing_and_redoes_only_missing(demo_run, tmp_path):
    work, _ = demo_run
    proc = snakemake("-n", "--cores", "2", "--directory", str(work), *SMALL)
    assert "Nothing to be done" in proc.stdout + proc.stderr
    work = Path(shutil.copytree(work, tmp_path / "copy", symlinks=True))  # the fixture stays finished
    (work / "results/datasets/E116.npz").unlink()
    counts = job_counts(snakemake("-n", "--cores", "2", "--directory", str(work), *SMALL).stdout)
    # E116's counts were temporary, so its 5 marks are binned again; nothing of E003 and no simulation
    assert counts.get("build_dataset") == 1 and counts.get("bin_reads") == 5
    assert "simulate_reads" not in counts and "prepare_reference" not in counts


def test_killed_run_leaves_no_half_outputs_and_resumes(tmp_path):
    """SIGKILL the whole run mid-way: every file under its final name is complete; a re-run finishes."""
    from chromexpr.dataset import load_dataset

    cfg = [*SMALL, "--config", "cells=[E003]"]
    target = "results/datasets/E003.npz"
    cmd = [
        str(BIN / "snakemake"),
        "-s",
        str(REPO / "Snakefile"),
        "--cores",
        "2",
        "--directory",
        str(tmp_path),
        target,
        *cfg,
    ]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(list((tmp_path / "resources/demo").glob("*.tagAlign.gz"))) < 2:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for path in (tmp_path / "resources/demo").glob("*.tagAlign.gz"):
        with gzip.open(path, "rb") as fh:  # a truncated gzip raises here
            while fh.read(1 << 20):
                pass
    # a SIGKILLed Snakemake cannot release its lock: the user runs --unlock, then the same command
    snakemake("--unlock", "--directory", str(tmp_path), *cfg)
    snakemake("--cores", "2", "--directory", str(tmp_path), target, *cfg, timeout=900)
    ds = load_dataset(tmp_path / "results/datasets/E003.npz")
    assert ds.counts.shape[1:] == (5, 100)


# --- workflow correctness: what re-runs after an edit, a move, a library change -------------------


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # dropping a model: no other model's run is redone, only the report that lists them
        ("train: {models: [deepchrome, logreg]}", {"report": 1}),
        # a second seed: only the new seed's runs (3 models x 2 cells) and the report
        ("train: {seeds: [0, 1]}", {"train_torch": 4, "train_sklearn": 2, "report": 1}),
        ("report: {title: another title}", {"report": 1}),
        ("export: {deepchrome_csv: false}", {}),
        # threads are a resource, not a parameter of the result
        ("train: {threads: 2}", {}),
        # a key the torch jobs use re-runs exactly them (scikit-learn cards take no epochs)
        ("train: {max_epochs: 3}", {"train_torch": 4, "report": 1}),
        ("train: {patience: 5}", {"train_torch": 4, "report": 1}),
        # a bigWig-only setting does not touch the binning of tagAlign reads
        ("binning: {bigwig_stat: max, missing_chromosomes: warn}", {}),
        # an experiment that is off: its settings change nothing
        ("experiments: {transfer: {protocol: paper}, cross_cell: {highly: 0.9}}", {}),
    ],
)
def test_config_edit_reruns_only_the_jobs_that_use_it(demo_run, tmp_path, edit, expected):
    work, _ = demo_run
    extra = tmp_path / "edit.yaml"
    extra.write_text(edit + "\n")
    proc = snakemake(
        "-n",
        "--cores",
        "2",
        "--directory",
        str(work),
        "--configfile",
        str(REPO / "config/examples/small.yaml"),
        str(extra),
    )
    out = proc.stdout + proc.stderr
    counts = (
        {} if "Nothing to be done" in out else {r: n for r, n in job_counts(out).items() if r not in ("all", "total")}
    )
    assert counts == expected, out[-3000:]


def test_moved_project_is_up_to_date(demo_run, tmp_path):
    """A finished project copied elsewhere (results with .snakemake/, and a checkout of the
    workflow in another place) dry-runs to nothing: no input, output or param holds a path."""
    work, _ = demo_run
    moved = tmp_path / "scratch" / "project"
    shutil.copytree(work, moved, symlinks=True)
    checkout = copy_workflow(tmp_path / "colleague" / "chromexpr")
    assert jobs_to_run(moved, repo=checkout) == {}


def params_changes(work: Path, repo: Path, env: dict, *config: str) -> dict[str, int]:
    """Jobs per rule that a dry run would re-run because their params changed (the jobs below them re-run
    too, because their inputs will be new; those are not counted)."""
    proc = snakemake("-n", "--cores", "2", "--directory", str(work), *(config or SMALL), repo=repo, env=env)
    rules: dict[str, int] = {}
    rule = None
    for line in proc.stdout.splitlines():
        if line.lstrip().startswith(("rule ", "localrule ")):  # a group job's members are indented
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("reason:") and "Params have changed" in line:
            rules[rule] = rules.get(rule, 0) + 1
    return rules


def test_library_edit_reruns_exactly_the_rules_importing_it(demo_run, tmp_path):
    """Editing one library module changes the code param of exactly the rules whose scripts import
    it (directly or transitively), computed from the imports, not from hand-kept lists."""
    from chromexpr.dag import model_modules, module_closure

    work, _ = demo_run
    checkout = copy_workflow(tmp_path / "checkout", with_library=True)
    env = {"PYTHONPATH": str(checkout / "src")}  # the copy's library runs, in the DAG and in jobs
    assert params_changes(work, checkout, env) == {}
    # rule -> its script and the cards its jobs build (small.yaml: two torch cards and a scikit-learn one)
    rule_jobs = {
        "simulate_reads": ("simulate_reads.py", ()),
        "prepare_reference": ("prepare_reference.py", ()),
        "bin_reads": ("bin_reads.py", ()),
        "build_dataset": ("build_dataset.py", ()),
        "summarize_datasets": ("summarize_datasets.py", ()),
        "export_deepchrome_csv": ("export_deepchrome_csv.py", ()),
        "train_torch": ("train_model.py", ("deepchrome", "linear12")),
        "train_sklearn": ("train_model.py", ("logreg",)),
        "report": ("build_report.py", ()),
        "stage_shipped": ("stage_shipped.py", ()),
    }
    root = checkout / "src/chromexpr"
    # modules whose importing rules do not feed each other (a job below a re-run job re-runs for its
    # new input, and a dry run then names that reason instead of the params)
    for module in (
        "chromexpr.experiments.single_cell.figures",
        "chromexpr.evaluation.summary",
        "chromexpr.io.deepchrome_csv",
        "chromexpr.preprocess.binning",
        "chromexpr.models.deepchrome",
    ):
        path = checkout / "src" / (module.replace(".", "/") + ".py")
        original = path.read_text()
        path.write_text(original + "\n# an edit\n")
        try:
            changed = params_changes(work, checkout, env)
        finally:
            path.write_text(original)
        expected = {
            rule
            for rule, (script, cards) in rule_jobs.items()
            if any(
                module in module_closure(checkout / "workflow/scripts" / script, root=root, modules=model_modules(c))
                for c in ([[card] for card in cards] or [[]])
            )
        }
        assert expected, module
        assert set(changed) == expected, (module, changed, expected)
        if module == "chromexpr.models.deepchrome":  # DeepChrome's runs on both cells, not linear12's
            assert changed == {"train_torch": 2}, changed


def test_input_error_in_a_job_is_a_message_and_not_retried(tmp_path):
    """A malformed reads file found by a job: the run prints our message (file and line), not a
    traceback, and the profile's retry stops at once instead of redoing the work."""
    reads = tmp_path / "E003-H3K4me3.tagAlign"
    reads.write_text("chr17\t100\t136\tN\t1000\t+\nchr17\t200\n")
    table = tmp_path / "cells.tsv"
    table.write_text(f"cell\tmark\tpath\nE003\tH3K4me3\t{reads}\n")
    cfg = tmp_path / "local.yaml"
    cfg.write_text(
        f"source: {{kind: local, local: {{files: {table}, annotation: {DEMO / 'genes.tsv'}, "
        f"expression: {DEMO / 'expression.tsv'}, chrom_sizes: {DEMO / 'chrom.sizes'}}}}}\n"
        "cells: [E003]\nmarks: [H3K4me3]\ntrain: {models: []}\nexport: {deepchrome_csv: false}\n"
        "experiments: {transfer: {enabled: false}, cross_cell: {enabled: false}, differential: {enabled: false}, regression: {enabled: false}, interpret: {enabled: false}}\n"
        "predict: {samples: null}\n"
    )
    proc = snakemake(
        "results/datasets/E003.npz",
        "--cores",
        "1",
        "--directory",
        str(tmp_path),
        "--configfile",
        DEMO_CONFIG,
        str(cfg),
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"chromexpr: {reads}:2: " in out, out[-4000:]
    assert "Traceback" not in out
    log = (tmp_path / "logs/bin_reads/E003-H3K4me3.log").read_text()
    # the retry (attempt 2, profile retries: 1) stopped before binning, with the same message
    assert "not run again" in log and f"{reads}:2: " in log


@pytest.mark.parametrize(
    "config",
    sorted(p.relative_to(REPO).as_posix() for p in [*REPO.glob("config/*.yaml"), *REPO.glob("config/examples/*.yaml")]),
)
def test_shipped_configs_pass_check_config(config, tmp_path):
    """Every config the repository offers is valid, layered over the default as Snakemake layers it, run where
    its files are (the local example's reads are simulated first, as its header says)."""
    files = [str(REPO / "config/config.yaml")] + ([] if config == "config/config.yaml" else [str(REPO / config)])
    if config == "config/examples/local.yaml":
        missing = subprocess.run(
            [str(BIN / "chromexpr"), "check-config", *files], cwd=tmp_path, capture_output=True, text=True
        )
        assert missing.returncode != 0 and "the file of E116/H3K4me3 does not exist" in missing.stderr
        simulate_reads_cli("E116", tmp_path / "my_reads")
    proc = subprocess.run(
        [str(BIN / "chromexpr"), "check-config", *files], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("models)")


def test_local_example_runs_as_documented(tmp_path):
    """config/examples/local.yaml, run as its header says: simulate stand-in reads, then the workflow."""
    from chromexpr.dataset import load_dataset

    simulate_reads_cli("E116", tmp_path / "my_reads")
    snakemake("--cores", "2", "--directory", str(tmp_path), "--configfile", str(REPO / "config/examples/local.yaml"))
    ds = load_dataset(tmp_path / "results/datasets/E116.npz")
    assert list(ds.marks) == ["H3K4me3", "H3K27me3", "H3K36me3"] and ds.counts.shape == (3318, 3, 100)
    assert ds.counts.sum() > 0


def test_a_configfile_is_a_project_of_its_own(tmp_path):
    """A --configfile is complete on its own (its keys, then the schema's defaults: every experiment off unless it
    enables it, its own report title), not layered over the demo; two projects run from one checkout, each in its
    working directory with its own results/ (--directory)."""
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, cell in ((first, "E003"), (second, "E116")):
        folder.mkdir()
        (folder / "project.yaml").write_text(
            f"cells: [{cell}]\nsource: {{demo: {{depth: 0.3}}}}\ntrain: {{models: [linear12], max_epochs: 1, threads: 1}}\n"
            f"report: {{title: 'project {cell}', reference_model: linear12}}\n"
        )
    snakemake("--cores", "2", "--directory", str(first), "--configfile", str(first / "project.yaml"))
    page = (first / "results/report/index.html").read_text()
    assert "<title>project E003" in page and "demo" not in page.split("</title>")[0]
    runs = sorted(p.relative_to(first).as_posix() for p in first.glob("results/runs/*/*/*/*/metrics.json"))
    assert runs == ["results/runs/single_cell/linear12/E003/seed0/metrics.json"]  # no demo experiment ran
    assert not (first / "results/report/transfer").exists() and not (first / "results/predict").exists()
    made = (first / "results/datasets/E003.npz").stat().st_mtime_ns
    # the second project from the same checkout: its own plan, nothing of the first's
    proc = snakemake("-n", "--cores", "2", "--directory", str(second), "--configfile", str(second / "project.yaml"))
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts["build_dataset"] == 1 and counts["train_torch"] == 1 and counts["simulate_reads"] == 5
    assert not {"transfer_cross", "train_differential_torch", "interpret_run", "predict_sample"} & set(counts)
    assert (first / "results/datasets/E003.npz").stat().st_mtime_ns == made
    # without --configfile the checkout's demo is the project
    demo = job_counts(snakemake("-n", "--cores", "2", "--directory", str(tmp_path / "demo")).stdout)
    assert demo["build_dataset"] == 5 and demo["transfer_cross"] == 4
