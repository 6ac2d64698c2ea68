# Gene annotation -> one TSS per gene -> TSS filter -> windows -> split manifest, for the default gene set
# and each other one in use (results/reference/genesets/{name}.tsv); tss.tsv holds their union.


rule prepare_reference:
    input:
        annotation=annotation_file(),
        expression=expression_file(),
        chrom_sizes=chrom_sizes_file(),
    output:
        tss="results/reference/tss.tsv",
        windows="results/reference/windows.bed",
        splits="results/reference/splits.tsv",
        summary="results/reference/summary.json",
        gene_sets=[gene_sets.manifest(name) for name in GENE_SETS],
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
        chromosomes=config["reference"]["chromosomes"],
        unknown_strand=config["reference"]["unknown_strand"],
        min_tss_distance=config["reference"]["min_tss_distance"],
        geometry=binning_geometry(),
        split=split_params(),
        gene_sets={name: gene_set_record(name) for name in GENE_SETS},
        duplicates=config["expression"]["duplicates"],
        code=script_code("prepare_reference.py"),
    script:
        "../workflow/scripts/prepare_reference.py"
