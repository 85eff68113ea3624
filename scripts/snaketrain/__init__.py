"""snaketrain: a reproducible machine-learning training pipeline on Snakemake.

The package by concern, each floor importing only the floors below it (import-linter contracts in pyproject.toml):

    stages/         one module per workflow rule, named after it: the only modules a rule calls
    serving/        the model service (snaketrain-serve) and its fast prediction path
    tracking/       the MLflow mirror
    orchestration/  the workflow's own glue: hooks, config check, terminal summary, history command, code digest,
                    job resources, report labels, and every change made to Snakemake's internals
    registry/       the named model registry, verified loading and the one inference path
    *.py            the ground floor: tables and atomic writes, stage logging, data files, estimators,
                    preprocessing, metrics, figures, webhook, HTTP retry

A stage imports the floors below it, never another stage: each rule's code digest follows its module's imports,
so a sideways import would make one stage's edit rerun another.
"""
