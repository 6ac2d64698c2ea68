"""The workflow on a real SLURM cluster, as users run it: ``--workflow-profile profiles/slurm``.

A single-node cluster (munged, slurmctld, slurmd on 127.0.0.1; tests/workflow/slurm_cluster.py) is started
once for this module and stopped by its pids afterwards, whatever happens. The profile is profiles/slurm
as shipped, with only what a cluster without accounting and a quick test need changed
(``slurm_cluster.TEST_PROFILE_OVERRIDES``: squeue status, 1-second first status check, one local core).
The node has the CPU and the GPU partition of the profile's partition file, and one fake GPU, so a
training job is really submitted with ``-p gpu --gpus=1``.

* A slice of the pipeline (demo reads of one cell -> binning -> dataset -> one small torch training job
  -> report) runs on SLURM and locally; every non-local job must have gone through sbatch (job ids in
  Snakemake's log and in ``squeue -t all``), and the outputs must be identical (arrays, metrics and
  predictions, report tables), timings aside.
* GPU routing: a differential, a regression and a transfer-cross training job (each experiment's torch
  rule) go to the GPU partition with ``--gpus=1``, whatever the host; with ``--group-components gpu=3``
  three training jobs go as one SLURM job with one GPU, and run on it in turn.
* Without a cluster: the dry runs of the demo and of config/remc.yaml with the profile give every torch
  training job ``gpu=1``, and the plugin's own partition choice sends those jobs, and only those, to the
  GPU partition.
* A truncated tagAlign (local source) makes binning fail on SLURM: the job is reported FAILED, resubmitted
  as many times as the profile's ``retries`` says, the error names the file, nothing half-written is
  left, no dataset is built, and the run exits non-zero.

Skipped, with the reason, where SLURM is not installed or cannot start; with CHROMEXPR_REQUIRE_SLURM=1
(set by .ci/run) that is a failure instead.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import slurm_cluster  # noqa: E402

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
#: the demo config: a --configfile is complete on its own, so a slice of the demo names it first
DEMO_CONFIG = str(REPO / "config/config.yaml")
BIN = Path(sys.executable).parent
PROFILE = REPO / "profiles" / "slurm"
# The slice: one demo cell (five marks, 0.3x depth), one 12-parameter torch model for two epochs.
SLICE = {
    "cells": ["E003"],
    "source": {"kind": "demo", "demo": {"depth": 0.3}},
    "train": {"models": ["linear12"], "max_epochs": 2},
    "report": {"reference_model": "linear12"},
    "experiments": {
        "transfer": {"enabled": False},
        "cross_cell": {"enabled": False},
        "differential": {"enabled": False},
        "regression": {"enabled": False},
        "interpret": {"enabled": False},
    },
    "predict": {"samples": None},
}
# Every job of the slice but `report` (a local rule) goes to SLURM.
SLICE_JOBS = {
    "simulate_reads": 5,
    "prepare_reference": 1,
    "default_gene_set_manifest": 1,
    "bin_reads": 5,
    "build_dataset": 1,
    "summarize_datasets": 1,
    "export_deepchrome_csv": 1,
    "train_torch": 1,
}
# Every experiment's torch training rule on a second slice (two demo cells), one run each: the targets,
# and the rule that makes each
GPU_SLICE = {
    "cells": ["E003", "E123"],
    "source": {"kind": "demo", "demo": {"depth": 0.3}},
    "train": {"models": ["linear12"], "max_epochs": 1},
    "report": {"reference_model": "linear12"},
    "experiments": {
        "transfer": {"enabled": True, "source": "E003", "models": ["transferchrome"]},
        "cross_cell": {"enabled": False},
        "differential": {
            "enabled": True,
            "pairs": [["E003", "E123"]],
            "models": ["deepdiff_raw_d"],
            "attention_pair": ["E003", "E123"],
            "max_epochs": 1,
        },
        "regression": {"enabled": True, "heldout_cells": [], "folds": 2, "weighted": False, "baselines": []},
        "interpret": {"enabled": False},
    },
    "predict": {"samples": None},
}
GPU_TARGETS = {
    "results/runs/transfer/transferchrome_cross/E003_to_E123/seed0/metrics.json": "transfer_cross",
    "results/runs/differential/deepdiff_raw_d/E003_vs_E123/seed0/metrics.json": "train_differential_torch",
    "results/runs/regression/jamaica_cnn/fold0/seed0/metrics.json": "train_regression_torch",
}
# Three more single-cell runs of that slice, submitted as one group job
GROUP_TARGETS = [
    "results/runs/single_cell/linear12/E003/seed1/metrics.json",
    "results/runs/single_cell/linear12/E003/seed2/metrics.json",
    "results/runs/single_cell/linear12/E123/seed1/metrics.json",
]
TORCH_GPU = re.compile(r"^\s+gpu=torch_gpu\(", re.M)
# Keys and columns that hold wall-clock times or throughputs: they differ between any two runs.
TIMING = re.compile(r"(^|_)(seconds|wall|hours)($|_)|per_second")
SUBMITTED = re.compile(r"Job (\S+) has been submitted with SLURM jobid (\d+) \(log: (\S+?)\)\.?$", re.M)


def log(msg: str) -> None:
    """A line for the test report (shown with -s or -rA)."""
    print(f"[slurm] {msg}")


def run_snakemake(*args: str, work: Path, env: dict[str, str], limit: int) -> tuple[subprocess.CompletedProcess, float]:
    """Snakemake under `timeout -k 10`: on SLURM, SIGTERM alone does not always stop it."""
    env = {**env, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"}
    cmd = [
        "timeout",
        "-k",
        "10",
        str(limit),
        str(BIN / "snakemake"),
        "-s",
        str(REPO / "Snakefile"),
        "--directory",
        str(work),
        *args,
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=limit + 30)
    seconds = time.perf_counter() - t0
    (work / "snakemake.out").write_text(proc.stdout + proc.stderr)
    return proc, seconds


def tail(proc: subprocess.CompletedProcess, n: int = 6000) -> str:
    return (proc.stdout + proc.stderr)[-n:]


# ---------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def cluster():
    """A running single-node cluster for the module; stopped by pid at the end, even on failure."""
    required = os.environ.get("CHROMEXPR_REQUIRE_SLURM") == "1"
    reason = slurm_cluster.unavailable_reason()
    if reason:
        if required:
            pytest.fail(f"CHROMEXPR_REQUIRE_SLURM=1 but {reason}")
        pytest.skip(reason)
    cpu, gpu = slurm_cluster.partitions_of(PROFILE)
    root = Path(tempfile.mkdtemp(prefix="chromexpr-slurm-"))
    c = None
    try:
        t0 = time.perf_counter()
        try:
            c = slurm_cluster.start_cluster(root, default_partition=cpu, gpu_partition=gpu)
        except RuntimeError as exc:
            msg = f"a test SLURM cluster could not be started here: {str(exc)[:3000]}"
            if required:
                pytest.fail(msg)
            pytest.skip(msg)
        log(f"cluster up in {time.perf_counter() - t0:.1f} s in {root} (partitions {cpu}*, {gpu}; 1 fake GPU)")
        yield c
    finally:
        if c is not None:
            c.stop()
            left = c.alive()
            shutil.rmtree(root, ignore_errors=True)
            assert not left, f"SLURM daemons still running after stop(): {left}"
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def test_profile(tmp_path_factory, cluster) -> tuple[Path, dict]:
    dest = tmp_path_factory.mktemp("profile")
    return dest, slurm_cluster.write_test_profile(PROFILE, dest)


@pytest.fixture(scope="module")
def slice_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "slice.yaml"
    path.write_text(yaml.safe_dump(SLICE))
    return path


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, slice_config):
    """The slice on this machine (profiles/default), for comparison."""
    work = tmp_path_factory.mktemp("local")
    env = {k: v for k, v in os.environ.items() if k != "SLURM_CONF"}
    proc, seconds = run_snakemake(
        "--cores", "2", "--configfile", DEMO_CONFIG, str(slice_config), work=work, env=env, limit=300
    )
    assert proc.returncode == 0, tail(proc)
    log(f"local run: {seconds:.1f} s")
    return work


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory, cluster, test_profile, slice_config):
    """The slice through `--workflow-profile` (profiles/slurm, test overrides), on the cluster."""
    profile_dir, _ = test_profile
    work = tmp_path_factory.mktemp("slurm")
    proc, seconds = run_snakemake(
        "--workflow-profile",
        str(profile_dir),
        "--configfile",
        DEMO_CONFIG,
        str(slice_config),
        work=work,
        env=cluster.env,
        limit=300,
    )
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{tail(proc)}\n{cluster.logs()}"
    run_id = re.search(r"SLURM run ID: (\S+)", text).group(1)
    jobs = [j for j in cluster.jobs() if j.name == run_id]
    log(f"SLURM run: {seconds:.1f} s, {len(jobs)} jobs submitted")
    for j in jobs:
        log(f"  job {j.job_id:>3} {j.rule:<22} {j.partition:<4} {j.state:<10} exit {j.exit_code} {j.tres}")
    return work, text, jobs


# ---------------------------------------------------------------------- the profile (no cluster needed)


def torch_rules() -> set[str]:
    """The rules that train a torch model: those whose resources call ``torch_gpu()`` (rules/common.smk)."""
    found = set()
    for path in (REPO / "rules").glob("*.smk"):
        for block in re.split(r"^(?=(?:rule|checkpoint) )", path.read_text(), flags=re.M):
            if TORCH_GPU.search(block):
                found.add(block.split()[1].rstrip(":"))
    # a rule made from a torch rule (`use rule train_torch as train_torch_gene_set`) trains as it does
    for path in (REPO / "rules").glob("*.smk"):
        for base, alias in re.findall(r"^use rule (\w+) as (\w+)", path.read_text(), flags=re.M):
            if base in found:
                found.add(alias)
    return found


def dry_run_jobs(text: str) -> list[tuple[str, dict, int]]:
    """(rule, resources, threads) of every job a dry run lists (group jobs' members too)."""
    jobs = []
    pattern = r"^( *)(?:local)?rule (\w+):\n((?:\1    .*\n)*?)\1    resources: (.*)$"
    for _, rule, body, res in re.findall(pattern, text, re.M):
        resources = {}
        for item in res.split(", "):
            key, _, value = item.partition("=")
            resources[key] = int(value) if value.isdigit() else value
        threads = re.search(r"threads: (\d+)", body)
        jobs.append((rule, resources, int(threads.group(1)) if threads else 1))
    return jobs


def routing_table(jobs: list[tuple[str, dict, int]]) -> dict[str, tuple[int, set, set]]:
    """rule -> (jobs, their gpu values, the partitions the plugin picks for them)."""
    table: dict[str, tuple[int, set, set]] = {}
    for rule, res, threads in jobs:
        n, gpus, parts = table.get(rule, (0, set(), set()))
        parts.add(slurm_cluster.planned_partition(PROFILE, res, threads))
        gpus.add(res.get("gpu", 0))
        table[rule] = (n + 1, gpus, parts)
    return table


def assert_routed(table: dict[str, tuple[int, set, set]]) -> None:
    """Every torch training job asks for one GPU and goes to the GPU partition; every other job to the CPU one."""
    cpu, gpu = slurm_cluster.partitions_of(PROFILE)
    torch_jobs = torch_rules() - {"transfer_uncross"}  # the honest protocol's uncross job scores, trains nothing
    for rule, (_, gpus, parts) in table.items():
        if rule in torch_jobs:
            assert gpus == {1} and parts == {gpu}, (rule, gpus, parts)
        else:
            assert gpus <= {0} and parts == {cpu}, (rule, gpus, parts)


def test_slurm_profile_dry_run(tmp_path):
    """profiles/slurm as shipped, on this host (no GPU here): every torch training job of the demo asks for
    one GPU and the plugin's partition choice sends it, and nothing else, to the GPU partition."""
    assert torch_rules() == {
        "train_torch",
        "train_cross_cell",
        "transfer_cross",
        "transfer_uncross",
        "train_differential_torch",
        "train_differential_cell",
        "train_regression_torch",
        "train_torch_gene_set",
    }
    proc, _ = run_snakemake(
        "-n",
        "--workflow-profile",
        str(PROFILE),
        work=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "SLURM_CONF"},
        limit=120,
    )
    assert proc.returncode == 0, tail(proc)
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    assert profile["executor"] == "slurm" and profile["retries"] >= 1 and "set-resources" not in profile
    table = routing_table(dry_run_jobs(proc.stdout))
    assert {
        "train_torch",
        "train_sklearn",
        "train_differential_torch",
        "train_regression_torch",
        "transfer_cross",
    } <= set(table), sorted(table)
    assert_routed(table)


