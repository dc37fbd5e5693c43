"""Docs generated from code must not drift from it."""

from pathlib import Path

from pipeline.rules import RULES
from pipeline.rules.catalogue import render

ROOT = Path(__file__).parent.parent


def test_rule_catalogue_is_current():
    on_disk = (ROOT / "docs" / "regeln.md").read_text(encoding="utf-8")
    assert on_disk == render(), "docs/regeln.md is stale: run `make catalogue`"


def test_every_rule_is_in_the_catalogue_with_a_german_message():
    text = render()
    for rule in RULES.values():
        assert f"`{rule.id}`" in text
        assert rule.message and rule.title and rule.basis


def test_readme_names_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make report" in readme and "make test" in readme
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("make test")
