"""Promote the registered version to production of its name with an atomic update of the name's pointer."""

from snaketrain.registry import model_registry as registry
from snaketrain.stage_log import stage_logging
from snaketrain.table_io import read_json, write_json

STAGE = "deploy_model"


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        version = read_json(input.receipt)["version"]
        previous = registry.promote(params.registry, version, params.name)
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
