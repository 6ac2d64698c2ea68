# Trained single-cell runs applied to new samples (config/predict.tsv: sample mark path): the
# sample's reads or bigWigs are binned with the run's geometry and transformed as its model.pt says
# (chromexpr.predict, the same code as `chromexpr predict`). No expression data needed.


from chromexpr.experiments.predict import inputs as predict_inputs
from chromexpr.experiments.predict import plan as predict_plan

PREDICT = config["predict"]
PREDICT_CELL = predict_plan.training_cell(config)
# config/predict.tsv as {sample: {mark: path}}, read and checked with the config (rules/common.smk, INPUTS)
PREDICT_SAMPLES = INPUTS.experiments.get("predict", {})
EXPERIMENT_TARGETS["predict"] = lambda: predict_plan.targets(
    config, PREDICT_SAMPLES
) + ["results/report/predict/section.html"]


rule predict_sample:
    input:
        unpack(
            lambda wc: predict_inputs.job_inputs(
                config, CARDS, PREDICT_SAMPLES, wc.sample, wc.model, repo_or_cwd
            )
        ),
    output:
        table="results/predict/{sample}/{model}.tsv",
        info="results/predict/{sample}/{model}.json",
    log:
        "logs/predict/{sample}/{model}.log",
    benchmark:
        "benchmarks/predict/{sample}/{model}.tsv"
    wildcard_constraints:
        sample="|".join(PREDICT_SAMPLES) or "__none__",
        model="|".join(PREDICT["models"]) or "__none__",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    params:
        depth=PREDICT["depth"],
        stat=PREDICT["bigwig_stat"],
        engine=config["binning"]["engine"],
        code=run_code("predict.py"),
    script:
        "../workflow/scripts/predict.py"


rule predict:
    input:
        predict_plan.targets(config, PREDICT_SAMPLES),


# The report's predictions section: per sample the runs applied, the depth ratios, the genes left out, the
# distribution of P, and each run's calibration on its own test genes (chromexpr.experiments.predict.report).
rule report_predict:
    input:
        tables=predict_plan.targets(config, PREDICT_SAMPLES),
        info=[
            t.removesuffix(".tsv") + ".json"
            for t in predict_plan.targets(config, PREDICT_SAMPLES)
        ],
        runs=predict_plan.run_files(config),
    output:
        [
            report(
                f"results/report/predict/{name}",
                caption="../workflow/report/predict.rst",
                category="Predictions",
            )
            for name in predict_plan.report_files(config)
        ],
    log:
        "logs/report_predict.log",
    localrule: True
    conda:
        "../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        cards=report_cards("predict"),
        source_kind=config["source"]["kind"],
        code=script_code("report_predict.py"),
    script:
        "../workflow/scripts/report_predict.py"
