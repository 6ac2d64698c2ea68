"""Table 1, Figs. 4-5 and the differential section of the report (chromexpr.experiments.differential.report)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from pathlib import Path

from chromexpr.experiments.differential.report import build_differential_section

p = snakemake.params
written = build_differential_section(
    metrics=snakemake.input.metrics,
    out_dir=Path(snakemake.output[0]).parent,
    pairs=[tuple(pair) for pair in p.pairs],
    models=list(p.models),
    attention_pair=tuple(p.attention_pair) if p.attention_pair else None,
    lfc_threshold=float(p.lfc_threshold),  # published: the paper's Table 1, from the DeepDiff cards
    source_kind=p.source_kind,
)
log.info(f"wrote {len(written)} files into {Path(snakemake.output[0]).parent}")
