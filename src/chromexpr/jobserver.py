"""A fork server for the workflow's Python jobs: the libraries they import, imported once.

Every job of the workflow is a Python script (``workflow/scripts/``), and on a workstation most of a small
job's time is spent importing torch, scikit-learn, pandas, matplotlib and numba (2.5-5 s a job, against a
fraction of a second of work for most demo jobs). The first job that starts a job server here; the server
imports those libraries (``PRELOAD``; never chromexpr itself, whose modules each job imports afresh, so an
edit of the library is seen by the next job), listens on a Unix socket, and runs every job in a fork of
itself. A job is still one Snakemake job, one script and one process with its own log, exit status and
outputs; only the imports are shared, copy-on-write.

The client side is :func:`forward`, which ``chromexpr.workflow.log_to`` calls first thing in every workflow
script: it hands the script (the file Snakemake wrote, its preamble included), its arguments, working
directory, environment and standard streams to the server and exits with the job's exit status. The
server's child runs the script from the top; ``log_to`` sees it is inside the server and returns, and the
job goes on as it would in a process of its own.

* Off where it cannot help or may not run: ``CHROMEXPR_JOB_SERVER=0`` (or ``off``), inside a batch-system
  job (SLURM, PBS, LSF: one job per allocation), or where the server cannot start (the job then runs in its
  own process, as without the server).
* A client that is killed (Snakemake interrupted or cancelled the job) closes its connection; the server then
  terminates the job's process group. The server exits after ``IDLE_SECONDS`` without a job.
* One server per Python environment, chromexpr installation, preload list and import-time environment
  (``server_key``): a different venv, an upgraded package, or other ``NUMBA_*``/``OMP_*`` settings get a
  server of their own. The socket lives in a directory only this user can open; the server also checks the
  peer's user id.
* Snakemake's ``benchmark:`` files measure the job's client process: their wall time is the job's, their
  memory and CPU columns are not. The job's own resource use is written to its log at the end
  (``job resources: ...``).
"""

from __future__ import annotations

import array
import atexit
import contextlib
import errno
import fcntl
import hashlib
import importlib
import json
import logging
import os
import resource
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

#: set to 0 / off / false / no to run every job in a process of its own
ENV_SWITCH = "CHROMEXPR_JOB_SERVER"
#: set in the server's children: a job that is running inside the server
ENV_CHILD = "CHROMEXPR_JOB_SERVER_CHILD"
#: variables that mean "this process is a batch-system job": one job per allocation, nothing to share
BATCH_JOB_VARIABLES = ("SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID")
#: the libraries a job server imports before it accepts jobs (what the workflow's scripts import)
PRELOAD = (
    "numpy",
    "pandas",
    "pyarrow",
    "scipy.stats",
    "sklearn.metrics",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "torch",
    "torch._dynamo",  # torch.optim's first optimizer imports it (~1.5 s)
    "matplotlib.pyplot",
    "jinja2",
    "yaml",
    "jsonschema",
    "isal.igzip",
    "numba",
    "pyBigWig",
    "pybedtools",
    "captum.attr",
    "skrebate",
    "snakemake.script",
)
#: environment variables that libraries read when they are imported: part of the server's identity
IMPORT_TIME_VARIABLES = ("NUMBA_", "OMP_", "MKL_", "OPENBLAS_", "TORCH_", "PYTORCH_", "MPLBACKEND", "PYTHON")
IDLE_SECONDS = 120.0
START_TIMEOUT = 120.0
PROTOCOL = 1
_HEADER = struct.Struct("!I")

log = logging.getLogger("chromexpr.jobserver")


# --- where a server lives --------------------------------------------------------------------------------


def enabled(environ: dict[str, str] | None = None) -> bool:
    """Whether jobs go through a job server here (see the module docstring)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_SWITCH, "").strip().lower() in ("0", "off", "false", "no"):
        return False
    if env.get(ENV_CHILD):
        return False
    if any(env.get(name) for name in BATCH_JOB_VARIABLES):
        return False
    return hasattr(os, "fork") and hasattr(socket, "AF_UNIX") and hasattr(socket, "SCM_RIGHTS")


def inside_server() -> bool:
    """True in a job that the job server runs (a fork of it)."""
    return bool(os.environ.get(ENV_CHILD))


def server_key(environ: dict[str, str] | None = None) -> str:
    """16 hex digits naming the server this process may use: its interpreter and environment, chromexpr's
    installation, the preload list, and the import-time environment variables."""
    env = os.environ if environ is None else environ
    import chromexpr

    site = sorted({str(Path(p)) for p in sys.path if p.endswith("site-packages")})
    stamps = []
    for directory in site:  # a package installed or removed changes the directory
        with contextlib.suppress(OSError):
            stamps.append([directory, os.stat(directory).st_mtime_ns])
    record = {
        "protocol": PROTOCOL,
        "executable": sys.executable,
        "prefix": sys.prefix,
        "chromexpr": [str(Path(chromexpr.__file__).parent), chromexpr.__version__],
        "preload": PRELOAD,
        "site": stamps,
        "env": sorted((k, v) for k, v in env.items() if k.startswith(IMPORT_TIME_VARIABLES)),
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]


def socket_dir() -> Path:
    """``<tmp>/chromexpr-jobs-<uid>``, created with mode 0700."""
    path = Path(tempfile.gettempdir()) / f"chromexpr-jobs-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    if path.stat().st_uid != os.getuid():  # pragma: no cover - someone else's directory
        raise PermissionError(f"{path} belongs to another user")
    os.chmod(path, 0o700)
    return path


def socket_path(key: str | None = None) -> Path:
    """The socket of the server for this environment (``server_key``)."""
    return socket_dir() / f"{key or server_key()}.sock"


# --- the client ------------------------------------------------------------------------------------------


def _connect(path: Path) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        return None
    return sock


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def start_server(path: Path, *, idle_seconds: float = IDLE_SECONDS, preload: Sequence[str] = PRELOAD) -> None:
    """Start a server for ``path`` in its own session (it outlives the job that starts it)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a server that died left its socket
    logfile = path.with_suffix(".log")
    with open(logfile, "ab") as out:
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chromexpr.jobserver",
                str(path),
                "--idle-seconds",
                str(idle_seconds),
                "--preload",
                ",".join(preload),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            close_fds=True,
            cwd=path.parent,  # not a project directory, which a test may delete while the server lives
            env={k: v for k, v in os.environ.items() if k != ENV_CHILD},
        )


