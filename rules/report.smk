# The comparison report: Table 2 layout, Figure 3 layout, paired tests, published numbers, index.html.


rule report:
    input:
        metrics=run_metrics(),
        published=config_file("report.published"),
    output:
        html="results/report/index.html",
        table2=report(
            "results/report/table2.tsv",
            caption="../workflow/report/table2.rst",
            category="Tables",
        ),
        per_cell=report(
            "results/report/per_cell_auroc.tsv",
            caption="../workflow/report/per_cell_auroc_table.rst",
            category="Tables",
        ),
        per_cell_png=report(
            "results/report/per_cell_auroc.png",
            caption="../workflow/report/per_cell_auroc.rst",
            category="Figures",
        ),
        distribution_png=report(
            "results/report/auroc_distribution.png",
            caption="../workflow/report/auroc_distribution.rst",
            category="Figures",
        ),
        paired_png=report(
            f"results/report/paired_vs_{config['report']['reference_model']}.png",
            caption="../workflow/report/paired_vs_deepchrome.rst",
            category="Figures",
        ),
    log:
        "logs/report.log",
    localrule: True
    conda:
        "../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        reference_model=config["report"]["reference_model"],
        title=config["report"]["title"],
        code=script_code("build_report.py"),
    script:
        "../workflow/scripts/build_report.py"


# `snakemake --cores 1 figures` redraws every figure from the report's tables; it has no declared
# inputs, so it never triggers training or any other job, and it runs every time it is asked for.
rule figures:
    log:
        "logs/figures.log",
    localrule: True
    conda:
        "../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        tables="results/report",
    script:
        "../workflow/scripts/draw_figures.py"
