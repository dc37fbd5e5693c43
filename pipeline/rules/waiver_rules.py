"""Rules about the analyst's waiver file (applied in pipeline/waivers.py)."""

from pipeline.findings import Severity
from pipeline.rules import declare

BASIS = "docs/waivers.md"
INCOMPLETE = declare(
    "AUSNAHME_UNVOLLSTAENDIG", Severity.WARNING, "Ausnahme unvollständig",
    "Die Ausnahme in Zeile {zeile} wird nicht angewendet: {was}. Bitte ergänzen Sie die "
    "Zeile (sha256 oder datei, regel, begruendung, von).", BASIS, "verzeichnis")
ON_ERROR = declare(
    "AUSNAHME_FUER_FEHLER", Severity.WARNING, "Fehler können nicht akzeptiert werden",
    "Die Ausnahme in Zeile {zeile} betrifft die Regel {regel}, die ein Fehler ist. Fehler "
    "können nicht akzeptiert werden; die Kommune muss die Angabe korrigieren.", BASIS,
    "verzeichnis")
UNUSED = declare(
    "AUSNAHME_OHNE_TREFFER", Severity.NOTE, "Ausnahme ohne Treffer",
    "Die Ausnahme in Zeile {zeile} ({regel}, Zelle {ziel}) passt zu keinem Befund dieses "
    "Laufs. Prüfen Sie sha256/datei, Regel und Zelle.", BASIS, "verzeichnis")
