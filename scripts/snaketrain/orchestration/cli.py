"""`snaketrain <command>`: one entry point for the project's commands (each also has its own console script)."""

import sys

COMMANDS = {
    "experiments": ("snaketrain.orchestration.experiments_table", "the table of experiments"),
    "history": ("snaketrain.orchestration.metrics_history", "a registered name's versions and metrics"),
    "rollback": ("snaketrain.stages.rollback_model", "point production back to an earlier version"),
    "serve": ("snaketrain.serving.service", "the HTTP model service"),
}


def usage():
    lines = ["usage: snaketrain <command> [options]   (snaketrain <command> --help)", "", "commands:"]
    lines += [f"  {name:<12} {about}" for name, (_, about) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv=None):
    import importlib

    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"snaketrain: unknown command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
