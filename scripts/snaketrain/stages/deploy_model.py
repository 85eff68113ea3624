"""Promote the registered version to production of its name with an atomic update of the name's pointer.

Compare-and-swap: production moves only if it is still the version the gate compared the candidate with
(the decision's compared_with). Another run sharing the registry may have promoted since; then the deploy
fails, the version stays registered and production stays as that run left it, until the gate is run again.
"""

from snaketrain.model_metrics import higher_is_better
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


def chosen_candidate(decision_paths, receipt_paths, experiments):
    """With experiments registering under one name: (the experiment, its decision, its receipt) to promote, the best
    passed one by the selection metric (ties: experiment name), and every candidate for the receipt; receipts come
    in the order of the passed decisions."""
    decisions = [read_json(path) for path in decision_paths]
    receipts = iter(read_json(path) for path in receipt_paths)
    candidates = []
    for experiment, decision in zip(experiments, decisions, strict=True):
        receipt = next(receipts) if decision["passed"] else None
        candidates.append(
            {
                "experiment": experiment,
                "version": receipt["version"] if receipt else None,
                "value": decision["value"],
                "passed": decision["passed"],
                "decision": decision,
            }
        )
    metrics = {decision["metric"] for decision in decisions}
    if len(metrics) > 1:
        raise StageError(
            STAGE,
            f"the experiments registering under one name select by different metrics ({', '.join(sorted(metrics))})",
            "give them one selection.metric, or different registry.model_name",
            ", ".join(experiments),
        )
    direction = "higher" if higher_is_better(metrics.pop()) else "lower"
    return registry.best_candidate(candidates, direction), candidates


def promote(params, version, decision, where):
    expected = expected_production(decision, where)
    try:
        return registry.promote(params.registry, version, params.name, expected=expected)
    except registry.ProductionMoved as moved:
        raise moved_error(moved) from None


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        experiments = getattr(params, "experiments", None)  # set only when the run has experiments
        receipt = {"name": params.name, "registry": params.registry}
        if experiments is None:
            version = read_json(input.receipt)["version"]
            previous = promote(params, version, read_json(input.decision), str(input.decision))
        else:
            best, candidates = chosen_candidate(list(input.decision), list(input.receipt), experiments)
            receipt["candidates"] = [
                {k: c[k] for k in ("experiment", "version", "value", "passed")} for c in candidates
            ]
            if best is None:
                logger.info("no experiment registering under %s passed its gate: production stays", params.name)
                receipt.update(version=None, reason="no experiment passed its gate")
                write_json(receipt, output.receipt)
                return
            version = best["version"]
            previous = promote(params, version, best["decision"], f"experiment {best['experiment']}'s gate decision")
            logger.info("best of %d experiments under %s: %s", len(candidates), params.name, best["experiment"])
            receipt["experiment"] = best["experiment"]
        logger.info("production of %s: %s (was %s)", params.name, version, previous)
        receipt.update(version=version, previous=previous, promoted_at=registry.now_utc())
        write_json(receipt, output.receipt)
