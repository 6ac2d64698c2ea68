"""Cut the embedded demo tables out of the shared real REMC tables.

Usage (from the repository root)::

    python data/make_demo_tables.py ../shared/data/real src/chromexpr/data/demo

Reads ``remc_genes_hg19_tss.tsv.gz``, ``remc_rpkm_56cells.tsv.gz``, ``remc_counts_9cells.tsv.gz`` and
``hg19.chrom.sizes`` from the source directory and writes ``genes.tsv``, ``expression.tsv`` (RPKM),
``counts.tsv`` (raw RNA-seq read counts of the demo cells the DeepDiff release covers, for the
differential experiment) and ``chrom.sizes`` into the output directory. Values are copied as text, byte for byte, so no float is re-formatted. Re-running it
reproduces the committed files exactly.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

CHROMS = ["chr17", "chr19", "chr20", "chr21", "chr22"]
CELLS = ["E003", "E066", "E085", "E116", "E123"]
#: demo cells with real raw read counts in the DeepDiff release (E066 and E085 are not in it)
COUNT_CELLS = ["E003", "E116", "E123"]
MIN_TSS_DISTANCE = 5000


def tss_filter_count(genes: pd.DataFrame, min_distance: int = MIN_TSS_DISTANCE) -> dict[str, int]:
    """Genes per chromosome that survive the reference TSS filter (DESIGN.md section 4).

    Per chromosome, genes sorted by TSS (ties by gene id); the first is kept; a gene whose TSS lies
    less than ``min_distance`` downstream of the last *kept* TSS is dropped. Only reported here:
    the pipeline's reference step applies the filter itself, so the tables keep every gene.
    """
    kept: dict[str, int] = {}
    for chrom, block in genes.groupby("chrom", sort=False):
        tss = block.assign(tss=block["tss"].astype("int64")).sort_values(["tss", "gene_id"])["tss"]
        last, n = None, 0
        for t in tss:
            if last is None or t - last >= min_distance:
                n, last = n + 1, t
        kept[str(chrom)] = n
    return kept


def main() -> None:
    """Write the three demo tables and print what was kept."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", type=Path, help="directory with the shared real REMC tables")
    parser.add_argument("out", type=Path, help="output directory (data/demo)")
    args = parser.parse_args()

    # Everything as text: the demo must carry the published numbers unchanged, and an empty strand
    # (unknown) must stay empty rather than become NaN.
    genes = pd.read_csv(args.src / "remc_genes_hg19_tss.tsv.gz", sep="\t", dtype=str, keep_default_na=False)
    rpkm = pd.read_csv(args.src / "remc_rpkm_56cells.tsv.gz", sep="\t", dtype=str, keep_default_na=False)
    counts = pd.read_csv(args.src / "remc_counts_9cells.tsv.gz", sep="\t", dtype=str, keep_default_na=False)
    sizes = pd.read_csv(args.src / "hg19.chrom.sizes", sep="\t", header=None, names=["chrom", "size"], dtype=str)
    if not genes["gene_id"].equals(rpkm["gene_id"]):
        raise SystemExit("gene and RPKM tables are not row-aligned; the cut below assumes they are")

    # 7 Ensembl ids appear twice (two symbols, identical numbers): keep the first occurrence so that
    # gene_id is a key in both tables. Row order stays the DeepChrome order.
    first = ~genes["gene_id"].duplicated(keep="first")
    on_demo = genes["chrom"].isin(CHROMS)
    n_dup_dropped = int((~first & on_demo).sum())
    keep = first & on_demo

    out_genes = genes.loc[keep, ["gene_id", "symbol", "chrom", "tss", "strand"]]
    out_expr = rpkm.loc[keep, ["gene_id", *CELLS]]
    # gene_id is a key of the counts table; every demo gene is in it (checked, so nothing is lost)
    counts = counts.set_index("gene_id")
    lacking = ~out_genes["gene_id"].isin(counts.index)
    if lacking.any():
        raise SystemExit(
            f"{int(lacking.sum())} demo genes have no raw counts, e.g. {out_genes['gene_id'][lacking].iloc[0]}"
        )
    out_counts = counts.loc[out_genes["gene_id"], COUNT_CELLS].reset_index()
    out_sizes = sizes.set_index("chrom").loc[CHROMS].reset_index()

    args.out.mkdir(parents=True, exist_ok=True)
    out_genes.to_csv(args.out / "genes.tsv", sep="\t", index=False, lineterminator="\n")
    out_expr.to_csv(args.out / "expression.tsv", sep="\t", index=False, lineterminator="\n")
    out_counts.to_csv(args.out / "counts.tsv", sep="\t", index=False, lineterminator="\n")
    out_sizes.to_csv(args.out / "chrom.sizes", sep="\t", index=False, header=False, lineterminator="\n")

    kept = tss_filter_count(out_genes)
    print(f"genes: {len(out_genes)} on {', '.join(CHROMS)} ({n_dup_dropped} duplicate ids dropped)")
    for chrom in CHROMS:
        total = int((out_genes["chrom"] == chrom).sum())
        print(f"  {chrom}: {total} genes, {kept[chrom]} pass the {MIN_TSS_DISTANCE} bp TSS filter")
    print(f"  total passing the TSS filter: {sum(kept.values())}")


if __name__ == "__main__":
    main()
