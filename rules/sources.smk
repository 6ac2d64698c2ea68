# The data sources (demo | remc | local | processed) and the datasets' geometry: the helpers the stage rules
# (demo, download, reference, binning, dataset) and the experiments share, and the checks of the source's
# files and tables, made with the config's (rules/common.smk: chromexpr.inputs.check_inputs).
from chromexpr.preprocess.counting import is_bigwig as bigwig_by_content


def reads_file(wildcards):
    """The raw reads (or bigWig) of one cell and mark, wherever the source keeps them."""
    if SOURCE == "demo":
        return f"resources/demo/{wildcards.cell}-{wildcards.mark}.tagAlign.gz"
    if SOURCE == "remc":
        return f"resources/remc/{wildcards.cell}-{wildcards.mark}.tagAlign.gz"
    return LOCAL_FILES[(wildcards.cell, wildcards.mark)]


def is_bigwig(wildcards):
    """Whether the input of a binning job is a bigWig (by name, or by content when the file exists:
    the same test the binning step makes)."""
    return bigwig_by_content(reads_file(wildcards))


def binning_params(wildcards):
    """What a binning job uses: the engine for reads; the statistic and the missing-chromosome
    policy for bigWig signal (each only where it changes the result)."""
    if is_bigwig(wildcards):
        return {
            "bigwig_stat": config["binning"]["bigwig_stat"],
            "missing_chromosomes": config["binning"]["missing_chromosomes"],
        }
    return {"engine": config["binning"]["engine"]}


def annotation_file():
    """The gene annotation of the source."""
    if SOURCE == "demo":
        return config_file("source.demo.genes")
    if SOURCE == "remc":
        return "resources/remc/gene_info.tsv"
    return config_file("source.local.annotation")


def annotation_format():
    """Format of annotation_file()."""
    return "tss_table" if SOURCE == "demo" else config["reference"]["annotation_format"]


def expression_file():
    """The expression matrix of the source."""
    if SOURCE == "demo":
        return config_file("source.demo.expression")
    if SOURCE == "remc":
        return "resources/remc/expression.tsv.gz"
    if SOURCE == "processed":
        return config_file("source.processed.expression")
    return config_file("source.local.expression")


def chrom_sizes_file():
    """Chromosome sizes of the assembly."""
    key = inputs.source_key(SOURCE)
    return config_file(f"source.{key}.chrom_sizes")


def processed_expression():
    """Expression matrix for the processed source, or nothing (labels come with the files)."""
    return (
        config_file("source.processed.expression")
        if config["source"]["processed"]["expression"]
        else []
    )


def geometry():
    """The bin geometry of the single-cell datasets (bins.*), as the library's BinGeometry takes it."""
    return {k: config["bins"][k] for k in ("window_bp", "bin_bp", "orient_by_strand")}


def binning_geometry():
    """The geometry reads are binned with, once: bins.* at the widest window any enabled experiment asks
    for (chromexpr.experiments.registry.window_bp; the narrower datasets are cut out of it, bin for bin equal
    to binning them directly). The reference drops genes whose widest window leaves the chromosome, so every
    dataset holds the same genes.
    """
    return {**geometry(), "window_bp": registry.window_bp(config)}


def split_params(split=None):
    """The settings of ``split`` (default: the split block) that its method uses."""
    split = config["split"] if split is None else split
    keys = {
        "blocks": [],
        "random": ["seed", "fractions"],
        "chromosome": ["valid_chromosomes", "test_chromosomes"],
        "deepdiff": [],
    }[split["method"]]
    return {"method": split["method"], **{k: split[k] for k in keys}}


def gene_set_record(name):
    """Gene set ``name`` as a job uses it and a dataset records it (its meta's gene_set): the TSS filter,
    chromosomes and the split keys its method uses (chromexpr.experiments.gene_sets.spec).
    """
    spec = gene_sets.spec(config, name)
    return {
        "name": name,
        "min_tss_distance": spec["min_tss_distance"],
        "chromosomes": spec["chromosomes"],
        "split": split_params(spec["split"]),
    }


def binned_chromosomes():
    """The chromosomes whose genes are binned: every gene set's (reference.chromosomes and each gene_sets' own);
    [] (every chromosome with a size) when any set takes every chromosome."""
    names = [
        gene_sets.spec(config, n)["chromosomes"]
        for n in [gene_sets.DEFAULT, *GENE_SETS]
    ]
    if not all(names):
        return []
    return list(dict.fromkeys(c for chroms in names for c in chroms))


def counts_file():
    """Counts per cell and mark; temporary unless binning.keep_counts."""
    path = "results/counts/{cell}/{mark}.npy"
    return path if config["binning"]["keep_counts"] else temp(path)


def dataset_counts(wildcards):
    """The per-mark count matrices of one cell (and their binning records), in config mark order."""
    files = {m: f"results/counts/{wildcards.cell}/{m}.npy" for m in MARKS}
    files.update(
        {f"{m}_stats": f"results/counts/{wildcards.cell}/{m}.json" for m in MARKS}
    )
    return files


def processed_inputs(wildcards):
    """The released split files of one cell."""
    return {s: PROCESSED_FILES[(wildcards.cell, s)] for s in ("train", "valid", "test")}


def dataset_files():
    """Every cell's dataset."""
    return expand("results/datasets/{cell}.npz", cell=CELLS)


def known_checksum(name):
    """Size and sha256 of a download when the checksum table lists it (else empty strings)."""
    return CHECKSUMS.get(name, {"size": "", "sha256": ""})


# the gene sets other than the default one (gene_sets.*, every one configured, so that switching an experiment
# on or off changes no manifest; none for a processed source, whose files fix its genes): each is a manifest
# among the binned genes (rules/reference.smk)
GENE_SETS = list(gene_sets.configured(config)) if SOURCE != "processed" else []


wildcard_constraints:
    gene_set="|".join(GENE_SETS) or "__none__",


# the source's file tables and checksums, read and checked with the config (rules/common.smk, INPUTS)
LOCAL_FILES = INPUTS.local_files
PROCESSED_FILES = INPUTS.processed_files
CHECKSUMS = INPUTS.checksums
