"""Download one remote file with resume, retries and verification (chromexpr.io.download)."""

from chromexpr.io.download import download
from chromexpr.workflow import log_to

log = log_to(snakemake)
known = snakemake.params.known
download(
    snakemake.params.url,
    snakemake.output[0],
    expected_size=int(known["size"]) if known["size"] else None,
    sha256=known["sha256"] or None,
    retries=snakemake.params.retries,
    log=log,
)