def connect(path: Path | None = None, *, timeout: float = START_TIMEOUT, start: bool = True) -> socket.socket | None:
    """A connection to the server at ``path`` (default: this environment's), starting one if none answers;
    None when no server could be reached within ``timeout`` seconds."""
    path = path or socket_path()
    sock = _connect(path)
    if sock is not None or not start:
        return sock
    with _locked(path.with_suffix(".lock")):
        sock = _connect(path)  # another job started it while this one waited for the lock
        if sock is None:
            start_server(path)
            deadline = time.monotonic() + timeout
            while sock is None and time.monotonic() < deadline:
                time.sleep(0.05)
                sock = _connect(path)
    return sock


def _send_request(sock: socket.socket, request: dict[str, Any], fds: Sequence[int]) -> None:
    body = json.dumps(request).encode()
    payload = _HEADER.pack(len(body)) + body
    sock.sendmsg([payload[:4096]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    if len(payload) > 4096:
        sock.sendall(payload[4096:])


def forward(script: str, *, path: Path | None = None) -> int | None:
    """Run ``script`` (a Python file, run as ``__main__``) in a fork of the job server, with this process's
    arguments, working directory, environment and standard streams; return its exit status.

    None when no server can be used (the caller then runs the job itself). A SIGINT, SIGTERM or SIGHUP to
    this process ends the job too: the server sees the connection close and terminates it.
    """
    if not enabled():
        return None
    try:
        sock = connect(path)
    except OSError:
        return None
    if sock is None:
        return None

    def stop(signum: int, _frame: Any) -> None:
        os._exit(128 + signum)  # closes the socket: the server terminates the job

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    request = {"script": script, "argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ)}
    try:
        _send_request(sock, request, [0, 1, 2])
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(64)
            if not chunk:
                break
            reply += chunk
    except OSError as exc:
        print(f"chromexpr: lost the job server ({exc})", file=sys.stderr, flush=True)
        return 1
    finally:
        sock.close()
    if not reply.startswith(b"exit "):
        print("chromexpr: the job server ended without the job's exit status", file=sys.stderr, flush=True)
        return 1
    return int(reply.split()[1])


# --- the server ------------------------------------------------------------------------------------------


def _recv_request(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    conn.settimeout(10.0)
    fds = array.array("i")
    data, ancdata, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(3 * fds.itemsize))
    for level, kind, raw in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(raw[: len(raw) - (len(raw) % fds.itemsize)])
    if len(data) < _HEADER.size:
        raise ValueError("short request")
    (size,) = _HEADER.unpack(data[: _HEADER.size])
    body = data[_HEADER.size :]
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise ValueError("truncated request")
        body += chunk
    conn.settimeout(None)
    return json.loads(body), list(fds)


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)  # sys.exit("message"): the interpreter prints it and exits with 1
    return 1


def _join_threads() -> None:
    """Wait for the job's non-daemon threads, as the interpreter does at exit."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()


def _resources_line() -> str:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime
    return f"job resources: cpu {cpu:.2f} s, peak memory {usage.ru_maxrss / 1024:.0f} MB (a fork of the job server)"


def _run_child(request: dict[str, Any], fds: Sequence[int]) -> int:
    """The job, in the forked child: its streams, directory, environment and arguments, then its script."""
    os.setpgid(0, 0)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for target, fd in zip((0, 1, 2), fds, strict=False):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ[ENV_CHILD] = "1"
    tempfile.tempdir = None  # TMPDIR may be the job's own
    script = request["script"]
    sys.argv = list(request["argv"]) or [script]
    sys.path[0] = str(Path(script).resolve().parent)
    code = 0
    try:
        import runpy

        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:  # noqa: BLE001 - as the interpreter: the hook prints it, the status is 1
        sys.excepthook(*sys.exc_info())
        code = 1
    try:
        _join_threads()
        atexit._run_exitfuncs()
        print(_resources_line(), file=sys.stderr)
    finally:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                stream.flush()
    return code


class Server:
    """The server loop: accept a job, fork, report its exit status; end the job of a client that left."""

    def __init__(self, path: Path, *, idle_seconds: float = IDLE_SECONDS) -> None:
        self.path = Path(path)
        self.idle_seconds = idle_seconds
        self.selector = selectors.DefaultSelector()
        self.jobs: dict[int, socket.socket] = {}  # pid -> its client's connection
        self.kill_at: dict[int, float] = {}  # pid -> when to SIGKILL a job whose client left
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    def bind(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.listener.bind(str(self.path))
        os.chmod(self.path, 0o600)
        self.listener.listen(64)
        self.inode = os.stat(self.path).st_ino
        self.selector.register(self.listener, selectors.EVENT_READ, None)

    def _ours(self) -> bool:
        """The socket file is still this server's (not removed, nor taken over by a newer server)."""
        try:
            return os.stat(self.path).st_ino == self.inode
        except OSError:
            return False

    def _accept(self) -> None:
        conn, _ = self.listener.accept()
        fds: list[int] = []
        try:
            creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            _, uid, _ = struct.unpack("3i", creds)
            if uid != os.getuid():
                raise PermissionError(f"a client of user {uid}")
            request, fds = _recv_request(conn)
            if threading.active_count() != 1:  # pragma: no cover - fork would copy a locked lock
                raise RuntimeError("the server has started a thread; it cannot fork safely")
        except (OSError, ValueError, RuntimeError) as exc:
            log.warning("refused a job: %s", exc)
            for fd in fds:
                os.close(fd)
            conn.close()
            return
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the job
            code = 1
            try:
                self.listener.close()
                self.selector.close()
                for other in self.jobs.values():
                    other.close()
                conn.close()
                code = _run_child(request, fds)
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)
        self.jobs[pid] = conn
        self.selector.register(conn, selectors.EVENT_READ, pid)
        log.info("job %d: %s", pid, request["script"])

    def _client_left(self, pid: int) -> None:
        conn = self.jobs.get(pid)
        if conn is None:
            return
        self.selector.unregister(conn)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        self.kill_at[pid] = time.monotonic() + 5.0
        log.info("job %d: its client left; terminated", pid)

    def _reap(self) -> None:
        while self.jobs:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(status)
            code = 128 - code if code < 0 else code
            conn = self.jobs.pop(pid, None)
            self.kill_at.pop(pid, None)
            if conn is not None:
                with contextlib.suppress(KeyError, ValueError):
                    self.selector.unregister(conn)
                with contextlib.suppress(OSError):
                    conn.sendall(f"exit {code}\n".encode())
                conn.close()
            log.info("job %d: exit %d", pid, code)
            self.last_job = time.monotonic()

    def serve(self) -> None:
        self.last_job = time.monotonic()
        checked = 0.0
        try:
            while True:
                for key, _ in self.selector.select(timeout=0.02):
                    if key.data is None:
                        self._accept()
                    else:
                        try:
                            data = key.fileobj.recv(1)
                        except OSError:
                            data = b""
                        if not data:
                            self._client_left(key.data)
                self._reap()
                now = time.monotonic()
                for pid, when in list(self.kill_at.items()):
                    if now >= when:
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(pid, signal.SIGKILL)
                        self.kill_at.pop(pid)
                if now - checked > 1.0:
                    checked = now
                    if not self._ours():
                        log.info("the socket is gone or taken over: exiting")
                        self.listener.close()
                        break
                    if not self.jobs and now - self.last_job > self.idle_seconds:
                        log.info("idle for %.0f s: exiting", self.idle_seconds)
                        break
            while self.jobs:  # the listener is closed: finish the jobs that run
                time.sleep(0.05)
                self._reap()
        finally:
            if self._ours():
                with contextlib.suppress(OSError):
                    self.path.unlink()


def preload(modules: Sequence[str]) -> list[str]:
    """Import ``modules``; return those that failed (a job then imports them itself, as without a server)."""
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - any import problem is the job's to report
            failed.append(name)
            log.warning("preload of %s failed: %s", name, exc)
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m chromexpr.jobserver SOCKET [--idle-seconds S] [--preload a,b,c]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m chromexpr.jobserver", description=main.__doc__)
    parser.add_argument("socket", type=Path)
    parser.add_argument("--idle-seconds", type=float, default=IDLE_SECONDS)
    parser.add_argument("--preload", default=",".join(PRELOAD))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s jobserver[{os.getpid()}] %(message)s")
    t0 = time.perf_counter()
    preload([m for m in args.preload.split(",") if m])
    server = Server(args.socket, idle_seconds=args.idle_seconds)
    try:
        server.bind()
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EEXIST):
            return 0
        raise
    log.info("ready in %.1f s on %s", time.perf_counter() - t0, args.socket)
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
