"""The exit contract's metric over time, as a server-rendered SVG for the initiative page.

No JavaScript and no chart library: ``metric_chart`` takes the contract and the
measurements and returns a :class:`MetricChart`: the drawing in two layouts and a
one-sentence summary (the text alternative; the page's measurements table carries every
value).

- ``svg`` is 720 units wide, for the page's main column at desktop width (drawn at about
  its nominal size there); the baseline and target are labelled in a right margin.
- ``svg_narrow`` is 360 units wide, for a phone (about 330 px at 390 px: text stays near
  its nominal size, nothing scrolls); the line labels sit inside the plot.

The page's Content Security Policy forbids style attributes, so every colour comes from a
class (``mc-…``) styled in static/css/app.css; sizes are presentation attributes. Every
label is escaped (``format_html``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils.html import format_html
from django.utils.safestring import SafeString

from portfolio import svg
from portfolio.models import MetricDirection
from portfolio.outcomes.contract import format_value, meets
from portfolio.svg import coordinate as _n
from portfolio.svg import element as _el
from portfolio.svg import join as _join
from portfolio.svg import nice_step

LABEL_GAP = 17   # the least vertical distance between the baseline's and the target's labels


@dataclass(frozen=True)
class Layout:
    name: str
    width: int
    left: int
    right: int           # the plot's right edge
    top: int
    bottom: int
    months: int          # at most this many month ticks
    labels_outside: bool  # baseline and target labelled in the right margin, else inside

    @property
    def height(self) -> int:
        return self.bottom + 50


WIDE = Layout("wide", 720, 70, 570, 40, 270, 7, True)
NARROW = Layout("narrow", 360, 44, 350, 34, 224, 4, False)


@dataclass(frozen=True)
class Point:
    measured_on: date
    value: Decimal


@dataclass(frozen=True)
class MetricChart:
    title: str
    summary: str
    svg: SafeString          # the desktop layout
    svg_narrow: SafeString   # the phone layout


def _day(day: date) -> str:
    return f"{day:%-d %b %Y}"


def _text(x: float, y: float, content: object, *, size: int = 13, class_: str = "mc-label",
          anchor: str = "start", **attrs) -> SafeString:
    return _el("text", content, x=float(x), y=float(y), font_size=size, class_=class_,
               text_anchor=anchor, **attrs)


def _grouped(value: Decimal, unit: str) -> str:
    """``format_value`` with thousands separated: 2500000 and "EUR" -> "2,500,000 EUR"."""
    plain, text = format_value(value), format_value(value, unit)
    return text.replace(plain, f"{value.normalize():,f}", 1) if abs(value) >= 1000 else text


def _unit_on_ticks(unit: str) -> bool:
    """Whether the value axis's ticks carry the unit ("40%"), or it is named once above
    them ("minutes")."""
    return unit in ("%", "‰") or len(unit) <= 1


def _tick(value: float, unit: str) -> str:
    """A value axis tick: 2500000 -> "2.5M", 25000 -> "25k", 12.5 -> "12.5"."""
    for least, size, suffix in ((1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if abs(value) >= least:
            number = Decimal(str(round(value / size, 3)))
            return format_value(number) + suffix
    number = Decimal(str(round(value, 6)))
    return format_value(number, unit) if _unit_on_ticks(unit) else format_value(number)


def _y_scale(values: Sequence[float]) -> tuple[float, float, float]:
    """(lowest tick, highest tick, step) covering ``values`` with round numbers; a scale of
    values that are all zero or more starts at zero when that costs less than half of it."""
    low, high = min(values), max(values)
    span = high - low
    if span == 0:
        span = abs(high) or 1.0
        low, high = low - span / 2, high + span / 2
    if 0 <= low <= span:
        low = 0.0
    step = nice_step(high - low)
    bottom = math.floor(low / step + 1e-9) * step
    top = math.ceil(high / step - 1e-9) * step
    if top - high < step * 0.15:   # room above the highest point for its label
        top += step
    return bottom, top, step


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _month_ticks(start: date, end: date, limit: int) -> list[date]:
    """First days of months between ``start`` and ``end``, at most ``limit`` of them."""
    months = []
    day = date(start.year, start.month, 1)
    if day < start:
        day = _next_month(day)
    while day <= end:
        months.append(day)
        day = _next_month(day)
    every = max(1, math.ceil(len(months) / limit))
    return months[::every]


def _spread(positions: list[float], gap: float = LABEL_GAP) -> list[float]:
    """Label positions (y) moved apart so that no two are closer than ``gap``."""
    order = sorted(range(len(positions)), key=lambda i: positions[i])
    placed = list(positions)
    for before, after in zip(order, order[1:], strict=False):
        if placed[after] - placed[before] < gap:
            middle = (placed[after] + placed[before]) / 2
            placed[before], placed[after] = middle - gap / 2, middle + gap / 2
    return placed


@dataclass(frozen=True)
class _Data:
    metric: str
    unit: str
    direction: str
    baseline: Decimal | None
    target: Decimal | None
    window_start: date | None
    window_end: date | None
    points: tuple[Point, ...]

    @property
    def judged(self) -> bool:
        return self.target is not None and self.direction in MetricDirection.values

    def met(self, point: Point) -> bool:
        return self.judged and meets(self.direction, point.value, self.target)


def metric_chart(*, metric: str, unit: str, direction: str, baseline: Decimal | None,
                 target: Decimal | None, window_start: date | None, window_end: date | None,
                 points: Sequence[Point]) -> MetricChart | None:
    """The metric over time: each measurement a point, the baseline and the target as
    labelled horizontal lines, the measurement window shaded. None when there is nothing
    to draw (no measurement, and no baseline or target, or no time to draw them over)."""
    has_window = window_start is not None and window_end is not None
    data = _Data(metric or "The success metric", unit, direction, baseline, target,
                 window_start if has_window else None, window_end if has_window else None,
                 tuple(sorted(points, key=lambda point: point.measured_on)))
    if not data.points and (not has_window or (baseline is None and target is None)):
        return None
    title = f"{data.metric} over time"
    summary = _summary(data)
    return MetricChart(title=title, summary=summary,
                       svg=_draw(data, WIDE, title=title, summary=summary),
                       svg_narrow=_draw(data, NARROW, title=title, summary=summary))


def _draw(data: _Data, layout: Layout, *, title: str, summary: str) -> SafeString:
    unit, points = data.unit, data.points
    left, right, top, bottom = layout.left, layout.right, layout.top, layout.bottom
    # The time axis: the window and every measurement, a little room either side.
    days = [point.measured_on for point in points]
    if data.window_start:
        days += [data.window_start, data.window_end]
    first, last = min(days), max(days)
    pad = timedelta(days=max(3, (last - first).days // 25))
    first, last = first - pad, last + pad
    span_days = max((last - first).days, 1)

    def sx(day: date) -> float:
        return left + (right - left) * (day - first).days / span_days

    levels = [float(v) for v in (data.baseline, data.target) if v is not None]
    low, high, step = _y_scale(levels + [float(p.value) for p in points])

    def sy(value: Decimal | float) -> float:
        return bottom - (bottom - top) * (float(value) - low) / (high - low)

    parts: list[SafeString] = []
    # The measurement window, shaded, named on top.
    if data.window_start:
        x1, x2 = sx(data.window_start), sx(data.window_end + timedelta(days=1))
        parts.append(_el("rect", _el("title", f"Measurement window: {_day(data.window_start)}"
                                              f" – {_day(data.window_end)}"),
                         x=x1, y=float(top), width=max(x2 - x1, 2.0),
                         height=float(bottom - top), class_="mc-window"))
        label = "Measurement window"
        width = len(label) * 7.2
        if x2 - x1 >= width:
            parts.append(_text((x1 + x2) / 2, top - 10, label, anchor="middle",
                               class_="mc-window-label"))
        elif x1 + width <= layout.width:
            parts.append(_text(x1, top - 10, label, class_="mc-window-label"))
        else:
            parts.append(_text(x2, top - 10, label, anchor="end", class_="mc-window-label"))
    # The value grid.
    for index in range(round((high - low) / step) + 1):
        value = low + index * step
        y = sy(value)
        parts.append(_el("line", x1=float(left), x2=float(right), y1=y, y2=y,
                         class_="mc-axis" if index == 0 else "mc-grid"))
        parts.append(_text(left - 7, y + 4, _tick(value, unit), size=12, anchor="end",
                           class_="mc-tick"))
    if unit and not _unit_on_ticks(unit):
        parts.append(_text(4, top - 10, unit, size=12, class_="mc-tick"))
    # The time axis: months, with the year on the first tick of each year.
    months = _month_ticks(first, last, layout.months)
    for index, day in enumerate(months):
        x = sx(day)
        parts.append(_el("line", x1=x, x2=x, y1=float(bottom), y2=float(bottom + 5),
                         class_="mc-axis"))
        new_year = index == 0 or months[index - 1].year != day.year
        label = f"{day:%b %Y}" if new_year else f"{day:%b}"
        parts.append(_text(x, bottom + 20, label, size=12, anchor="middle", class_="mc-tick"))

    # Baseline and target, labelled where they end (wide) or above them at the left (narrow).
    lines = [(name, value, css) for name, value, css in (
        ("Baseline", data.baseline, "mc-baseline"), ("Target", data.target, "mc-target"))
        if value is not None]
    # In the right margin a label too long for one line takes two: the name, the value.
    margin_chars = (layout.width - right - 10) / 7.6
    two_lines = layout.labels_outside and any(
        len(f"{name} {_grouped(value, unit)}") > margin_chars for name, value, _ in lines)
    if layout.labels_outside:
        label_ys = _spread([sy(value) + (-3 if two_lines else 4) for _, value, _ in lines],
                           gap=LABEL_GAP * 2 if two_lines else LABEL_GAP)
    else:
        label_ys = _spread([sy(value) - 6 for _, value, _ in lines])
    for (name, value, css), label_y in zip(lines, label_ys, strict=True):
        y = sy(value)
        text = f"{name} {_grouped(value, unit)}"
        parts.append(_el("line", _el("title", text), x1=float(left), x2=float(right),
                         y1=y, y2=y, class_=css))
        if two_lines:
            x = _n(right + 8)
            parts.append(_text(right + 8, label_y, format_html(
                '{}<tspan x="{}" dy="15">{}</tspan>', name, x, _grouped(value, unit)),
                size=13, class_=f"{css}-label", font_weight="600"))
        elif layout.labels_outside:
            parts.append(_text(right + 8, label_y, text, size=13, class_=f"{css}-label",
                               font_weight="600"))
        else:
            # Above the line, at whichever end no measurement's point is in the way.
            width = len(text) * 7.4
            spots = [(left + 4, "start", left + 4, left + 4 + width),
                     (right - 4, "end", right - 4 - width, right - 4)]
            x, anchor = next(((x, anchor) for x, anchor, x1, x2 in spots if not any(
                x1 - 8 <= sx(p.measured_on) <= x2 + 8
                and label_y - 22 <= sy(p.value) <= label_y + 8 for p in points)),
                spots[0][:2])
            parts.append(_text(x, label_y, text, size=12, anchor=anchor,
                               class_=f"{css}-label mc-halo", font_weight="600"))

    # The measurements: a line through them, a point each, the latest labelled.
    if len(points) > 1:
        parts.append(_el("polyline", points=" ".join(
            f"{_n(sx(p.measured_on))},{_n(sy(p.value))}" for p in points), class_="mc-line"))
    for point in points:
        met = data.met(point)
        text = f"{_day(point.measured_on)}: {format_value(point.value, unit)}"
        if data.judged:
            text += " (meets the target)" if met else " (short of the target)"
        parts.append(_el("circle", _el("title", text), cx=sx(point.measured_on),
                         cy=sy(point.value), r=6 if layout.labels_outside else 5,
                         class_="mc-point mc-point-met" if met else "mc-point"))
    if points:
        latest = points[-1]
        x, y = sx(latest.measured_on), sy(latest.value)
        label = _grouped(latest.value, unit)
        half = len(label) * 3.8
        anchor = ("end" if x + half > right else "start" if x - half < left else "middle")
        parts.append(_text({"end": x + 6, "start": x - 6}.get(anchor, x), y - 12,
                           label, size=13, anchor=anchor,
                           class_="mc-value", font_weight="700"))
    else:
        parts.append(_text((left + right) / 2, (top + bottom) / 2 + 5, "No measurement yet",
                           size=15, anchor="middle", class_="mc-empty mc-halo"))

    # What the points' colours mean.
    if points and data.judged:
        items = [("mc-point", "Short of the target"), ("mc-point mc-point-met",
                                                        "Meets the target")]
        x = float(left)
        for css, label in items:
            parts.append(_el("circle", cx=x + 6, cy=float(bottom + 41), r=5, class_=css))
            parts.append(_text(x + 16, bottom + 45, label, size=12, class_="mc-tick"))
            x += 16 + len(label) * 6.6 + 18

    chart_id = svg.chart_id("metric-chart", (layout.name, data))
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="metric-chart metric-chart-{name}" '
        'viewBox="0 0 {w} {h}" width="100%" role="img" '
        'aria-labelledby="{id}-title {id}-desc" font-size="13">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{summary}</desc>'
        "{body}</svg>",
        name=layout.name, w=layout.width, h=layout.height, id=chart_id, title=title,
        summary=summary, body=_join(parts))


def _summary(data: _Data) -> str:
    unit, points = data.unit, data.points
    parts = []
    if points:
        latest = points[-1]
        parts.append(f"{len(points)} measurement{'s' if len(points) != 1 else ''}, the latest "
                     f"{format_value(latest.value, unit)} on {_day(latest.measured_on)}")
    else:
        parts.append("no measurement yet")
    goal = []
    if data.target is not None:
        goal.append(f"target {format_value(data.target, unit)}")
    if data.baseline is not None:
        goal.append(f"baseline {format_value(data.baseline, unit)}")
    if goal:
        parts.append(", ".join(goal))
    if data.direction in MetricDirection.values:
        parts.append(MetricDirection(data.direction).label.lower())
    if data.window_start:
        parts.append(f"measurement window {_day(data.window_start)} – "
                     f"{_day(data.window_end)}")
    return f"{data.metric}: " + "; ".join(parts) + "."
