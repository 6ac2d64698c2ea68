# The regression experiment (Team Jamaica): a continuous expression target from the marks, genes x cells
# pooled. Fold sub-models (each trains on the training cells outside one cell-type fold), their mean (the
# ensemble), a cell-type classifier weighting cell-specific sub-models (the weighted variant), and the
# scikit-learn baselines; every model is tested on the test-split genes of every cell, held-out cells included.


rule train_regression_torch:
    input:
        unpack(regression_datasets),
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
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        gpu=train_gpus(),
        mem_mb=lambda wc, attempt: 8000 * attempt,
        runtime=lambda wc, attempt: 1440 * attempt,
    params:
        card=card_checksum,
        run=regression_params,
        torch=True,
        code=run_code("train_regression.py"),
    script:
        "../workflow/scripts/train_regression.py"


rule train_regression_sklearn:
    input:
        unpack(regression_datasets),
    output:
        model=f"{REG_RUN}/model.pkl",
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
        run=regression_params,
        torch=False,
        code=run_code("train_regression.py"),
    script:
        "../workflow/scripts/train_regression.py"


rule combine_regression:
    input:
        regression_members,
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
        models=lambda wc: [
            f"results/runs/regression/{REGRESSION['ensemble_model']}/fold{k}/seed{wc.seed}/model.pt"
            for k in range(REGRESSION["folds"])
        ],
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
        card=lambda wc: CARD_SHA256[REGRESSION["ensemble_model"]],
        code=script_code("regression_gradients.py", [REGRESSION["ensemble_model"]]),
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
        metrics=regression_runs("metrics.json"),
        history=regression_fold_runs("history.tsv"),
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
            for name in REGRESSION_REPORT_FILES
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
        plan=REG_PLAN,
        target=REGRESSION["target"],
        ensemble_model=REGRESSION["ensemble_model"],
        baselines=REGRESSION["baselines"],
        figure_cells=REG_PLAN["figure_cells"],
        source_kind=config["source"]["kind"],
        code=script_code("report_regression.py"),
    script:
        "../workflow/scripts/report_regression.py"
