"""German subject lines and bodies of the feedback emails (plain text)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pipeline.feedback.model import (
    COLOUR_WORDS,
    SEVERITY_ORDER,
    ReportInfo,
    german_datetime,
    place_text,
    plural,
)
from pipeline.findings import Finding, Severity, count
from pipeline.rules.fmt import fmt

SIGN_OFF = "Mit freundlichen Grüßen\nIhr KISI-Team im HMSI, Referat V2"
TOP_FINDINGS = 3
NO_RECIPIENT = ("[Hinweis für das KISI-Team: Für diese Einsendung ist keine E-Mail-Adresse "
                "bekannt (weder im Projektverzeichnis noch in der Datei). Bitte tragen Sie "
                "den Empfänger ein und löschen Sie diesen Absatz vor dem Senden.]")
SEVERITY_WORDS = {Severity.ERROR: ("Fehler", "Fehler"), Severity.WARNING: ("Warnung",
                  "Warnungen"), Severity.NOTE: ("Hinweis", "Hinweise")}


@dataclass(frozen=True)
class Letter:
    subject: str
    body: str


def one_line(text: str, limit: int = 120) -> str:
    """Municipal text for a header or a single line: no line breaks, bounded length."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _counts_short(findings: Sequence[Finding]) -> str:
    parts = [plural(count(list(findings), s), *SEVERITY_WORDS[s]) for s in SEVERITY_ORDER
             if count(list(findings), s)]
    return ", ".join(parts)


def subject(info: ReportInfo, findings: Sequence[Finding], clean_text: str) -> str:
    head = "KISI-Quartalsbericht"
    period = info.zeitraum.split(" (")[0]
    if period:
        head += f" {period}"
    if info.name or info.ags:
        head += f" – {info.name or info.ags}"
    return one_line(f"{head}: {_counts_short(findings) or clean_text}", 200)


def _received(info: ReportInfo) -> str:
    when = f" am {german_datetime(info.eingang)}" if info.eingang else ""
    return f"Eingegangen ist die Datei „{one_line(info.datei, 200)}“{when}."


def _opening(info: ReportInfo, has_recipient: bool) -> list[str]:
    lines = [] if has_recipient else [NO_RECIPIENT, ""]
    about = "vielen Dank für Ihren KISI-Quartalsbericht"
    if info.zeitraum:
        about += f" {info.zeitraum}"
    if info.name:
        about += f" für {info.name}"
    lines += ["Guten Tag,", "", about + ".", _received(info), ""]
    return lines


def top_findings(findings: Sequence[Finding], limit: int = TOP_FINDINGS) -> list[str]:
    ordered = sorted(findings, key=lambda f: (f.schwere.rank, not f.zelle))
    lines = []
    for n, f in enumerate(ordered[:limit], start=1):
        lines += [f"{n}. {f.schwere.value} – {place_text(f)}:", f"   {f.meldung}"]
    rest = len(ordered) - limit
    if rest > 0:
        lines.append(f"Weitere {plural(rest, 'Punkt', 'Punkte')} finden Sie im Blatt "
                     "„Prüfbericht“ der angehängten Datei.")
    return lines


def _deadline(frist: date | None, today: date) -> str:
    if frist is None:
        return "so bald wie möglich"
    if today > frist:
        return (f"so bald wie möglich (die Abgabefrist am {fmt(frist)} ist bereits "
                "verstrichen)")
    return f"bis zum {fmt(frist)}"


def findings_letter(info: ReportInfo, findings: Sequence[Finding], attachment: str,
                    today: date, marked: bool = True, has_recipient: bool = True) -> Letter:
    errors = count(list(findings), Severity.ERROR)
    body = _opening(info, has_recipient)
    body += [f"Bei der Prüfung haben wir {_counts_short(findings)} gefunden.", info.ergebnis,
             "", "Die wichtigsten Punkte:", *top_findings(findings), "", "So geht es weiter:"]
    colours = ", ".join(f"{COLOUR_WORDS[s]} = {s.value}" for s in SEVERITY_ORDER)
    if marked:
        body.append(f"Im Anhang finden Sie Ihre eigene Datei als „{attachment}“ mit markierten "
                    f"Zellen ({colours}). An jeder markierten Zelle steht ein Kommentar mit "
                    "der Erläuterung; das erste Blatt „Prüfbericht“ listet alle Punkte mit "
                    "Links zu den Zellen.")
    else:
        body.append(f"Im Anhang finden Sie den Prüfbericht „{attachment}“ mit allen Punkten.")
    if errors:
        source = "in der angehängten Datei" if marked else "in Ihrer Datei"
        body.append(f"Bitte korrigieren Sie die rot markierten Zellen {source}, speichern Sie "
                    "sie als Excel-Arbeitsmappe (.xlsx) und senden Sie sie "
                    f"{_deadline(info.frist, today)} erneut an uns. Markierungen und das Blatt "
                    "„Prüfbericht“ dürfen in der Datei bleiben.")
    else:
        body.append("Ihr Bericht ist verwendbar. Bitte sehen Sie sich die markierten Zellen "
                    "an; nur wenn Sie dabei etwas korrigieren, senden Sie die Datei bitte "
                    "erneut.")
    body += ["", "Bei Fragen antworten Sie einfach auf diese E-Mail.", "", SIGN_OFF]
    return Letter(subject(info, findings, ""), "\n".join(body) + "\n")


def confirmation_letter(info: ReportInfo, figures: Sequence[tuple[str, str]],
                        attachment: str, has_recipient: bool = True) -> Letter:
    body = _opening(info, has_recipient)
    body.append("Die Prüfung hat keine Fehler, Warnungen oder Hinweise ergeben: Ihr Bericht "
                "ist vollständig und wird verwendet. Sie müssen nichts weiter tun.")
    if figures:
        body += ["", "Die wichtigsten Zahlen dieses Quartals:",
                 *(f"- {label}: {value}" for label, value in figures)]
    body += ["", f"Die Eingangsbestätigung finden Sie im Anhang („{attachment}“).", "",
             SIGN_OFF]
    return Letter(subject(info, (), "Eingang bestätigt, vollständig"), "\n".join(body) + "\n")


def rejected_letter(info: ReportInfo, findings: Sequence[Finding], today: date,
                    has_recipient: bool = True) -> Letter:
    lines = [] if has_recipient else [NO_RECIPIENT, ""]
    when = f"am {german_datetime(info.eingang)} " if info.eingang else ""
    lines += ["Guten Tag,", "",
              f"{when}ist bei uns die Datei „{one_line(info.datei, 200)}“ eingegangen. Wir "
              "konnten sie leider nicht als KISI-Quartalsbericht auswerten:", ""]
    lines += [f"- {f.meldung}" for f in findings]
    lines += ["", "Bitte senden Sie Ihren Quartalsbericht als ausgefüllte KISI-Vorlage im "
              f"Format „Excel-Arbeitsmappe (.xlsx)“ {_deadline(info.frist, today)} erneut an "
              "uns.", "", "Bei Fragen antworten Sie einfach auf diese E-Mail.", "", SIGN_OFF]
    head = f"KISI-Quartalsbericht: Datei „{one_line(info.datei, 80)}“ nicht lesbar"
    return Letter(one_line(head, 200), "\n".join(lines) + "\n")
