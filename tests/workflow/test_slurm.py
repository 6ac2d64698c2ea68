"""The workflow on a real SLURM cluster, as users run it: ``--workflow-profile profiles/slurm``.

A single-node cluster (munged, slurmctld, slurmd on 127.0.0.1; tests/workflow/slurm_cluster.py) is started
once for this module and stopped by its pids afterwards, whatever happens. The profile is profiles/slurm
as shipped, with only what a cluster without accounting and a quick test need changed
(``slurm_cluster.TEST_PROFILE_OVERRIDES``: squeue status, 1-second first status check, one local core).
The node has a CPU partition and the profile's GPU partition, and one fake GPU, so the training job is
really submitted with ``-p gpu --gpus=1``.

* A slice of the pipeline (demo reads of one cell -> binning -> dataset -> one small torch training job
  -> report) runs on SLURM and locally; every non-local job must have gone through sbatch (job ids in
  Snakemake's log and in ``squeue -t all``), and the outputs must be identical (arrays, metrics and
  predictions, report tables), timings aside.
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
    "bin_reads": 5,
    "build_dataset": 1,
    "summarize_datasets": 1,
    "export_deepchrome_csv": 1,
    "train_torch": 1,
}
# Keys and columns that hold wall-clock times or throughputs: they differ between any two runs.
TIMING = re.compile(r"(^|_)(seconds|wall|hours)($|_)|per_second")
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (\S+?)\)\.?$", re.M)


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
def profile_dict() -> dict:
    return yaml.safe_load((PROFILE / "config.yaml").read_text())


@pytest.fixture(scope="module")
def cluster(profile_dict):
    """A running single-node cluster for the module; stopped by pid at the end, even on failure."""
    required = os.environ.get("CHROMEXPR_REQUIRE_SLURM") == "1"
    reason = slurm_cluster.unavailable_reason()
    if reason:
        if required:
            pytest.fail(f"CHROMEXPR_REQUIRE_SLURM=1 but {reason}")
        pytest.skip(reason)
    cpu, gpu = slurm_cluster.partitions_of(profile_dict)
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
    proc, seconds = run_snakemake("--cores", "2", "--configfile", str(slice_config), work=work, env=env, limit=300)
    assert proc.returncode == 0, tail(proc)
    log(f"local run: {seconds:.1f} s")
    return work


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory, cluster, test_profile, slice_config):
    """The slice through `--workflow-profile` (profiles/slurm, test overrides), on the cluster."""
    profile_dir, _ = test_profile
    work = tmp_path_factory.mktemp("slurm")
    proc, seconds = run_snakemake(
        "--workflow-profile", str(profile_dir), "--configfile", str(slice_config), work=work, env=cluster.env, limit=300
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


def test_slurm_profile_dry_run(tmp_path, profile_dict):
    """profiles/slurm as shipped: valid for Snakemake, training on the GPU partition with one GPU."""
    proc, _ = run_snakemake(
        "-n",
        "--workflow-profile",
        str(PROFILE),
        work=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "SLURM_CONF"},
        limit=120,
    )
    assert proc.returncode == 0, tail(proc)
    _, gpu = slurm_cluster.partitions_of(profile_dict)
    assert profile_dict["executor"] == "slurm" and profile_dict["retries"] >= 1
    resources = re.findall(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", proc.stdout, re.M)
    seen = {rule for rule, _ in resources}
    assert {"train_torch", "train_sklearn", "bin_reads", "report"} <= seen
    for rule, res in resources:
        if rule == "train_torch":
            assert f"slurm_partition={gpu}" in res and re.search(r"\bgpu=1\b", res), res
        else:
            assert "slurm_partition" not in res and not re.search(r"\bgpu=[1-9]", res), (rule, res)


# ---------------------------------------------------------------------- the slice


def test_slurm_run_submits_every_job(slurm_run, test_profile):
    work, text, jobs = slurm_run
    _, profile = test_profile
    cpu, gpu = slurm_cluster.partitions_of(profile)
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
    # training went to the GPU partition with a GPU, the rest to the CPU partition without one
    for j in jobs:
        if j.rule == "train_torch":
            assert j.partition == gpu and j.tres == "gres:gpu:1", j
        else:
            assert j.partition == cpu and "gpu" not in j.tres, j
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
    # the rest: the reference and the good mark were binned; no dataset was ever submitted
    others = {j.rule for j in jobs if j not in failing}
    assert others == {"prepare_reference", "bin_reads"}, jobs
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
