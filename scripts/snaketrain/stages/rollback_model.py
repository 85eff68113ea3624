"""Point production of a registered model name back to the previous production version (or a named one).

    snakemake --cores 1 rollback_model [--config rollback='{to: <version>}']   # registry.path, registry.model_name
    snaketrain-rollback --name penguins [--to <version>] [--registry registry]

Atomic and under the registry lock (model_registry.rollback); recorded in the name's history as "rolled_back".
Refused, with the reason, when there is nothing to roll back to or the version is not whole.
"""

import argparse
import os
import sys

from snaketrain.registry import model_registry as registry
from snaketrain.stage_log import StageError, stage_logging
from snaketrain.table_io import write_json
from snaketrain.tracking.mlflow_mirror import production_alias_command, tracking_from

STAGE = "rollback_model"


def run(input, output, params, log, threads=1, tracking=None):
    with stage_logging(log[0], STAGE) as logger:
        migrated = registry.migrate(params.registry, params.name)
        if migrated:
            logger.warning("%s", migrated)
        version, previous = registry.rollback(params.registry, params.name, params.to)
        logger.info("production of %s: %s (rolled back from %s)", params.name, version, previous)
        print(f"snaketrain: production of {params.name} is now {version} (rolled back from {previous})")
        mirrored = production_alias_command(params.registry, params.name, tracking, logger)
        if mirrored:  # MLflow's production alias follows (tracking on); a refusal is a warning, never a failure
            logger.info("%s", mirrored)
            print(f"snaketrain: {mirrored}")
        write_json(
            {
                "name": params.name,
                "version": version,
                "previous": previous,
                "registry": params.registry,
                "rolled_back_at": registry.now_utc(),
            },
            output.receipt,
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", default="registry", help="registry folder (config: registry.path)")
    parser.add_argument("--name", required=True, help="registered model name (config: registry.model_name)")
    parser.add_argument("--to", help="version id to put in production (default: the previous production version)")
    args = parser.parse_args(argv)
    try:
        version, previous = registry.rollback(args.registry, args.name, args.to)
    except StageError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"production of {args.name} is now {version} (rolled back from {previous})")
    mirrored = production_alias_command(args.registry, args.name, tracking_from(None, os.environ))
    if mirrored:
        print(mirrored)
    return 0


if __name__ == "__main__":
    sys.exit(main())
