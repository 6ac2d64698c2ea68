# The regression experiment (Team Jamaica): a continuous expression target from the marks, genes x cells
# pooled. Fold sub-models (each trains on the training cells outside one cell-type fold), their mean (the
# ensemble), a cell-type classifier weighting cell-specific sub-models (the weighted variant), and the
# scikit-learn baselines; every model is tested on the test-split genes of every cell, held-out cells included.


from chromexpr.experiments.regression import plan as regression_plan

REGRESSION = config["experiments"]["regression"]
REG_RUN = regression_plan.RUN
REG_MODELS = regression_plan.models(config)
REG_PLAN = regression_plan.plan(config, CARDS)  # checked with the config (common.smk)
REG_TORCH_MODELS = [m for m in REG_MODELS if FRAMEWORK[m] == "torch"] or ["__none__"]
REG_SKLEARN_MODELS = [m for m in REG_MODELS if FRAMEWORK[m] == "sklearn"] or [
    "__none__"
]
REG_PARTS = sorted({part for _, part in REG_PLAN["runs"]}) or ["__none__"]
EXPERIMENT_TARGETS["regression"] = lambda: ["results/report/regression/section.html"]


rule train_regression_torch:
    input:
        unpack(lambda wc: regression_plan.datasets(REG_PLAN)),
    output:
        model=f"{REG_RUN}/model.pt",
        metrics=f"{REG_RUN}/metrics.json",
        predictions=f"{REG_RUN}/predictions.tsv.gz",
        history=f"{REG_RUN}/history.tsv",
    log:
        "logs/train/regression/{model}/{part}/seed{seed}.log",
    benchmark:
        "benchmarks/train/regression/{model}/{part}/seed{seed}.tsv"
    wildcard_constraints:
        model="|".join(REG_TORCH_MODELS),
        part="|".join(REG_PARTS),
        seed=r"\d+",
    group:
        TORCH_GROUP
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        gpu=torch_gpu(),
        mem_mb=lambda wc, attempt: 8000 * attempt,
        runtime=lambda wc, attempt: 1440 * attempt,
    params:
        card=card_checksum,
        run=lambda wc: regression_plan.run_params(config, REG_PLAN, wc.part),
        torch=True,
        code=run_code("train_regression.py"),
    script:
        "../workflow/scripts/train_regression.py"


rule train_regression_sklearn:
    input:
        unpack(lambda wc: regression_plan.datasets(REG_PLAN)),
    output:
        model=f"{REG_RUN}/model.skops",
        metrics=f"{REG_RUN}/metrics.json",
        predictions=f"{REG_RUN}/predictions.tsv.gz",
        history=f"{REG_RUN}/history.tsv",
    log:
        "logs/train/regression/{model}/{part}/seed{seed}.log",
    benchmark:
        "benchmarks/train/regression/{model}/{part}/seed{seed}.tsv"
    wildcard_constraints:
        model="|".join(REG_SKLEARN_MODELS),
        part="|".join(REG_PARTS),
        seed=r"\d+",
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        mem_mb=lambda wc, attempt: 16000 * attempt,
        runtime=lambda wc, attempt: 240 * attempt,
    params:
        card=card_checksum,
        run=lambda wc: regression_plan.run_params(config, REG_PLAN, wc.part),
        torch=False,
        code=run_code("train_regression.py"),
    script:
        "../workflow/scripts/train_regression.py"


rule combine_regression:
    input:
        lambda wc: regression_plan.member_files(config, REG_PLAN, wc.kind, wc.seed),
    output:
        metrics="results/runs/regression/{kind}/all/seed{seed}/metrics.json",
        predictions="results/runs/regression/{kind}/all/seed{seed}/predictions.tsv.gz",
    log:
        "logs/combine_regression/{kind}/seed{seed}.log",
    wildcard_constraints:
        kind="ensemble|weighted",
        seed=r"\d+",
    localrule: True
    conda:
        "../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        training_cells=REG_PLAN["training"],
        classifier_model=REGRESSION["classifier_model"],
        code=script_code("combine_regression.py"),
    script:
        "../workflow/scripts/combine_regression.py"


rule regression_gradients:
    input:
        unpack(
            lambda wc: {
                f"cell_{c}": f"results/datasets/{c}.npz"
                for c in REG_PLAN["figure_cells"]
            }
        ),
        models=lambda wc: regression_plan.fold_files(config, "model.pt", [wc.seed]),
    output:
        "results/runs/regression/ensemble/all/seed{seed}/gradients.tsv",
    log:
        "logs/regression_gradients/seed{seed}.log",
    wildcard_constraints:
        seed=r"\d+",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 8000 * attempt,
        runtime=lambda wc, attempt: 60 * attempt,
    params:
        model=REGRESSION["ensemble_model"],
        cells=REG_PLAN["figure_cells"],
        card=lambda wc: CARD_TRAINING[REGRESSION["ensemble_model"]],
        code=script_code(
            "regression_gradients.py",
            [REGRESSION["ensemble_model"]] if REGRESSION["enabled"] else [],
        ),
    script:
        "../workflow/scripts/regression_gradients.py"


rule report_regression:
    input:
        unpack(
            lambda wc: {
                f"cell_{c}": f"results/datasets/{c}.npz"
                for c in REG_PLAN["figure_cells"]
            }
        ),
        metrics=regression_plan.run_files(config, REG_PLAN, "metrics.json"),
        history=regression_plan.fold_files(config, "history.tsv"),
        gradients=expand(
            "results/runs/regression/ensemble/all/seed{seed}/gradients.tsv", seed=SEEDS
        ),
    output:
        [
            report(
                f"results/report/regression/{name}",
                caption="../workflow/report/regression.rst",
                category="Regression (Team Jamaica)",
            )
            for name in regression_plan.report_files(config)
        ],
    log:
        "logs/report_regression.log",
    localrule: True
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        cards=report_cards("regression"),
        plan=REG_PLAN,
        target=REGRESSION["target"],
        ensemble_model=REGRESSION["ensemble_model"],
        baselines=REGRESSION["baselines"],
        figure_cells=REG_PLAN["figure_cells"],
        source_kind=config["source"]["kind"],
        # the ensemble's card as its runs were built (train.input_marks: config: on the configured marks)
        card=CARDS.get(REGRESSION["ensemble_model"], {}),
        code=script_code("report_regression.py"),
    script:
        "../workflow/scripts/report_regression.py"