def test_remc_dry_run_routes_every_gpu_job(tmp_path):
    """config/remc.yaml with profiles/slurm: the same routing for every job of the full run (the table is
    logged: rule, jobs, gpu, partition)."""
    proc, seconds = run_snakemake(
        "-n",
        "--workflow-profile",
        str(PROFILE),
        "--configfile",
        str(REPO / "config/remc.yaml"),
        work=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "SLURM_CONF"},
        limit=300,
    )
    assert proc.returncode == 0, tail(proc)
    table = routing_table(dry_run_jobs(proc.stdout))
    log(f"REMC dry run with profiles/slurm: {sum(n for n, _, _ in table.values())} jobs in {seconds:.1f} s")
    for rule, (n, gpus, parts) in sorted(table.items()):
        log(f"  {rule:<28} {n:>5} jobs  gpu={','.join(map(str, sorted(gpus)))}  partition={','.join(sorted(parts))}")
    assert table["train_differential_torch"][0] > 0 and table["train_regression_torch"][0] > 0
    assert_routed(table)


# ---------------------------------------------------------------------- the slice


def test_slurm_run_submits_every_job(slurm_run, test_profile):
    work, text, jobs = slurm_run
    profile_dir, _ = test_profile
    cpu, gpu = slurm_cluster.partitions_of(profile_dir)
    submitted = {sid for _, sid, _ in SUBMITTED.findall(text)}
    # every job id in Snakemake's log is one the controller ran for this run, and nothing else ran
    assert submitted == {j.job_id for j in jobs}
    assert all(j.state == "COMPLETED" and j.exit_code == "0:0" for j in jobs), jobs
    rules = {}
    for j in jobs:
        rules[j.rule] = rules.get(j.rule, 0) + 1
    assert rules == SLICE_JOBS
    # the report is a local rule: it ran on this host, not through sbatch
    assert re.search(r"^localrule report:", text, re.M)
    # training went to the GPU partition with a GPU (as a group job of one: its rules are in the training
    # group), the rest to the CPU partition without one
    for j in jobs:
        if j.rule == "train_torch":
            assert j.group and j.partition == gpu and j.tres == "gres:gpu:1", j
        else:
            assert not j.group and j.partition == cpu and "gpu" not in j.tres, j
    assert (work / "results/report/index.html").stat().st_size > 0


