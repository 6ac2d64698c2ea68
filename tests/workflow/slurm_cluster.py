"""A real single-node SLURM cluster for tests: munged, slurmctld and slurmd on 127.0.0.1.

Everything lives in one temporary folder: slurm.conf, cgroup.conf, gres.conf, the munge key and socket,
state, spool, logs and pid files; nothing under /etc is read or written (clients find the cluster through
``SLURM_CONF``, and talk to this munged through ``AuthInfo=socket=...``), and the ports are picked free, so
two sessions on one machine do not meet. The daemons run in the foreground as children of the test
process; :meth:`SlurmCluster.stop` ends them by their pids (SIGTERM, then SIGKILL), after cancelling any
job still queued or running, and is idempotent, so a fixture finalizer can always call it.

The node offers two partitions, both on the one local node: a default CPU partition and the GPU
partition that ``profiles/slurm`` sends training to. The node declares one *fake* GPU (a GRES whose
device file is /dev/null): a job asking ``--gpus=1`` is scheduled and counted as on a real GPU node (one
at a time, CUDA_VISIBLE_DEVICES=0 set), and torch finds no CUDA device, so training runs on the CPU, as
in a local run.

Needs root (slurmd runs jobs as their owner) and the Debian packages ``slurmctld slurmd slurm-client
munge``; :func:`unavailable_reason` says in words what is missing, for ``pytest.skip``.

Without accounting (no slurmdbd) ``sacct`` has nothing to say: jobs are followed with ``squeue``, and
``MinJobAge=600`` keeps finished jobs (with their state and exit code) visible to ``squeue -t all`` and
``scontrol show job`` for ten minutes.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

#: the group of every torch training rule (rules/common.smk TORCH_GROUP)
TORCH_GROUP = "gpu"

#: The Debian packages of the cluster (Debian 12: SLURM 22.05, munge 0.5.15).
APT_PACKAGES = "slurmctld slurmd slurm-client munge"
_BINARIES = ("munged", "slurmctld", "slurmd", "sinfo", "sbatch", "srun", "squeue", "scontrol", "scancel")
_SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def _which(name: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), *_SBIN])
    return shutil.which(name, path=path)


def unavailable_reason() -> str | None:
    """Why a cluster cannot be started here (in words), or None when it can."""
    missing = [b for b in _BINARIES if _which(b) is None]
    if missing:
        return (
            f"SLURM is not installed (missing {', '.join(missing)}); "
            f"install it with `apt-get install -y --no-install-recommends {APT_PACKAGES}` (.ci/run does)"
        )
    if os.geteuid() != 0:
        return "a test SLURM cluster needs root (slurmd starts jobs as their owner)"
    try:
        pwd.getpwnam("munge")
    except KeyError:
        return "no 'munge' user (it comes with the munge package)"
    return None


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class Job:
    """One SLURM job as ``squeue -t all`` shows it."""

    job_id: str
    name: str
    partition: str
    state: str
    comment: str
    exit_code: str = ""
    tres: str = ""

    @property
    def group(self) -> bool:
        """Whether Snakemake submitted a group job (the comment names the group, then its rules)."""
        return self.comment.removeprefix("rule_").startswith(f"{TORCH_GROUP}_")

    @property
    def rule(self) -> str:
        """The Snakemake rule, from the comment the slurm plugin sets (``rule_<name>_wildcards_...``); for a
        group job of the training group (``rule_gpu_<rules>``) its rules, joined by ``_``."""
        text = self.comment.removeprefix("rule_").split("_wildcards_")[0]
        return text.removeprefix(f"{TORCH_GROUP}_") if self.group else text


@dataclass
class SlurmCluster:
    """A single-node cluster in ``root``; :meth:`start` it, :meth:`stop` it (always)."""

    root: Path
    cpus: int = field(default_factory=lambda: max(2, os.cpu_count() or 1))
    memory_mb: int = 32000
    default_partition: str = "cpu"
    gpu_partition: str = "gpu"
    gpus: int = 1  # 0 or 1: one fake GPU at most (its device file is /dev/null)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return self.root / "etc" / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        """Environment for clients (sbatch, squeue, snakemake --executor slurm) of this cluster.

        ``bin/`` comes first in PATH: its ``srun`` sets SLURM_CONF, which the Snakemake job step drops
        before it calls srun inside a job (a real cluster's srun finds /etc/slurm/slurm.conf instead).
        """
        path = os.pathsep.join([str(self.root / "bin"), os.environ.get("PATH", ""), *_SBIN])
        return {**os.environ, "SLURM_CONF": str(self.conf), "PATH": path}

    # ------------------------------------------------------------------ configuration

    def write_config(self) -> None:
        root = self.root
        self.host = socket.gethostname().split(".")[0]
        for d in ("etc", "state", "spool", "log", "run", "munge"):
            (root / d).mkdir(parents=True, exist_ok=True)
        ctld_port, slurmd_port = _free_ports(2)
        self.munge_socket = root / "munge" / "munge.socket"
        partitions = [f"PartitionName={self.default_partition} Nodes={self.host} Default=YES MaxTime=INFINITE State=UP"]
        if self.gpu_partition != self.default_partition:
            partitions.append(
                f"PartitionName={self.gpu_partition} Nodes={self.host} Default=NO MaxTime=INFINITE State=UP"
            )
        gres = f" Gres=gpu:{self.gpus}" if self.gpus else ""
        self.conf.write_text(
            "\n".join(
                [
                    "# Written by tests/workflow/slurm_cluster.py: a throw-away single-node test cluster.",
                    "ClusterName=chromexpr-test",
                    f"SlurmctldHost={self.host}(127.0.0.1)",
                    f"SlurmctldPort={ctld_port}",
                    f"SlurmdPort={slurmd_port}",
                    "SlurmUser=root",
                    "SlurmdUser=root",
                    "AuthType=auth/munge",
                    "CredType=cred/munge",
                    f"AuthInfo=socket={self.munge_socket}",
                    "MpiDefault=none",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "SwitchType=switch/none",
                    "SchedulerType=sched/backfill",
                    # Start a submitted job at once (the default may wait 3 s to batch submissions).
                    "SchedulerParameters=batch_sched_delay=0",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core_Memory",
                    # No slurmdbd: sacct has nothing; squeue sees finished jobs for MinJobAge seconds.
                    "AccountingStorageType=accounting_storage/none",
                    "JobAcctGatherType=jobacct_gather/none",
                    "JobCompType=jobcomp/none",
                    "MinJobAge=600",
                    "ReturnToService=2",
                    "InactiveLimit=0",
                    "KillWait=5",
                    "Waittime=0",
                    "MailProg=/bin/true",
                    # The node's CPUs, memory and GPU are what this file says (memory is bookkeeping only: no
                    # cgroups), so that the rules' requests (6 GB x attempt for training) fit on any test machine.
                    "SlurmdParameters=config_overrides",
                    "GresTypes=gpu",
                    f"StateSaveLocation={root / 'state'}",
                    f"SlurmdSpoolDir={root / 'spool'}",
                    f"SlurmctldPidFile={root / 'run' / 'slurmctld.pid'}",
                    f"SlurmdPidFile={root / 'run' / 'slurmd.pid'}",
                    f"SlurmctldLogFile={root / 'log' / 'slurmctld.log'}",
                    f"SlurmdLogFile={root / 'log' / 'slurmd.log'}",
                    "SlurmctldDebug=info",
                    "SlurmdDebug=info",
                    f"NodeName={self.host} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.memory_mb}{gres} "
                    "State=UNKNOWN",
                    *partitions,
                    "",
                ]
            )
        )
        # A fake GPU: SLURM's gpu plugin wants a device file, /dev/null serves (nothing binds devices
        # here: no cgroups). Jobs asking --gpus=1 are scheduled and counted as on a GPU node.
        (root / "etc" / "gres.conf").write_text(f"NodeName={self.host} Name=gpu File=/dev/null\n" if self.gpus else "")
        # Read only if a cgroup plugin is configured (none is: proctrack/linuxproc, task/none).
        (root / "etc" / "cgroup.conf").write_text("CgroupPlugin=autodetect\nIgnoreSystemd=yes\n")
        # srun inside jobs: see `env`.
        (root / "bin").mkdir(exist_ok=True)
        srun = root / "bin" / "srun"
        srun.write_text(f'#!/bin/sh\nSLURM_CONF={self.conf} exec {_which("srun")} "$@"\n')
        srun.chmod(0o755)
        # munge: a fresh key, owned by the munge user and readable by it only.
        munge = pwd.getpwnam("munge")
        key = root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        os.chmod(root / "munge", 0o700)
        for p in (root / "munge", key):
            os.chown(p, munge.pw_uid, munge.pw_gid)
        # munged runs as user munge: it must be able to traverse down to its folder.
        os.chmod(root, 0o711)
        blocked = [str(p) for p in root.parents if not p.stat().st_mode & 0o001]
        if blocked:
            raise RuntimeError(f"the munge user cannot traverse {blocked[0]}; put the cluster elsewhere")

    # ------------------------------------------------------------------ daemons

    def _spawn(self, name: str, cmd: list[str], **kw) -> None:
        log = open(self.root / "log" / f"{name}.out", "wb")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True, **kw
        )
        log.close()

    def start(self, timeout: float = 60) -> None:
        """Write the configuration, start munged, slurmctld and slurmd, wait for an idle node."""
        self.write_config()
        root = self.root
        self._spawn(
            "munged",
            [
                _which("munged"),
                "--foreground",
                "--force",
                f"--key-file={root / 'munge' / 'munge.key'}",
                f"--socket={self.munge_socket}",
                f"--pid-file={root / 'munge' / 'munged.pid'}",
                f"--log-file={root / 'munge' / 'munged.log'}",
                f"--seed-file={root / 'munge' / 'munged.seed'}",
            ],
            user="munge",
            group="munge",
        )
        self._wait(lambda: self.munge_socket.exists(), timeout, "munged to open its socket")
        self._spawn("slurmctld", [_which("slurmctld"), "-D", "-i", "-f", str(self.conf)])
        self._wait(
            lambda: self._ok(["scontrol", "ping"]) and "UP" in self._out(["scontrol", "ping"]),
            timeout,
            "slurmctld to answer",
        )
        self._spawn("slurmd", [_which("slurmd"), "-D", "-N", self.host, "-f", str(self.conf)])
        self._wait(self._idle, timeout, "the node to be idle in sinfo")

    def _idle(self) -> bool:
        states = self._out(["sinfo", "-h", "-N", "-o", "%t"]).split()
        return bool(states) and all(s == "idle" for s in states)

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited ({proc.returncode}) while waiting for {what}:\n{self.logs()}")
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}:\n{self.logs()}")

    def logs(self, tail: int = 3000) -> str:
        parts = []
        for f in sorted((self.root / "log").glob("*")) + [self.root / "munge" / "munged.log"]:
            if f.is_file():
                parts.append(f"--- {f.name}\n{f.read_text(errors='replace')[-tail:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        """Cancel every job, then end slurmd, slurmctld and munged by their pids. Safe to call twice."""
        if self.procs.get("slurmctld") and self.procs["slurmctld"].poll() is None:
            subprocess.run(
                ["scancel", "--full", "-u", pwd.getpwuid(os.geteuid()).pw_name],
                env=self.env,
                capture_output=True,
                timeout=20,
                check=False,
            )
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and self._out(["squeue", "-h", "-t", "PD,R,CG,S", "-o", "%i"]):
                time.sleep(0.3)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.pop(name, None)
            if proc is not None and proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
            # The daemon's own pid file names the same process; should it have forked, end that one too.
            pid = self._pid_from_file(name)
            for sig in (signal.SIGTERM, signal.SIGKILL):
                if pid is None or not self._pid_from_file(name, check_only=pid):
                    break
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and self._pid_from_file(name, check_only=pid):
                    time.sleep(0.1)

    def alive(self) -> list[str]:
        """The daemons of this cluster still running (by their pids): [] after :meth:`stop`."""
        names = [n for n, p in self.procs.items() if p.poll() is None]
        return names + [n for n in ("slurmd", "slurmctld", "munged") if n not in names and self._pid_from_file(n)]

    def _pid_from_file(self, name: str, check_only: int | None = None) -> int | None:
        """The pid in ``name``'s pid file if that process is alive and is ``name``; else None."""
        files = {
            "slurmd": self.root / "run" / "slurmd.pid",
            "slurmctld": self.root / "run" / "slurmctld.pid",
            "munged": self.root / "munge" / "munged.pid",
        }
        try:
            pid = check_only or int(files[name].read_text().split()[0])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (OSError, ValueError, IndexError):
            return None
        if os.path.basename(cmdline.decode(errors="replace")) != name or ") Z " in stat:
            return None
        return pid

    # ------------------------------------------------------------------ queries

    def _run(self, cmd: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=20, check=False)

    def _ok(self, cmd: list[str]) -> bool:
        return self._run(cmd).returncode == 0

    def _out(self, cmd: list[str]) -> str:
        proc = self._run(cmd)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    def jobs(self) -> list[Job]:
        """Every job the controller remembers (queued, running and finished within MinJobAge)."""
        sep = "\x1f"
        out = self._out(["squeue", "-h", "-t", "all", "-o", sep.join(["%i", "%j", "%P", "%T", "%k"])])
        jobs = []
        for line in out.splitlines():
            job_id, name, partition, state, comment = line.split(sep)
            jobs.append(Job(job_id, name, partition, state, comment))
        for job in jobs:
            info = dict(
                token.split("=", 1)
                for token in self._out(["scontrol", "show", "job", "-o", job.job_id]).split()
                if "=" in token
            )
            job.exit_code = info.get("ExitCode", "")
            # requested per job, e.g. gres:gpu:1 for --gpus=1 (TRES= lists only accounted resources)
            job.tres = info.get("TresPerJob", "")
        return sorted(jobs, key=lambda j: int(j.job_id))


def start_cluster(root: Path | None = None, **kw) -> SlurmCluster:
    """A started cluster in ``root`` (default: a fresh folder in the system temp folder; pytest's own
    temp folders are private to root, and munged runs as user munge). Stopped again if it fails to start.
    """
    root = Path(root) if root else Path(tempfile.mkdtemp(prefix="chromexpr-slurm-"))
    cluster = SlurmCluster(root=root, **kw)
    atexit.register(cluster.stop)  # in case a caller forgets; stop() is idempotent
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


# ---------------------------------------------------------------------- the test profile

#: What the test changes in profiles/slurm, and why.
TEST_PROFILE_OVERRIDES = {
    # No accounting on the test cluster: follow jobs with squeue (sacct would fail forever).
    "slurm-status-command": "squeue",
    # First status query 1 s after a submission (not 40), and 1 s after each round in which a job
    # completed; the plugin adds 10 s per round in which none did, whatever is set here.
    "slurm-init-seconds-before-status-checks": 1,
    # Two cores: one for local rules (the report), the node's CPUs for SLURM jobs.
    "local-cores": 1,
}


def partitions_of(profile_dir: Path) -> tuple[str, str]:
    """(CPU partition, GPU partition) of a profile's partition file (``slurm-partition-config``): the first
    partition without GPUs and the first with."""
    profile = yaml.safe_load(Path(profile_dir, "config.yaml").read_text())
    parts = yaml.safe_load(Path(profile_dir, profile["slurm-partition-config"]).read_text())["partitions"]
    cpu = next(name for name, limits in parts.items() if not (limits or {}).get("max_gpu"))
    gpu = next(name for name, limits in parts.items() if (limits or {}).get("max_gpu"))
    return str(cpu), str(gpu)


def planned_partition(profile_dir: Path, resources: dict, threads: int = 1) -> str | None:
    """The partition the SLURM plugin's own selection (``get_best_partition`` over the profile's partition
    file) picks for a job with ``resources`` (as a dry run prints them) and ``threads``."""
    import logging
    from types import SimpleNamespace

    from snakemake_executor_plugin_slurm.partitions import get_best_partition, read_partition_file

    profile = yaml.safe_load(Path(profile_dir, "config.yaml").read_text())
    partitions = read_partition_file(Path(profile_dir, profile["slurm-partition-config"]))
    job = SimpleNamespace(resources=dict(resources), threads=threads, name="dry-run")
    return get_best_partition(partitions, job, logging.getLogger("slurm-partitions"))


def write_test_profile(source: Path, dest: Path, overrides: dict | None = None) -> dict:
    """profiles/slurm with TEST_PROFILE_OVERRIDES (and ``overrides``) applied, in ``dest`` (its other files,
    the partition file, copied as they are).

    Everything else (executor, retries, latency wait, resources, the partitions, ``gpu: 1`` per job) is
    the user's profile as shipped.
    """
    profile = yaml.safe_load(Path(source, "config.yaml").read_text())
    profile.update(TEST_PROFILE_OVERRIDES)
    profile.update(overrides or {})
    dest.mkdir(parents=True, exist_ok=True)
    for path in Path(source).iterdir():
        if path.is_file() and path.name != "config.yaml":
            shutil.copy(path, dest / path.name)
    (dest / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return profile
