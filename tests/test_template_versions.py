"""Version-1 workbooks stay readable with the spec of version 1 after version 2 exists."""

from __future__ import annotations

import shutil

import pytest

import pipeline.spec as spec_module
from pipeline.spec import load_programme, load_template, template_versions
from pipeline.template import build_workbook
from pipeline.template.sample import MUSTERSTADT, valid_data
from tests.support import check, only


@pytest.fixture
def with_version_2(tmp_path, monkeypatch):
    """A fabricated version 2: one more count field, and a renamed table column."""
    specs = tmp_path / "spec"
    specs.mkdir()
    v1 = (spec_module.SPEC_DIR / "vorlage_v1.toml").read_text(encoding="utf-8")
    shutil.copy(spec_module.SPEC_DIR / "programm.toml", specs / "programm.toml")
    (specs / "vorlage_v1.toml").write_text(v1, encoding="utf-8")
    v2 = v1.replace('version = "1"', 'version = "2"', 1)
    v2 = v2.replace('name = "Empfaenger"', 'name = "Zahlungsempfaenger"')
    v2 += ('\n[[fields]]\nname = "TN_DIGITAL"\nsheet = "Angaben"\nsection = "Neu"\n'
           'type = "int"\nmin = 0\nlabel = "digital beraten"\nhelp = "neu in v2"\n'
           'required = true\n')
    (specs / "vorlage_v2.toml").write_text(v2, encoding="utf-8")
    monkeypatch.setattr(spec_module, "SPEC_DIR", specs)
    load_template.cache_clear()
    yield
    load_template.cache_clear()


def test_both_versions_are_read_with_their_own_spec(with_version_2, tmp_path):
    assert template_versions() == ["1", "2"]
    prog = load_programme()
    v1, v2 = load_template("1"), load_template("2")
    old = build_workbook(tmp_path / "v1.xlsx", MUSTERSTADT, valid_data(MUSTERSTADT, v1, prog),
                         spec=v1)
    data = valid_data(MUSTERSTADT, v2, prog)
    data.values["TN_DIGITAL"] = 4
    for row in data.rows["tblBelege"]:
        row["Zahlungsempfaenger"] = row.pop("Empfaenger")
    new = build_workbook(tmp_path / "v2.xlsx", MUSTERSTADT, data, spec=v2)
    checked_old, checked_new = check(old), check(new)
    assert checked_new.findings == []
    note = only(checked_old, "VORLAGE_ALT")  # read, with a note to use the current template
    assert note.schwere.value == "Hinweis" and "Version 2" in note.meldung
    assert checked_old.errors == 0 and len(checked_old.findings) == 1
    assert checked_old.submission.spec.version == "1"
    assert "TN_DIGITAL" not in checked_old.submission.fields
    assert checked_new.submission.get("TN_DIGITAL") == 4
    assert checked_new.submission.tables["tblBelege"][0].values["Zahlungsempfaenger"].ok


def test_an_unknown_newer_version_gets_a_clear_message(with_version_2, tmp_path):
    v1 = load_template("1")
    data = valid_data(MUSTERSTADT, v1, load_programme())
    data.values["VORLAGE_VERSION"] = "3"
    checked = check(build_workbook(tmp_path / "v3.xlsx", MUSTERSTADT, data, spec=v1))
    f = only(checked, "VORLAGE_VERSION")
    assert "1, 2" in f.meldung and "Version 2" in f.meldung
