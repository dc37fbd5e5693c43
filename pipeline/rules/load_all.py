"""Import every rule module once so that all rules are registered."""

from pipeline.rules import cells, consistency, files, project, staff, structure  # noqa: F401
