"""One module per workflow rule, named after it, each with a run(input, output, params, log, threads) entry point.

A stage imports the floors below it (registry, tracking, orchestration, the ground floor), never another stage.
"""
