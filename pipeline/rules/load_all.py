"""Import every rule module once so that all rules are registered."""

from pipeline.rules import (  # noqa: F401
    cells,
    consistency,
    files,
    project,
    registry_rules,
    staff,
    structure,
    waiver_rules,
)