def _strip_timing(obj):
    if isinstance(obj, dict):
        return {k: _strip_timing(v) for k, v in obj.items() if not TIMING.search(k)}
    if isinstance(obj, list):
        return [_strip_timing(v) for v in obj]
    return obj


def _table(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, sep="\t")
    return df[[c for c in df.columns if not TIMING.search(str(c))]]


def test_slurm_outputs_equal_local(slurm_run, local_run):
    import torch

    from chromexpr.dataset import load_dataset  # noqa: F401 - the dataset must load

    work, _, _ = slurm_run
    local = local_run
    compared = []
    # simulated reads (gzip headers aside) and the reference
    for f in sorted((local / "resources/demo").glob("*.tagAlign.gz")):
        with gzip.open(f, "rb") as a, gzip.open(work / f.relative_to(local), "rb") as b:
            assert a.read() == b.read(), f.name
        compared.append(f.name)
    for name in ("tss.tsv", "windows.bed", "splits.tsv"):
        assert (local / "results/reference" / name).read_bytes() == (work / "results/reference" / name).read_bytes()
        compared.append(name)
    # the dataset: every array, and its metadata without timings
    with np.load(local / "results/datasets/E003.npz") as a, np.load(work / "results/datasets/E003.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            if key == "meta":
                assert _strip_timing(json.loads(str(a[key]))) == _strip_timing(json.loads(str(b[key])))
            else:
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        compared.append(f"E003.npz ({len(a.files)} arrays)")
    pd.testing.assert_frame_equal(
        _table(local / "results/datasets/summary.tsv"), _table(work / "results/datasets/summary.tsv"), check_exact=True
    )
    with (
        gzip.open(local / "results/export/deepchrome/E003.csv.gz", "rb") as a,
        gzip.open(work / "results/export/deepchrome/E003.csv.gz", "rb") as b,
    ):
        assert a.read() == b.read()
    compared += ["summary.tsv", "E003.csv.gz"]
    # the training run: metrics (timings, and the dataset's hash, which covers its timings, aside),
    # predictions, history, weights
    run = "results/runs/single_cell/linear12/E003/seed0"
    ma = json.loads((local / run / "metrics.json").read_text())
    mb = json.loads((work / run / "metrics.json").read_text())
    ignored = sorted(k for k in ma if TIMING.search(k)) + ["dataset_sha256"]
    ma, mb = ({k: v for k, v in m.items() if k not in ignored} for m in (ma, mb))
    assert ma == mb
    compared.append(f"metrics.json ({len(ma)} keys equal, {', '.join(ignored)} ignored)")
    pd.testing.assert_frame_equal(
        pd.read_csv(local / run / "predictions.tsv.gz", sep="\t"),
        pd.read_csv(work / run / "predictions.tsv.gz", sep="\t"),
        check_exact=True,
    )
    pd.testing.assert_frame_equal(
        _table(local / run / "history.tsv"), _table(work / run / "history.tsv"), check_exact=True
    )
    wa = torch.load(local / run / "model.pt", map_location="cpu", weights_only=False)
    wb = torch.load(work / run / "model.pt", map_location="cpu", weights_only=False)
    sa = wa.get("state_dict", wa) if isinstance(wa, dict) else wa.state_dict()
    sb = wb.get("state_dict", wb) if isinstance(wb, dict) else wb.state_dict()
    for key, value in sa.items():
        if torch.is_tensor(value):
            assert torch.equal(value, sb[key]), key
    compared += ["predictions.tsv.gz", "history.tsv", "model.pt"]
    # the report's tables
    tables = sorted(p.name for p in (local / "results/report").glob("*.tsv"))
    assert tables == sorted(p.name for p in (work / "results/report").glob("*.tsv"))
    for name in tables:
        pd.testing.assert_frame_equal(
            _table(local / "results/report" / name), _table(work / "results/report" / name), check_exact=True
        )
    compared += tables
    log(f"local == SLURM: {len(compared)} outputs: {'; '.join(compared)}")


# ---------------------------------------------------------------------- GPU routing on the cluster


@pytest.fixture(scope="module")
def gpu_run(tmp_path_factory, cluster, test_profile):
    """One torch training job of each other experiment (GPU_TARGETS) on the cluster."""
    profile_dir, _ = test_profile
    work = tmp_path_factory.mktemp("gpu")
    config = work / "gpu_slice.yaml"
    config.write_text(yaml.safe_dump(GPU_SLICE))
    proc, seconds = run_snakemake(
        *GPU_TARGETS,
        "--workflow-profile",
        str(profile_dir),
        "--configfile",
        DEMO_CONFIG,
        str(config),
        work=work,
        env=cluster.env,
        limit=480,
    )
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{tail(proc)}\n{cluster.logs()}"
    run_id = re.search(r"SLURM run ID: (\S+)", text).group(1)
    jobs = [j for j in cluster.jobs() if j.name == run_id]
    log(f"GPU slice on SLURM: {seconds:.1f} s, {len(jobs)} jobs submitted")
    for j in jobs:
        log(f"  job {j.job_id:>3} {j.rule:<26} {j.partition:<4} {j.state:<10} exit {j.exit_code} {j.tres}")
    return work, config, jobs


def test_every_experiments_training_goes_to_the_gpu_partition(gpu_run):
    """A transfer-cross, a differential and a regression training job: -p gpu --gpus=1; the rest: CPU."""
    work, _, jobs = gpu_run
    profile_cpu, profile_gpu = slurm_cluster.partitions_of(PROFILE)
    assert all(j.state == "COMPLETED" and j.exit_code == "0:0" for j in jobs), jobs
    trained = {j.rule for j in jobs if j.partition == profile_gpu}
    assert trained == set(GPU_TARGETS.values()), jobs
    for j in jobs:
        if j.rule in trained:
            assert j.group and j.tres == "gres:gpu:1", j
        else:
            assert j.partition == profile_cpu and "gpu" not in j.tres, j
    for target in GPU_TARGETS:
        assert json.loads((work / target).read_text())["seed"] == 0, target


def test_group_jobs_train_several_runs_on_one_gpu(gpu_run, cluster, test_profile, tmp_path):
    """`--group-components gpu=3`: three training jobs go to SLURM as one job with one GPU, on the GPU
    partition, and run there one after another (the SLURM job step runs a group's jobs in turn)."""
    work, config, before = gpu_run
    profile_dir, _ = test_profile
    group_profile = tmp_path / "profile"
    slurm_cluster.write_test_profile(
        PROFILE, group_profile, {"group-components": ["gpu=3"], "slurm-keep-successful-logs": True}
    )
    proc, seconds = run_snakemake(
        *GROUP_TARGETS,
        "--workflow-profile",
        str(group_profile),
        "--configfile",
        DEMO_CONFIG,
        str(config),
        work=work,
        env=cluster.env,
        limit=300,
    )
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{tail(proc)}\n{cluster.logs()}"
    run_id = re.search(r"SLURM run ID: (\S+)", text).group(1)
    jobs = [j for j in cluster.jobs() if j.name == run_id]
    log(
        f"group run: {seconds:.1f} s, {len(jobs)} SLURM job(s): "
        + "; ".join(f"{j.job_id} {j.comment} {j.partition} {j.tres}" for j in jobs)
    )
    _, gpu = slurm_cluster.partitions_of(PROFILE)
    assert len(jobs) == 1, jobs
    (job,) = jobs
    assert job.group and job.rule == "train_torch" and job.partition == gpu and job.tres == "gres:gpu:1", job
    assert job.state == "COMPLETED" and job.exit_code == "0:0", job
    for target in GROUP_TARGETS:
        metrics = json.loads((work / target).read_text())
        assert metrics["model"] == "linear12" and metrics["seed"] in (1, 2), target
    # one after another inside the allocation: each run's job starts after the previous one finished
    (slurm_log,) = (work / ".snakemake/slurm_logs").glob(f"group_*/**/{job.job_id}.log")
    events = re.findall(
        r"^(?:localrule train_torch:|Finished jobid: \d+ \(Rule: train_torch\))", slurm_log.read_text(), re.M
    )
    kinds = ["start" if e.startswith("localrule") else "end" for e in events]
    turns = [k for i, k in enumerate(kinds) if i == 0 or k != kinds[i - 1]]
    assert turns == ["start", "end"] * len(GROUP_TARGETS), events


# ---------------------------------------------------------------------- a failing job


def test_failed_job_is_retried_reported_and_leaves_nothing(tmp_path, cluster, test_profile, local_run):
    """A truncated tagAlign: binning fails on SLURM, is retried per profile, no dataset is written."""
    profile_dir, profile = test_profile
    retries = int(profile["retries"])
    good = tmp_path / "E003-H3K4me3.tagAlign.gz"
    bad = tmp_path / "E003-H3K27me3.tagAlign.gz"
    shutil.copy(local_run / "resources/demo/E003-H3K4me3.tagAlign.gz", good)
    data = (local_run / "resources/demo/E003-H3K27me3.tagAlign.gz").read_bytes()
    bad.write_bytes(data[: len(data) // 2])  # a download cut in the middle
    table = tmp_path / "cells.tsv"
    table.write_text(f"cell\tmark\tpath\nE003\tH3K4me3\t{good}\nE003\tH3K27me3\t{bad}\n")
    demo = REPO / "src/chromexpr/data/demo"
    cfg = tmp_path / "local.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "cells": ["E003"],
                "marks": ["H3K4me3", "H3K27me3"],
                "experiments": {
                    "transfer": {"enabled": False},
                    "cross_cell": {"enabled": False},
                    "differential": {"enabled": False},
                    "regression": {"enabled": False},
                    "interpret": {"enabled": False},
                },
                "predict": {"samples": None},
                "source": {
                    "kind": "local",
                    "local": {
                        "files": str(table),
                        "annotation": str(demo / "genes.tsv"),
                        "expression": str(demo / "expression.tsv"),
                        "chrom_sizes": str(demo / "chrom.sizes"),
                    },
                },
                "reference": {"annotation_format": "tss_table"},
                "train": {"models": []},
                "export": {"deepchrome_csv": False},
            }
        )
    )
    work = tmp_path / "work"
    work.mkdir()
    proc, seconds = run_snakemake(
        "results/datasets/E003.npz",
        "--workflow-profile",
        str(profile_dir),
        "--configfile",
        DEMO_CONFIG,
        str(cfg),
        work=work,
        env=cluster.env,
        limit=240,
    )
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, tail(proc)
    run_id = re.search(r"SLURM run ID: (\S+)", text).group(1)
    jobs = [j for j in cluster.jobs() if j.name == run_id]
    failing = [j for j in jobs if j.rule == "bin_reads" and "H3K27me3" in j.comment]
    log(
        f"failure run: {seconds:.1f} s, exit {proc.returncode}; jobs: "
        + ", ".join(f"{j.job_id} {j.rule}{'/H3K27me3' if j in failing else ''} {j.state} {j.exit_code}" for j in jobs)
    )
    # the failing job: submitted 1 + retries times, each time a distinct SLURM job that FAILED with exit 1
    assert len(failing) == retries + 1, jobs
    assert all(j.state == "FAILED" and j.exit_code == "1:0" for j in failing), failing
    submitted = {sid for _, sid, _ in SUBMITTED.findall(text)}
    assert {j.job_id for j in failing} <= submitted
    # the rest: the reference (its genes and the default set's manifest) and the good mark were binned; no dataset
    # was ever submitted
    others = {j.rule for j in jobs if j not in failing}
    assert others == {"prepare_reference", "default_gene_set_manifest", "bin_reads"}, jobs
    assert all(j.state == "COMPLETED" for j in jobs if j not in failing)
    # Snakemake reports each attempt as failed by SLURM, restarts it `retries` times, and shows our error
    # naming the file (show-failed-logs prints the rule's log)
    assert text.count("SLURM status is: 'FAILED'") == retries + 1
    assert len(re.findall(r"^Trying to restart job \d+\.$", text, re.M)) == retries
    assert "Error in rule bin_reads" in text
    rule_log = (work / "logs/bin_reads/E003-H3K27me3.log").read_text()
    # our message alone (file, line, what to do), no traceback; the retries stop at once
    assert f"chromexpr: {bad}:" in rule_log and "truncated" in rule_log and "Traceback" not in rule_log, rule_log
    assert str(bad) in text
    # nothing half-written: no counts for the bad mark, no temporary files, no dataset
    results = sorted(str(p.relative_to(work)) for p in (work / "results").rglob("*") if p.is_file())
    assert not [p for p in results if "H3K27me3" in p or ".tmp" in p or p.startswith("results/datasets")], results
    assert (work / "results/counts/E003/H3K4me3.npy").exists()
    log(f"failure run left only: {', '.join(results)}")
