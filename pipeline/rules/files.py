"""File-level rules: raised by intake when a file is not a readable KISI workbook."""

from __future__ import annotations

from pipeline.findings import Severity
from pipeline.rules import declare

E, W, H = Severity.ERROR, Severity.WARNING, Severity.NOTE
BASIS = "Vertrag Abschnitt 2 (Vorlage)"

# Keyed by the reader's XlsxError codes.
UNREADABLE = {
    "empty": declare("DATEI_LEER", E, "Datei ist leer",
                     "Die Datei ist leer (0 Byte). Bitte senden Sie den ausgefüllten "
                     "Quartalsbericht erneut als .xlsx-Datei.", BASIS, "datei"),
    "too_large": declare("DATEI_ZU_GROSS", E, "Datei zu groß",
                         "Die Datei ist {groesse} groß; erlaubt sind höchstens {grenze}. "
                         "Bitte entfernen Sie Bilder oder fremde Blätter und senden Sie "
                         "nur den Quartalsbericht.", BASIS, "datei"),
    "not_zip": declare("DATEI_KEIN_EXCEL", E, "Keine Excel-Datei",
                       "Die Datei ist keine Excel-Arbeitsmappe (.xlsx), sondern {art}. "
                       "Bitte öffnen Sie die KISI-Vorlage, tragen Sie die Angaben dort ein "
                       "und speichern Sie als „Excel-Arbeitsmappe (.xlsx)“.", BASIS, "datei"),
    "xls": declare("DATEI_XLS", E, "Altes Excel-Format (.xls)",
                   "Die Datei ist im alten Excel-Format (.xls) gespeichert. Bitte öffnen Sie "
                   "sie und speichern Sie sie mit „Speichern unter“ als „Excel-Arbeitsmappe "
                   "(.xlsx)“.", BASIS, "datei"),
    "encrypted": declare("DATEI_PASSWORT", E, "Datei mit Kennwort geschützt",
                         "Die Datei ist mit einem Kennwort verschlüsselt und kann nicht gelesen "
                         "werden. Bitte entfernen Sie das Kennwort (Datei > Informationen > "
                         "Arbeitsmappe schützen) und senden Sie die Datei erneut.", BASIS,
                         "datei"),
    "corrupt": declare("DATEI_BESCHAEDIGT", E, "Datei beschädigt",
                       "Die Datei ist beschädigt oder unvollständig ({detail}). Bitte speichern "
                       "Sie den Bericht erneut und senden Sie ihn noch einmal.", BASIS, "datei"),
    "not_workbook": declare("DATEI_KEINE_ARBEITSMAPPE", E, "Keine Arbeitsmappe",
                            "Die Datei ist ein ZIP-Archiv, aber keine Excel-Arbeitsmappe. "
                            "Bitte senden Sie den Quartalsbericht als .xlsx-Datei.", BASIS,
                            "datei"),
    "zip_bomb": declare("DATEI_ENTPACKT_ZU_GROSS", E, "Entpackt zu groß",
                        "Die Datei würde entpackt unzulässig groß ({detail}) und wurde aus "
                        "Sicherheitsgründen nicht gelesen. Bitte senden Sie die "
                        "unveränderte KISI-Vorlage.", "Sicherheitsgrenzen (docs/security.md)",
                        "datei"),
    "too_many_members": declare("DATEI_ZU_VIELE_TEILE", E, "Zu viele Bestandteile",
                                "Die Datei enthält ungewöhnlich viele Bestandteile ({detail}) "
                                "und wurde nicht gelesen. Bitte senden Sie die unveränderte "
                                "KISI-Vorlage.", "Sicherheitsgrenzen (docs/security.md)",
                                "datei"),
    "dtd": declare("DATEI_XML_UNZULAESSIG", E, "Unzulässige XML-Inhalte",
                   "Die Datei enthält unzulässige XML-Bestandteile (DTD/Entitäten in {detail}) "
                   "und wurde aus Sicherheitsgründen nicht gelesen. Bitte speichern Sie den "
                   "Bericht mit Excel oder LibreOffice neu.", "Sicherheitsgrenzen "
                   "(docs/security.md)", "datei"),
    "bad_xml": declare("DATEI_XML_FEHLERHAFT", E, "Fehlerhaftes XML",
                       "Ein Bestandteil der Datei ist fehlerhaft ({detail}). Bitte speichern Sie "
                       "den Bericht mit Excel oder LibreOffice neu.", BASIS, "datei"),
    "too_many_cells": declare("DATEI_ZU_VIELE_ZELLEN", E, "Zu viele Zellen",
                              "Die Datei enthält mehr Zellen als erlaubt ({detail}). Bitte "
                              "senden Sie nur den Quartalsbericht ohne weitere Daten.",
                              "Sicherheitsgrenzen (docs/security.md)", "datei"),
}

