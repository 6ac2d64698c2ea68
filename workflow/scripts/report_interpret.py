"""The interpretation section of the report (chromexpr.experiments.interpret.report)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

import json
from pathlib import Path

import numpy as np

from chromexpr.experiments.interpret.report import build_interpret_section


def _key(path):
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
    return meta["model"], meta["cell"]


written = build_interpret_section(
    {_key(p): p for p in snakemake.input.runs},
    {_key(p): p for p in snakemake.input.gans},
    out_dir=Path(snakemake.output[0]).parent,
    source_kind=snakemake.params.source_kind,
)
log.info(f"wrote {len(written)} files into {Path(snakemake.output[0]).parent}")
