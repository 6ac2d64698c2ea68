# DeepChrome 2.0's cross-cell experiments (Figs. 3, 5, 6, 7, 9), with the average-pool DeepChrome:
# - the expression correlation between cells per split (Pearson over genes of RPKM, min-max normalized
#   over all cell pairs), from the datasets;
# - groups per target: All / Highly (> 0.75) / Somewhat (> 0.5) / Random (random_size cells, seeded),
#   each Inclusive or Exclusive of the target. Membership depends on the data, so the groups are a
#   checkpoint: a group with no other cell is recorded as empty in groups.tsv and gets no job;
# - one run per non-empty group and target: the group's train genes train, its valid genes select, the
#   target's test genes are scored (the split manifest is shared, so no test gene is ever trained on);
# - Test-on-Rest: every single-cell run of the model scored on every other cell (inference only).


from chromexpr.experiments.cross_cell.evaluate import read_groups
from chromexpr.experiments.cross_cell import plan as cross_cell_plan

CROSS = config["experiments"]["cross_cell"]
CROSS_MODEL = CROSS["model"]
CROSS_TARGETS = cross_cell_plan.targets(config) if CROSS["enabled"] else []
CROSS_RUN = cross_cell_plan.RUN
CORRELATION_SPLITS = list(cross_cell_plan.CORRELATION_SPLITS)
# the groups depend on the data: the checkpoint's groups.tsv, read once its job has run
CROSS_GROUPS = lambda: checkpoints.cross_cell_groups.get().output.groups
EXPERIMENT_TARGETS["cross_cell"] = lambda: ["results/report/cross_cell/section.html"]


rule cross_cell_correlation:
    input:
        datasets=dataset_files(),
    output:
        expression="results/cross_cell/expression.tsv.gz",
        correlation=expand(
            "results/cross_cell/correlation_{split}.tsv", split=CORRELATION_SPLITS
        ),
    log:
        "logs/cross_cell/correlation.log",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 8000 * attempt,
        runtime=30,
    params:
        cells=CELLS,
        code=script_code("cross_cell_correlation.py"),
    script:
        "../workflow/scripts/cross_cell_correlation.py"


checkpoint cross_cell_groups:
    input:
        correlation=f"results/cross_cell/correlation_{CROSS['correlation_split']}.tsv",
    output:
        groups="results/cross_cell/groups.tsv",
    log:
        "logs/cross_cell/groups.log",
    localrule: True
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        cells=CELLS,
        targets=CROSS_TARGETS,
        groups={
            k: CROSS[k] for k in ("highly", "somewhat", "random_size", "random_seed")
        },
        code=script_code("cross_cell_groups.py"),
    script:
        "../workflow/scripts/cross_cell_groups.py"


rule train_cross_cell:
    input:
        unpack(
            lambda wc: cross_cell_plan.run_inputs(
                read_groups(CROSS_GROUPS()), CROSS_GROUPS(), wc.run, wc.target
            )
        ),
    output:
        model=f"{CROSS_RUN}/model.pt",
        metrics=f"{CROSS_RUN}/metrics.json",
        predictions=f"{CROSS_RUN}/predictions.tsv.gz",
        history=f"{CROSS_RUN}/history.tsv",
        genes=f"{CROSS_RUN}/genes.tsv.gz",
    log:
        "logs/train/cross_cell/{run}/{target}/seed{seed}.log",
    benchmark:
        "benchmarks/train/cross_cell/{run}/{target}/seed{seed}.tsv"
    wildcard_constraints:
        run=r"(all|highly|somewhat|random)_(inclusive|exclusive)",
        target="|".join(CELLS),
        seed=r"\d+",
    group:
        TORCH_GROUP
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        gpu=torch_gpu(),
        mem_mb=lambda wc, attempt: 16000 * attempt,
        runtime=lambda wc, attempt: 720 * attempt,
    params:
        model=CROSS_MODEL,
        card=CARD_TRAINING[CROSS_MODEL] if CROSS["enabled"] else "",
        train=torch_training_params(),
        code=script_code("train_cross_cell.py", cross_cell_plan.models(config)),
    script:
        "../workflow/scripts/train_cross_cell.py"


rule test_on_rest:
    input:
        metrics=cross_cell_plan.single_cell_files(config, CELLS, "metrics.json"),
        models=cross_cell_plan.single_cell_files(config, CELLS, "model.pt"),
        datasets=dataset_files(),
        correlation=f"results/cross_cell/correlation_{CROSS['correlation_split']}.tsv",
    output:
        table=report(
            "results/report/cross_cell/test_on_rest.tsv",
            caption="../workflow/report/cross_cell.rst",
            category="Cross-cell (DeepChrome 2.0)",
        ),
    log:
        "logs/cross_cell/test_on_rest.log",
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        mem_mb=lambda wc, attempt: 8000 * attempt,
        runtime=lambda wc, attempt: 60 * attempt,
    params:
        model=CROSS_MODEL,
        cells=CELLS,
        seeds=SEEDS,
        code=script_code("test_on_rest.py", cross_cell_plan.models(config)),
    script:
        "../workflow/scripts/test_on_rest.py"


rule report_cross_cell:
    input:
        runs=lambda wc: cross_cell_plan.run_files(
            read_groups(CROSS_GROUPS()), SEEDS, "metrics.json"
        ),
        run_predictions=lambda wc: cross_cell_plan.run_files(
            read_groups(CROSS_GROUPS()), SEEDS, "predictions.tsv.gz"
        ),
        baseline=cross_cell_plan.single_cell_files(
            config, CROSS_TARGETS, "metrics.json"
        ),
        baseline_predictions=cross_cell_plan.single_cell_files(
            config, CROSS_TARGETS, "predictions.tsv.gz"
        ),
        groups="results/cross_cell/groups.tsv",
        correlation=expand(
            "results/cross_cell/correlation_{split}.tsv", split=CORRELATION_SPLITS
        ),
        expression="results/cross_cell/expression.tsv.gz",
        test_on_rest="results/report/cross_cell/test_on_rest.tsv",
    output:
        [
            report(
                f"results/report/cross_cell/{name}",
                caption="../workflow/report/cross_cell.rst",
                category="Cross-cell (DeepChrome 2.0)",
            )
            for name in cross_cell_plan.report_files(config)
        ],
    log:
        "logs/report_cross_cell.log",
    localrule: True
    conda:
        "../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        cards=report_cards("cross_cell"),
        model=CROSS_MODEL,
        correlation_split=CROSS["correlation_split"],
        thresholds=[CROSS["highly"], CROSS["somewhat"]],
        random_size=CROSS["random_size"],
        random_seed=CROSS["random_seed"],
        source_kind=config["source"]["kind"],
        code=script_code("report_cross_cell.py"),
    script:
        "../workflow/scripts/report_cross_cell.py"
