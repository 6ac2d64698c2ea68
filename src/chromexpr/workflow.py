"""Glue for the thin workflow scripts: send logs to the rule's log file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any


def log_to(snakemake: Any) -> logging.Logger:
    """Redirect stderr and the ``chromexpr`` logger to the rule's first log file.

    Returns the ``chromexpr`` logger. Uncaught exceptions (e.g. ``InputError``) end up in the
    log with their full message, which Snakemake shows for failed jobs.
    """
    path = Path(snakemake.log[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    stream = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the script
    sys.stderr = stream
    logging.basicConfig(stream=stream, level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", force=True)
    logger = logging.getLogger("chromexpr")
    logger.info("rule %s, wildcards %s", snakemake.rule, dict(snakemake.wildcards))
    return logger
