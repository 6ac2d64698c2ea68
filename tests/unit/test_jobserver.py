"""Tests for chromexpr.jobserver: jobs run in a fork of one server, with their own streams, directory,
environment, arguments and exit status; a job whose client dies is ended; the server ends when idle.

Each test starts its own server on a socket of its own with a light preload (``json``), in a real
process, and talks to it from a real client process, as the workflow's scripts do."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from chromexpr import jobserver

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the job server forks")

CLIENT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from chromexpr.jobserver import forward
    code = forward(sys.argv[1], path=Path(sys.argv[2]))
    sys.exit(200 if code is None else code)
    """
)


@pytest.fixture
def server(request):
    """A server with a short idle time on a short socket path (AF_UNIX paths are limited to 107 bytes)."""
    root = Path(tempfile.mkdtemp(prefix="cx-js-", dir="/tmp"))
    path = root / "s.sock"
    idle = getattr(request, "param", 30.0)
    jobserver.start_server(path, idle_seconds=idle, preload=["json"])
    sock = jobserver.connect(path, start=False)
    deadline = time.monotonic() + 60
    while sock is None and time.monotonic() < deadline:
        time.sleep(0.05)
        sock = jobserver.connect(path, start=False)
    assert sock is not None, (root / "s.log").read_text() if (root / "s.log").exists() else "no log"
    sock.close()
    yield path
    for line in _pids(path.with_suffix(".log")):
        with _ignore():
            os.kill(line, signal.SIGKILL)
    shutil.rmtree(root, ignore_errors=True)


class _ignore:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True


def _pids(logfile: Path) -> list[int]:
    """The server's pid, from its log lines ``jobserver[PID]``."""
    if not logfile.exists():
        return []
    found = set()
    for line in logfile.read_text().splitlines():
        if "jobserver[" in line:
            found.add(int(line.split("jobserver[")[1].split("]")[0]))
    return sorted(found)


def run_client(script: Path, sock: Path, *, env: dict | None = None, cwd: Path | None = None, timeout: float = 60):
    return subprocess.run(
        [sys.executable, "-c", CLIENT, str(script), str(sock)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=timeout,
    )


def test_enabled_by_default_off_by_switch_in_children_and_batch_jobs():
    assert jobserver.enabled({})
    for value in ("0", "off", "false", "no", "OFF"):
        assert not jobserver.enabled({jobserver.ENV_SWITCH: value})
    assert not jobserver.enabled({jobserver.ENV_CHILD: "1"})
    assert not jobserver.enabled({"SLURM_JOB_ID": "4711"})
    assert not jobserver.enabled({"PBS_JOBID": "1.server"})


def test_the_key_follows_import_time_variables_only():
    base = {"HOME": "/root"}
    assert jobserver.server_key(base) == jobserver.server_key({**base, "TMPDIR": "/scratch", "SOMETHING": "x"})
    assert jobserver.server_key(base) != jobserver.server_key({**base, "NUMBA_NUM_THREADS": "1"})
    assert jobserver.server_key(base) != jobserver.server_key({**base, "PYTHONPATH": "/elsewhere"})
    assert len(jobserver.server_key(base)) == 16


def test_a_job_runs_in_a_fork_with_its_own_streams_directory_environment_and_arguments(server, tmp_path):
    script = tmp_path / "job.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys
            print("out", os.getcwd(), os.environ["JOB_VALUE"], sys.argv[0], os.environ.get("CHROMEXPR_JOB_SERVER_CHILD"))
            print("err line", file=sys.stderr)
            open("made-here.txt", "w").write(str(os.getpid()))
            """
        )
    )
    work = tmp_path / "work"
    work.mkdir()
    proc = run_client(script, server, env={"JOB_VALUE": "42"}, cwd=work)
    assert proc.returncode == 0, proc.stderr
    # the client's directory and environment; argv[0] is the script, as for `python job.py`; the child flag
    assert proc.stdout.split() == ["out", str(work), "42", str(script), "1"]
    assert "err line" in proc.stderr and "job resources: cpu" in proc.stderr
    job_pid = int((work / "made-here.txt").read_text())
    assert job_pid not in _pids(server.with_suffix(".log"))  # a fork, not the server itself


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ("raise SystemExit(3)", 3, ""),
        ("import sys; sys.exit('stopped: bad input')", 1, "stopped: bad input"),
        ("raise ValueError('broken')", 1, "ValueError: broken"),
        ("pass", 0, ""),
    ],
)
def test_exit_status_and_uncaught_errors_are_the_jobs(server, tmp_path, body, code, message):
    script = tmp_path / "job.py"
    script.write_text(body + "\n")
    proc = run_client(script, server)
    assert proc.returncode == code
    assert message in proc.stderr


def test_a_job_whose_client_is_killed_is_terminated(server, tmp_path):
    script = tmp_path / "job.py"
    marker = tmp_path / "pid"
    script.write_text(f"import os, time\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\ntime.sleep(300)\n")
    client = subprocess.Popen([sys.executable, "-c", CLIENT, str(script), str(server)])
    deadline = time.monotonic() + 30
    while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    job = int(marker.read_text())
    os.kill(client.pid, signal.SIGTERM)
    assert client.wait(timeout=10) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(job, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the job {job} outlived its client")


@pytest.mark.parametrize("server", [1.0], indirect=True)
def test_the_server_ends_when_idle_and_removes_its_socket(server):
    deadline = time.monotonic() + 20
    while server.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not server.exists()
    assert "idle for" in server.with_suffix(".log").read_text()


def test_a_dead_servers_socket_is_replaced(tmp_path):
    root = Path(tempfile.mkdtemp(prefix="cx-js-", dir="/tmp"))
    try:
        path = root / "s.sock"
        import socket

        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(str(path))  # a socket file nobody listens on, as a killed server leaves it
        stale.close()
        assert jobserver.connect(path, start=False) is None
        jobserver.start_server(path, idle_seconds=5, preload=["json"])
        deadline = time.monotonic() + 60
        sock = None
        while sock is None and time.monotonic() < deadline:
            time.sleep(0.05)
            sock = jobserver.connect(path, start=False)
        assert sock is not None
        sock.close()
        for pid in _pids(path.with_suffix(".log")):
            os.kill(pid, signal.SIGTERM)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_forward_returns_none_where_the_server_is_off(tmp_path, monkeypatch):
    monkeypatch.setenv(jobserver.ENV_SWITCH, "0")
    assert jobserver.forward(str(tmp_path / "never.py"), path=tmp_path / "none.sock") is None


def test_log_to_runs_the_rest_of_the_script_in_the_server(server, tmp_path):
    """A workflow script's first call, log_to(snakemake), forwards the script; in the fork it returns and the
    script goes on, logging to the rule's log file."""
    script = tmp_path / "job.py"
    log = tmp_path / "job.log"
    script.write_text(
        textwrap.dedent(
            f"""
            import os
            from chromexpr.workflow import log_to
            class Job:
                log = [{str(log)!r}]
                rule = "demo"
                wildcards = {{}}
                params = {{}}
                input = []
            logger = log_to(Job())
            logger.info("in the job, forked: %s", os.environ.get("CHROMEXPR_JOB_SERVER_CHILD"))
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "JOBSERVER_TEST": "1"},
        timeout=60,
    )
    # without a server at the default path for this environment, log_to starts one (a real preload):
    # either way the script ran to its end in a fork
    assert proc.returncode == 0, proc.stderr
    text = log.read_text()
    assert "in the job, forked: 1" in text and "job resources" in text
