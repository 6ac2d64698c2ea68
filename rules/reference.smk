# Gene annotation -> the genes binned (results/reference/tss.tsv: every gene with expression whose widest window
# fits, no TSS filter) -> each gene set's manifest (its TSS filter, chromosomes and split): the default set's
# results/reference/splits.tsv and every other one's results/reference/genesets/{name}.tsv. Editing or adding a
# gene set writes its manifest and bins nothing again.


rule prepare_reference:
    input:
        annotation=annotation_file(),
        expression=expression_file(),
        chrom_sizes=chrom_sizes_file(),
    output:
        tss="results/reference/tss.tsv",
        windows="results/reference/windows.bed",
        summary="results/reference/summary.json",
    log:
        "logs/prepare_reference.log",
    conda:
        "../envs/genomics.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        annotation_format=annotation_format(),
        gene_types=config["reference"]["gene_types"],
        chromosomes=binned_chromosomes(),
        unknown_strand=config["reference"]["unknown_strand"],
        geometry=binning_geometry(),
        duplicates=config["expression"]["duplicates"],
        code=script_code("prepare_reference.py"),
    script:
        "../workflow/scripts/prepare_reference.py"


rule gene_set_manifest:
    input:
        annotation=annotation_file(),
        expression=expression_file(),
        chrom_sizes=chrom_sizes_file(),
        tss="results/reference/tss.tsv",
    output:
        manifest=gene_sets.manifest("{gene_set}"),
        summary="results/reference/genesets/{gene_set}.json",
    log:
        "logs/gene_set_manifest/{gene_set}.log",
    conda:
        "../envs/genomics.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        gene_set=lambda wc: gene_set_record(wc.gene_set),
        annotation_format=annotation_format(),
        gene_types=config["reference"]["gene_types"],
        unknown_strand=config["reference"]["unknown_strand"],
        geometry=binning_geometry(),
        duplicates=config["expression"]["duplicates"],
        code=script_code("gene_set_manifest.py"),
    script:
        "../workflow/scripts/gene_set_manifest.py"


# the default set's manifest (reference.* and split.*; `use rule` merges params: only the gene set differs)
use rule gene_set_manifest as default_gene_set_manifest with:
    output:
        manifest=gene_sets.manifest(gene_sets.DEFAULT),
        summary="results/reference/splits.json",
    log:
        "logs/gene_set_manifest/default.log",
    params:
        gene_set=gene_set_record(gene_sets.DEFAULT),
