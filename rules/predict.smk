# Trained single-cell runs applied to new samples (config/predict.tsv: sample mark path): the
# sample's reads or bigWigs are binned with the run's geometry and transformed as its model.pt says
# (chromexpr.predict, the same code as `chromexpr predict`). No expression data needed.


rule predict_sample:
    input:
        unpack(predict_inputs),
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
        predict_targets(),
