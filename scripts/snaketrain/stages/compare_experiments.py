"""Put the experiments side by side: results/experiments.csv and .md and the report's experiments page."""

from snaketrain.orchestration import experiments_table
from snaketrain.stage_log import stage_logging

STAGE = "compare_experiments"


def run(input, output, params, log, threads=1, compared=None):
    """compared: {base, configs, sweeps, overlays} of the selected experiments, as the workflow built them (the
    rule's params carry a compact form of the same, experiments_table.params_of, so that they rerun it)."""
    with stage_logging(log[0], STAGE, input) as logger:
        rows = experiments_table.rows_for(
            compared["base"], compared["configs"], compared["sweeps"], overlays=compared["overlays"]
        )
        experiments_table.write_tables(rows, output.csv, output.md, output.page)
        logger.info("%d experiments compared; best first: %s", len(rows), ", ".join(r["experiment"] for r in rows))
