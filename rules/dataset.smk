# Per-cell datasets (counts, normalized signal, expression, labels, splits, provenance) and exports.

if SOURCE == "processed":

    rule ingest_processed:
        input:
            unpack(processed_inputs),
            expression=processed_expression(),
        output:
            "results/datasets/{cell}.npz",
        log:
            "logs/ingest_processed/{cell}.log",
        conda:
            "../envs/genomics.yaml"
        threads: 1
        resources:
            mem_mb=lambda wc, attempt: 4000 * attempt,
            runtime=lambda wc, attempt: 20 * attempt,
        params:
            fmt=config["source"]["processed"]["format"],
            window_bp=config["source"]["processed"]["window_bp"],
            log1p=config["normalize"]["log1p"],
            fit_on=config["normalize"]["fit_on"],
            duplicates=config["expression"]["duplicates"],
            median_over=config["expression"]["median_over"],
            code=script_code("ingest_processed.py"),
        script:
            "../workflow/scripts/ingest_processed.py"

else:

    rule build_dataset:
        input:
            unpack(dataset_counts),
            tss="results/reference/tss.tsv",
            splits="results/reference/splits.tsv",
            expression=expression_file(),
        output:
            "results/datasets/{cell}.npz",
        log:
            "logs/build_dataset/{cell}.log",
        benchmark:
            "benchmarks/build_dataset/{cell}.tsv"
        conda:
            "../envs/genomics.yaml"
        threads: 1
        resources:
            mem_mb=lambda wc, attempt: 4000 * attempt,
            runtime=lambda wc, attempt: 20 * attempt,
        params:
            marks=MARKS,
            log1p=config["normalize"]["log1p"],
            fit_on=config["normalize"]["fit_on"],
            duplicates=config["expression"]["duplicates"],
            median_over=config["expression"]["median_over"],
            geometry=geometry(),
            binned=binning_geometry(),
            gene_set=gene_set_record(gene_sets.DEFAULT),
            code=script_code("build_dataset.py"),
        script:
            "../workflow/scripts/build_dataset.py"

    # the datasets of another gene set (gene_sets.*): the same counts, that set's genes and split (`use rule`
    # replaces input as a whole and merges params: only the gene set differs)
    use rule build_dataset as build_gene_set_dataset with:
        input:
            unpack(dataset_counts),
            tss="results/reference/tss.tsv",
            splits=lambda wc: gene_sets.manifest(wc.gene_set),
            expression=expression_file(),
        output:
            gene_sets.dataset("{gene_set}"),
        log:
            "logs/build_dataset/{gene_set}/{cell}.log",
        benchmark:
            "benchmarks/build_dataset/{gene_set}/{cell}.tsv"
        params:
            gene_set=lambda wc: gene_set_record(wc.gene_set),


rule export_deepchrome_csv:
    input:
        "results/datasets/{cell}.npz",
    output:
        "results/export/deepchrome/{cell}.csv.gz",
    log:
        "logs/export_deepchrome_csv/{cell}.log",
    conda:
        "../envs/genomics.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 20 * attempt,
    params:
        code=script_code("export_deepchrome_csv.py"),
    script:
        "../workflow/scripts/export_deepchrome_csv.py"


rule summarize_datasets:
    input:
        dataset_files(),
    output:
        "results/datasets/summary.tsv",
    log:
        "logs/summarize_datasets.log",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 20 * attempt,
    params:
        code=script_code("summarize_datasets.py"),
    script:
        "../workflow/scripts/summarize_datasets.py"
