"""A digest of a stage module and the snaketrain modules it imports, carried by each rule as a param.

Snakemake's code trigger sees a rule's run: block, not the modules it imports; with this digest as a
param, editing a module reruns exactly the rules whose stage imports it (directly or through others).
Modules are named by their dotted path inside the package: "stages.split_data", "registry.inference", "table_io".
"""

import functools
import hashlib
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
# `from snaketrain[.a.b] import x [as y], z ...` (or in parentheses), at any indentation
IMPORT = re.compile(r"^[ \t]*from snaketrain((?:\.\w+)*) import (?:\(([^)]*)\)|([\w \t,]+))", re.M)


def imported_modules(source, package=PACKAGE):
    """The snaketrain modules a module's source imports, in order of appearance.

    `from snaketrain.a import x` imports module a when a.py exists; otherwise a is a subpackage and x its module.
    """
    found = []
    for dotted, listed, bare in IMPORT.findall(source):
        base = dotted.lstrip(".")
        if base and (Path(package) / (base.replace(".", "/") + ".py")).is_file():
            found.append(base)
            continue
        for name in (listed or bare).split(","):
            if name.strip():  # every name of the list, without its `as` alias
                found.append(f"{base}.{name.split()[0]}" if base else name.split()[0])
    return found


@functools.cache
def module_digest(module, package=PACKAGE):
    """16 hex digits that change when the module or any snaketrain module it imports changes."""
    digest, seen, pending = hashlib.sha256(), set(), [module]
    while pending:
        name = pending.pop()
        path = Path(package) / (name.replace(".", "/") + ".py")
        if name in seen or not path.is_file():
            continue
        seen.add(name)
        source = path.read_bytes()
        digest.update(name.encode() + b"\0" + source)
        pending += imported_modules(source.decode("utf-8"), package)
    return digest.hexdigest()[:16]


def stage_code(rule):
    """The code digest of a rule's stage module (stages/<rule>.py)."""
    return module_digest(f"stages.{rule}")
