"""Expression of every cell per gene, and the cell x cell correlation per split (DeepChrome 2.0 Fig. 3)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from chromexpr.dataset import load_dataset
from chromexpr.experiments.cross_cell.evaluate import correlation_tables, expression_table
from chromexpr.io.atomic import atomic_path

datasets = {
    cell: load_dataset(path) for cell, path in zip(snakemake.params.cells, snakemake.input.datasets, strict=True)
}
expression = expression_table(datasets)
with atomic_path(snakemake.output.expression) as tmp:
    expression.to_csv(tmp, sep="\t", index=False, compression={"method": "gzip", "mtime": 0})
tables = correlation_tables(expression)
for path in snakemake.output.correlation:
    split = path.rsplit("correlation_", 1)[1].removesuffix(".tsv")
    with atomic_path(path) as tmp:
        tables[split].to_csv(tmp, sep="\t", index=False)
    log.info("correlation over the %s genes: %d cell pairs", split, len(tables[split]))
