"""Promote the registered version to production of its name with an atomic update of the name's pointer.

Compare-and-swap: production moves only if it is still the version the gate compared the candidate with
(the decision's compared_with). Another run sharing the registry may have promoted since; then the deploy
fails, the version stays registered and production stays as that run left it, until the gate is run again.
"""

from snaketrain.registry import model_registry as registry
from snaketrain.stage_log import StageError, stage_logging
from snaketrain.table_io import read_json, write_json

STAGE = "deploy_model"
GATE_AGAIN = "snakemake --cores 4 --forcerun quality_gate"


def expected_production(decision, where):
    """The production version the gate compared with (None: nothing was in production)."""
    if "compared_with" not in decision:
        raise StageError(
            STAGE,
            "the gate decision does not record which production version it compared with (an earlier release wrote it)",
            f"rerun the gate (with this run's --configfile options): {GATE_AGAIN}",
            where,
        )
    return decision["compared_with"]


def moved_error(moved):
    """The deploy's explanation of a ProductionMoved from the registry."""
    was, now = registry.shown(moved.expected), registry.shown(moved.actual)
    return StageError(
        STAGE,
        f"production of {moved.name} moved from {was} to {now}{moved.how} since the gate compared with {was}; "
        f"version {moved.version} was not promoted: it stays registered and production stays {now}",
        f"rerun the gate (with this run's --configfile options), so that it compares the candidate with {now}: "
        f"{GATE_AGAIN}",
        moved.where,
    )


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        version = read_json(input.receipt)["version"]
        expected = expected_production(read_json(input.decision), str(input.decision))
        try:
            previous = registry.promote(params.registry, version, params.name, expected=expected)
        except registry.ProductionMoved as moved:
            raise moved_error(moved) from None
        logger.info("production of %s: %s (was %s)", params.name, version, previous)
        write_json(
            {
                "name": params.name,
                "version": version,
                "previous": previous,
                "registry": params.registry,
                "promoted_at": registry.now_utc(),
            },
            output.receipt,
        )
