"""Download one remote file with resume, retries and verification (chromexpr.io.download)."""

from chromexpr.workflow import log_to

# from here on: in a fork of the job server where one runs (chromexpr.jobserver), so imports below are paid once
log = log_to(snakemake)

from chromexpr.io.download import download

known = snakemake.params.known
download(
    snakemake.params.url,
    snakemake.output[0],
    expected_size=int(known["size"]) if known["size"] else None,
    sha256=known["sha256"] or None,
    retries=snakemake.params.retries,
    log=log,
)
