"""A digest of a stage module and the snaketrain modules it imports, carried by each rule as a param.

Snakemake's code trigger sees a rule's run: block, not the modules it imports; with this digest as a
param, editing a module reruns exactly the rules whose stage imports it (directly or through others).
"""

import functools
import hashlib
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# `from snaketrain.X import ...` and `from snaketrain import X [as Y], Z ...` (or in parentheses), at any indentation
IMPORT = re.compile(r"^[ \t]*from snaketrain(?:\.(\w+) import| import (?:\(([^)]*)\)|([\w \t,]+)))", re.M)


def imported_modules(source):
    """The snaketrain modules a module's source imports, in order of appearance."""
    found = []
    for dotted, listed, bare in IMPORT.findall(source):
        if dotted:
            found.append(dotted)
        else:  # every name of the list, without its `as` alias
            found += [name.split()[0] for name in (listed or bare).split(",") if name.strip()]
    return found


@functools.cache
def module_digest(module, package=PACKAGE):
    """16 hex digits that change when the module or any snaketrain module it imports changes."""
    digest, seen, pending = hashlib.sha256(), set(), [module]
    while pending:
        name = pending.pop()
        path = Path(package) / f"{name}.py"
        if name in seen or not path.is_file():
            continue
        seen.add(name)
        source = path.read_bytes()
        digest.update(name.encode() + b"\0" + source)
        pending += imported_modules(source.decode("utf-8"))
    return digest.hexdigest()[:16]
