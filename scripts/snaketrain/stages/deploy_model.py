"""Promote the registered version to production of its name with an atomic update of the name's pointer.

Compare-and-swap: production moves only if it is still the version the gate compared the candidate with
(the decision's compared_with). Another run sharing the registry may have promoted since; then the deploy
fails, the version stays registered and production stays as that run left it, until the gate is run again.

With experiments, one deploy per registered name gets the gate decisions of the name's experiments (params
experiments, in the same order) and the registry receipts of those that passed, and promotes the best of
them (model_registry.best_candidate: the selection metric, a tie to the experiment name sorting first).
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


def candidates(experiments, decision_paths, receipt_paths):
    """One candidate per experiment ({experiment, version, value, passed, metric, compared_with}); the receipts
    are those of the passed experiments, in the experiments' order."""
    decisions = [read_json(path) for path in decision_paths]
    passed = [experiment for experiment, decision in zip(experiments, decisions, strict=True) if decision["passed"]]
    if len(passed) != len(receipt_paths):
        raise StageError(
            STAGE,
            f"{len(passed)} experiment(s) passed the gate ({', '.join(passed) or 'none'}) but "
            f"{len(receipt_paths)} registry receipt(s) came with them",
            "this is a workflow bug (deploy_inputs in workflow/rules/common.smk): report it",
        )
    versions = dict(zip(passed, (read_json(path)["version"] for path in receipt_paths), strict=True))
    found = []
    for experiment, decision, where in zip(experiments, decisions, decision_paths, strict=True):
        entry = {"experiment": experiment, "version": versions.get(experiment), "passed": decision["passed"]}
        entry.update({"value": decision["value"], "metric": decision["metric"]})
        if decision["passed"]:
            entry["compared_with"] = expected_production(decision, str(where))
        found.append(entry)
    return found


def choose(found, name):
    """The passed candidate to promote, or None; refused when the passed ones rank by different metrics (their
    values cannot be compared)."""
    metrics = {c["metric"] for c in found if c["passed"]}
    if len(metrics) > 1:
        ranked = ", ".join(f"{c['experiment']} ({c['metric']})" for c in found if c["passed"])
        raise StageError(
            STAGE,
            f"the experiments registering under {name} rank their models by different metrics: {ranked}",
            "give them one selection.metric, or give them different registry.model_name",
            "selection.metric",
        )
    if not metrics:
        return None
    return registry.best_candidate(found, "higher" if higher_is_better(metrics.pop()) else "lower")


def promote(params, version, expected):
    try:
        return registry.promote(params.registry, version, params.name, expected=expected)
    except registry.ProductionMoved as moved:
        raise moved_error(moved) from None


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        receipt = {"name": params.name, "registry": params.registry}
        experiments = getattr(params, "experiments", None)  # set only when the run has experiments
        if experiments is None:
            version = read_json(input.receipt)["version"]
            expected = expected_production(read_json(input.decision), str(input.decision))
        else:
            found = candidates(list(experiments), list(input.decision), list(getattr(input, "receipt", [])))
            best = choose(found, params.name)
            shown = [{k: c[k] for k in ("experiment", "version", "value", "passed")} for c in found]
            receipt.update({"candidates": shown, "experiment": best and best["experiment"]})
            if best is None:
                logger.info("no experiment registering under %s passed its gate: production unchanged", params.name)
                write_json({**receipt, "version": None, "reason": "no experiment passed its gate"}, output.receipt)
                return
            logger.info("best of %d experiment(s) under %s: %s", len(found), params.name, best["experiment"])
            version, expected = best["version"], best["compared_with"]
        previous = promote(params, version, expected)
        logger.info("production of %s: %s (was %s)", params.name, version, previous)
        receipt.update({"version": version, "previous": previous, "promoted_at": registry.now_utc()})
        write_json(receipt, output.receipt)