FOREIGN = declare("DATEI_FREMD", E, "Keine KISI-Vorlage",
                  "Die Arbeitsmappe ist kein KISI-Quartalsbericht: der Name VORLAGE_ID fehlt und "
                  "keine der Tabellen tblPersonal, tblBelege, tblMassnahmen ist vorhanden. "
                  "Bitte verwenden Sie die vom Ministerium versandte Vorlage.", BASIS, "datei")
NOT_EXCEL_NAME = declare("DATEI_TYP", E, "Dateityp nicht unterstützt",
                         "Die Datei „{name}“ ist keine Excel-Datei (.xlsx/.xlsm) und wurde nicht "
                         "ausgewertet. Bitte senden Sie den Quartalsbericht als .xlsx.", BASIS,
                         "datei")
MACROS = declare("DATEI_MAKROS", H, "Makros ignoriert",
                 "Die Datei enthält Makros. Makros werden nie ausgeführt und in keine Ausgabe "
                 "übernommen; bitte senden Sie künftig eine .xlsx-Datei ohne Makros.",
                 "Sicherheitsgrenzen (docs/security.md)", "datei")
EXTERNAL = declare("DATEI_EXTERNE_BEZUEGE", H, "Bezüge auf andere Dateien",
                   "Die Arbeitsmappe enthält {anzahl} Bezug/Bezüge auf andere Dateien. Es werden "
                   "nur die gespeicherten Werte verwendet; bitte tragen Sie Zahlen direkt ein.",
                   BASIS, "datei")

CONTAINER = {
    "DATEI_ZU_GROSS": UNREADABLE["too_large"],
    "EMAIL_OHNE_ANHANG": declare(
        "EMAIL_OHNE_ANHANG", E, "E-Mail ohne Excel-Anhang",
        "Die E-Mail enthält keinen Excel-Anhang (gefundene Anhänge: {anhaenge}). Bitte senden "
        "Sie den Quartalsbericht als .xlsx-Datei im Anhang.", BASIS, "datei"),
    "ARCHIV_UNLESBAR": declare(
        "ARCHIV_UNLESBAR", E, "ZIP-Archiv nicht lesbar",
        "Das ZIP-Archiv oder ein Teil davon konnte nicht gelesen werden ({detail}). Bitte "
        "senden Sie die Berichte einzeln als .xlsx-Dateien.", BASIS, "datei"),
    "ARCHIV_ZU_TIEF": declare(
        "ARCHIV_ZU_TIEF", E, "ZIP-Archive zu tief verschachtelt",
        "Das ZIP-Archiv enthält mehr als {grenze} ineinander verschachtelte Archive und wurde "
        "nicht weiter entpackt. Bitte senden Sie die Berichte einzeln als .xlsx-Dateien.",
        "Sicherheitsgrenzen (docs/security.md)", "datei"),
    "ARCHIV_LEER": declare(
        "ARCHIV_LEER", E, "ZIP-Archiv leer",
        "Das ZIP-Archiv enthält keine Dateien. Bitte senden Sie den Quartalsbericht als "
        ".xlsx-Datei.", BASIS, "datei"),
}

CRASH = declare("DATEI_ABSTURZ", E, "Datei bringt das Lesen zum Absturz",
                "Beim Lesen dieser Datei ist der Prüfprozess abgebrochen (Speicher oder "
                "beschädigter Inhalt). Die Datei wurde nicht ausgewertet; bitte speichern Sie "
                "den Bericht neu und senden Sie ihn noch einmal.",
                "Sicherheitsgrenzen (docs/security.md)", "datei")

TRUNCATED = declare("BEFUNDE_GEKUERZT", H, "Weitere Befunde zusammengefasst",
                    "Die Regel {regel} trifft in dieser Datei noch {anzahl}-mal zu; die ersten "
                    "{grenze} Fälle sind einzeln aufgeführt. Bitte prüfen Sie die ganze Spalte "
                    "bzw. Tabelle.", "Sicherheitsgrenzen (docs/security.md)", "datei")
INTERNAL = declare("DATEI_INTERNER_FEHLER", E, "Interner Fehler beim Prüfen",
                   "Beim Prüfen dieser Datei ist ein interner Fehler aufgetreten ({detail}). "
                   "Die Datei wurde nicht ausgewertet; bitte melden Sie dies dem "
                   "KISI-Team (Datei und Prüfsumme angeben).",
                   "Sicherheitsgrenzen (docs/security.md)", "datei")
