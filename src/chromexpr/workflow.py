"""Glue for the thin workflow scripts: logging to the rule's log file, and input errors for people.

``log_to(snakemake)`` is the first line of every script in ``workflow/scripts/``. It

* sends stderr and the ``chromexpr`` logger to the rule's log file;
* prints an uncaught ``ChromexprError`` (an ``InputError``: bad file, line or config key) as its
  message alone, to the log and to the terminal, and exits 1, instead of ending a Python traceback;
* runs the job in a fork of the job server where one can run (``chromexpr.jobserver``): in the script's
  own process it hands the script to the server and exits with the job's status, and in the server's
  fork it returns, so everything a script imports after ``log_to`` is imported once per server, not per job;
* remembers that input error with a fingerprint of the job (rule, wildcards, params, and the path,
  size and modification time of every input), so that a retry of the same job with the same inputs
  (``retries`` in the profile, meant for jobs that ran out of memory or time) stops at once with the
  same message instead of redoing the work. Changing an input, a parameter or the library (the
  ``code`` param) changes the fingerprint, and the job runs again. An output the machine could not write
  (``OutputError``: a full disk, a quota) stops the retries of the same run the same way, and a new run
  (after freeing space) runs the job again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from chromexpr import jobserver
from chromexpr.errors import ChromexprError, OutputError

#: where input-error records live, relative to the working directory (Snakemake's own folder).
ERROR_RECORDS = Path(".snakemake") / "chromexpr" / "input_errors"


def _items(named: Any) -> list[tuple[str, Any]]:
    try:
        return [(str(k), v) for k, v in named.items()]
    except AttributeError:
        return [(str(i), v) for i, v in enumerate(named)]


def job_fingerprint(snakemake: Any) -> str:
    """sha256 of what determines a job's result: rule, wildcards, params and every input file's
    path, size and mtime (a file that does not exist counts as missing)."""
    from chromexpr.io.jsonio import dumps_json

    files = []
    for path in sorted(str(p) for p in snakemake.input):
        try:
            st = os.stat(path)
            files.append([path, st.st_size, st.st_mtime_ns])
        except OSError:
            files.append([path, None, None])
    record = {
        "rule": snakemake.rule,
        "wildcards": dict(_items(snakemake.wildcards)),
        "params": [[k, v] for k, v in _items(snakemake.params)],
        "inputs": files,
    }
    return hashlib.sha256(dumps_json(record, indent=None, sort_keys=True).encode()).hexdigest()


def _record_path(snakemake: Any) -> Path:
    from chromexpr.io.jsonio import dumps_json

    key = dumps_json([snakemake.rule, sorted(_items(snakemake.wildcards))], indent=None)
    return ERROR_RECORDS / f"{snakemake.rule}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


def _fail(message: str, stream: Any) -> None:
    for out in {id(s): s for s in (stream, sys.__stderr__) if s is not None}.values():
        print(f"chromexpr: {message}", file=out, flush=True)
    raise SystemExit(1)


def log_to(snakemake: Any) -> logging.Logger:
    """Redirect stderr and the ``chromexpr`` logger to the rule's first log file, and turn input
    errors into plain messages (see the module docstring).

    Returns the ``chromexpr`` logger.
    """
    if jobserver.enabled():  # this script's own process: the job runs in a fork of the server
        code = jobserver.forward(sys.argv[0])  # the file Snakemake wrote: its preamble and this script
        if code is not None:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    from chromexpr.io.jsonio import write_json

    path = Path(snakemake.log[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    stream = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the script
    sys.stderr = stream
    logging.basicConfig(
        stream=stream, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", force=True
    )
    logger = logging.getLogger("chromexpr")
    logger.info("rule %s, wildcards %s", snakemake.rule, dict(_items(snakemake.wildcards)))

    record = _record_path(snakemake)
    fingerprint = job_fingerprint(snakemake)
    if record.is_file():
        try:
            previous = json.loads(record.read_text())
        except (OSError, ValueError):
            previous = {}
        # a machine's error (a full disk: OutputError) stops the retries of this run, not the next run
        retry = int(getattr(snakemake, "attempt", 1) or 1) > 1
        if previous.get("fingerprint") == fingerprint and (retry or previous.get("kind") != "output"):
            _fail(
                f"{previous['message']}\n  (this job failed with this error before, with the same inputs, "
                "parameters and code; it is not run again "
                + ("in this run)" if previous.get("kind") == "output" else "until one of them changes)"),
                stream,
            )
        record.unlink(missing_ok=True)

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if isinstance(exc, ChromexprError):
            kind = "output" if isinstance(exc, OutputError) else "input"
            write_json(record, {"fingerprint": fingerprint, "message": str(exc), "kind": kind})
            logger.error("%s", exc)
            print(f"chromexpr: {exc}", file=sys.__stderr__, flush=True)
            return  # the interpreter exits with status 1 after an uncaught exception
        sys.__excepthook__(kind, exc, tb)

    sys.excepthook = hook
    return logger
