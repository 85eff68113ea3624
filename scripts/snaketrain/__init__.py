"""snaketrain's stage code: one module per workflow rule, plus the shared ground-floor modules they import.

A stage module (named after its rule) imports ground-floor modules only, never another stage: each rule's
code digest follows its module's imports, so a sideways import would make one stage's edit rerun another.
"""
