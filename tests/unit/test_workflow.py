"""Tests of chromexpr.workflow: the glue of the workflow scripts (log file, input errors)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import sys
    from types import SimpleNamespace
    from snakemake.iocontainers import Namedlist
    from chromexpr.errors import InputError, OutputError
    from chromexpr.workflow import log_to

    def Named(**kw):  # Snakemake's own container of input, params and wildcards
        return Namedlist(fromdict=kw)

    snakemake = SimpleNamespace(
        rule="bin_reads", log=["logs/job.log"], input=Named(reads="reads.tagAlign"),
        wildcards=Named(cell="E003", mark="H3K4me3"), params=Named(engine="native"), attempt=int(sys.argv[2]),
    )
    log = log_to(snakemake)
    log.info("working")
    open("ran", "a").write("x")
    if sys.argv[1] == "fail":
        raise InputError("line 3 has 2 fields", path="reads.tagAlign", line=3, hint="fix the file")
    if sys.argv[1] == "full":
        raise OutputError(28, "could not write the file: No space left on device", "counts.npy", hint="free space")
    if sys.argv[1] == "crash":
        raise RuntimeError("not an input error")
    """
)


def run(tmp_path: Path, mode: str, attempt: int = 1) -> subprocess.CompletedProcess:
    (tmp_path / "job.py").write_text(SCRIPT)
    return subprocess.run([sys.executable, "job.py", mode, str(attempt)], cwd=tmp_path, capture_output=True, text=True)


def test_input_error_is_a_message_not_a_traceback(tmp_path):
    (tmp_path / "reads.tagAlign").write_text("chr1\t0\n")
    proc = run(tmp_path, "fail")
    assert proc.returncode == 1
    assert proc.stderr == "chromexpr: reads.tagAlign:3: line 3 has 2 fields\n  -> fix the file\n"
    log = (tmp_path / "logs/job.log").read_text()
    assert "rule bin_reads, wildcards {'cell': 'E003', 'mark': 'H3K4me3'}" in log
    assert "ERROR reads.tagAlign:3: line 3 has 2 fields" in log and "Traceback" not in log


def test_same_input_error_is_not_run_again(tmp_path):
    reads = tmp_path / "reads.tagAlign"
    reads.write_text("chr1\t0\n")
    assert run(tmp_path, "fail").returncode == 1
    # a retry with the same inputs stops before doing any work, with the same message
    proc = run(tmp_path, "fail")
    assert proc.returncode == 1
    assert (tmp_path / "ran").read_text() == "x"
    assert "reads.tagAlign:3: line 3 has 2 fields" in proc.stderr and "not run again" in proc.stderr
    # a changed input runs the job again (and here it succeeds)
    reads.write_text("chr1\t0\t10\n")
    assert run(tmp_path, "ok").returncode == 0
    assert (tmp_path / "ran").read_text() == "xx"
    assert not list((tmp_path / ".snakemake/chromexpr/input_errors").glob("*.json"))


def test_other_errors_keep_their_traceback(tmp_path):
    proc = run(tmp_path, "crash")
    assert proc.returncode == 1
    log = (tmp_path / "logs/job.log").read_text()
    assert "Traceback" in log and "RuntimeError: not an input error" in log
    # not recorded: a crash may be transient (memory, a node), so a retry runs the job again
    assert run(tmp_path, "crash").returncode == 1
    assert (tmp_path / "ran").read_text() == "xx"


def test_a_full_disk_stops_the_retries_of_the_run_not_the_next_run(tmp_path):
    """The profile's retries (attempt 2, ...) are for memory and time: a full disk stops them at once with its
    message; the next run (attempt 1, after freeing space) runs the job again."""
    (tmp_path / "reads.tagAlign").write_text("chr1\t0\t10\n")
    first = run(tmp_path, "full")
    assert first.returncode == 1 and first.stderr.startswith("chromexpr: counts.npy: could not write the file")
    retry = run(tmp_path, "full", attempt=2)
    assert retry.returncode == 1 and (tmp_path / "ran").read_text() == "x"
    assert "not run again in this run" in retry.stderr
    assert run(tmp_path, "ok", attempt=1).returncode == 0
    assert (tmp_path / "ran").read_text() == "xx"
