"""Small inline SVG charts for the HTML overview, drawn in Python (no JS, no assets).

Every text that reaches the SVG goes through `markupsafe.escape`; the result is returned as
`Markup` so the autoescaping template embeds it as markup. Coordinates are rounded to one
decimal so the output is stable across platforms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

Number = Decimal | int | float


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Number]
    colour: str


def _n(x: float) -> str:
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _nice_max(top: float) -> float:
    """A round axis maximum ≥ top (1, 2, 2.5, 5 × 10^n)."""
    if top <= 0:
        return 1.0
    scale = 10 ** (len(str(int(top))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * scale >= top:
            return step * scale
    return 10.0 * scale


def columns(categories: Sequence[str], series: Sequence[Series], label: str,
            fmt: Callable[[Number], str], stacked: bool = True,
            width: int = 640, height: int = 260) -> Markup:
    """Vertical (stacked) columns per category, with a y axis of four gridlines."""
    left, right, top, bottom = 70, 10, 10, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(float(s.values[i]) for s in series) if stacked
              else max((float(s.values[i]) for s in series), default=0.0)
              for i in range(len(categories))]
    y_max = _nice_max(max(totals, default=0.0))
    slot = plot_w / max(len(categories), 1)
    bar = slot * (0.6 if stacked else 0.6 / max(len(series), 1))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(label)}">',
             f"<title>{escape(label)}</title>"]
    for k in range(5):
        y = top + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{_n(y)}" y2="{_n(y)}" '
                     'stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{_n(y + 4)}" text-anchor="end" '
                     f'font-size="11">{escape(fmt(y_max * k / 4))}</text>')
    for i, cat in enumerate(categories):
        x0 = left + slot * i + (slot - (bar if stacked else bar * len(series))) / 2
        base = 0.0
        for j, s in enumerate(series):
            v = float(s.values[i])
            h = plot_h * v / y_max
            x = x0 if stacked else x0 + j * bar
            y = top + plot_h - h - (plot_h * base / y_max if stacked else 0)
            parts.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(bar)}" height="{_n(h)}" '
                         f'fill="{s.colour}"><title>{escape(cat)}: {escape(s.name)} '
                         f"{escape(fmt(s.values[i]))}</title></rect>")
            base += v if stacked else 0
        parts.append(f'<text x="{_n(left + slot * i + slot / 2)}" y="{height - bottom + 16}" '
                     f'text-anchor="middle" font-size="11">{escape(cat)}</text>')
    parts.append(_legend(series, left, height - 14))
    parts.append("</svg>")
    return Markup("".join(parts))


def _legend(series: Sequence[Series], x: float, y: float) -> str:
    out = []
    for s in series:
        out.append(f'<rect x="{_n(x)}" y="{_n(y - 9)}" width="10" height="10" '
                   f'fill="{s.colour}"/><text x="{_n(x + 14)}" y="{_n(y)}" '
                   f'font-size="11">{escape(s.name)}</text>')
        x += 24 + 6.5 * len(s.name)
    return "".join(out)


def progress_bars(labels: Sequence[str], used: Sequence[Number],
                  limits: Sequence[Number | None], label: str,
                  fmt: Callable[[Number], str], width: int = 640) -> Markup:
    """One horizontal bar per label: the limit as a light track, `used` in front of it."""
    left, right, row_h = 190, 150, 20
    height = row_h * len(labels) + 10
    plot_w = width - left - right
    top_value = max([float(v) for v in limits if v is not None]
                    + [float(v) for v in used] + [1.0])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(label)}">',
             f"<title>{escape(label)}</title>"]
    for i, (name, value, limit) in enumerate(zip(labels, used, limits, strict=True)):
        y = 5 + i * row_h
        short = name if len(name) <= 28 else name[:27] + "…"
        parts.append(f'<text x="{left - 6}" y="{_n(y + 13)}" text-anchor="end" '
                     f'font-size="11">{escape(short)}</text>')
        if limit is not None:
            parts.append(f'<rect x="{left}" y="{_n(y + 3)}" height="12" fill="#dbe5f1" '
                         f'width="{_n(plot_w * float(limit) / top_value)}"/>')
        parts.append(f'<rect x="{left}" y="{_n(y + 3)}" height="12" fill="#2f5597" '
                     f'width="{_n(plot_w * float(value) / top_value)}"><title>'
                     f"{escape(name)}: {escape(fmt(value))}</title></rect>")
        share = f" ({float(value) / float(limit):.0%})".replace("%", " %") if limit else ""
        parts.append(f'<text x="{width - right + 6}" y="{_n(y + 13)}" font-size="11">'
                     f"{escape(fmt(value))}{escape(share)}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
