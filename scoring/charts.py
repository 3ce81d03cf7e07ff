"""Server-rendered SVG charts for the leadership dashboard.

No JavaScript, no CDN, no chart library: each function takes plain Python data and
returns a :class:`Chart` — the SVG, a one-sentence summary and the data as a table,
the text alternative shown under the chart.

The page's Content Security Policy forbids inline styles, so colours and fonts are
SVG presentation attributes (``fill="#24408e"``), never ``style="..."``. Every label
comes from user data and is escaped (``format_html`` / ``escape``).

The drawing is 720 units wide; the SVG scales to its container (``width="100%"``),
so at 720px wide the smallest text is 12px.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from portfolio import svg
from portfolio.models import STAGE_ORDER, Stage
from portfolio.svg import coordinate as _n
from portfolio.svg import element as _el
from portfolio.svg import join as _join

WIDTH = 720
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif"

# The palette of static/css/app.css (SVG presentation attributes cannot read CSS variables).
INK = "#1d2330"
MUTED = "#5b6475"
LINE = "#dfe3ea"
GRID = "#eef1f6"
BRAND = "#24408e"
BRAND_LIGHT = "#9db3e8"
OK = "#1f7a4a"
OK_LIGHT = "#9fd8b5"
WARN = "#a15c00"
ORANGE = "#e07b00"
BAD = "#b42318"
GREY = "#c9ced8"
PALE = "#f6f7f9"
WHITE = "#ffffff"

NO_DATA = "No data yet"
HEAT_MAP_ROW_LIMIT = 40
# Value versus effort draws and tables at most this many initiatives, the most valuable.
SCATTER_LIMIT = 300
# Capacity versus demand draws and tables at most this many teams, the most over-committed.
CAPACITY_TEAM_LIMIT = 40


@dataclass(frozen=True)
class Chart:
    title: str
    summary: str                 # one sentence: the chart's text alternative
    svg: SafeString
    headers: list[str]           # the data table, the accessible alternative
    rows: list[list[str]]

    @property
    def empty(self) -> bool:
        return not self.rows


# --- SVG building blocks ---------------------------------------------------------------------

def _num(value: float | None) -> str:
    """A value for people: whole numbers without decimals, others with one."""
    if value is None:
        return "—"
    if abs(value - round(value)) < 0.05:
        return f"{round(value):,}"
    return f"{value:,.1f}"


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def _truncate(text: str, length: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _text(x: float, y: float, content: object, *, size: int = 14, fill: str = INK,
          anchor: str = "start", weight: str | None = None, **attrs) -> SafeString:
    return _el("text", content, x=float(x), y=float(y), font_size=size, fill=fill,
               text_anchor=anchor, font_weight=weight, **attrs)


def _tip(text: str) -> SafeString:
    """A tooltip: a <title> child of the shape it describes."""
    return _el("title", text)


def _svg(kind: str, data: object, *, title: str, summary: str, height: float,
         body: SafeString) -> SafeString:
    chart_id = svg.chart_id(f"chart-{kind}", data)
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg chart-{kind}" '
        'viewBox="0 0 {w} {h}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc" '
        'font-family="{font}" font-size="14" fill="{ink}">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{summary}</desc>'
        "{body}</svg>",
        kind=kind, w=WIDTH, h=_n(height), id=chart_id, font=FONT, ink=INK,
        title=title, summary=summary, body=body,
    )


def _empty(kind: str, title: str, headers: list[str], message: str = NO_DATA) -> Chart:
    summary = f"{title}: {message.lower()}."
    body = _join([
        _el("rect", x=1.0, y=1.0, width=WIDTH - 2, height=118.0, rx=8, fill=PALE,
            stroke=LINE, stroke_dasharray="6 4"),
        _text(WIDTH / 2, 66, message, size=16, fill=MUTED, anchor="middle"),
    ])
    return Chart(title=title, summary=summary, headers=headers, rows=[],
                 svg=_svg(kind, (), title=title, summary=summary, height=120, body=body))


def _nice_scale(top: float, ticks: int = 5, *, integer: bool = False) -> tuple[float, float]:
    """(axis maximum, tick step): a round step, at most ``ticks`` steps covering ``top``."""
    if top <= 0:
        return (float(ticks) if integer else 1.0), (1.0 if integer else 0.2)
    step = svg.nice_step(top, ticks)
    if integer:
        step = max(1.0, float(math.ceil(step)))
    return step * math.ceil(top / step - 1e-9), step


def _ticks(maximum: float, step: float) -> list[float]:
    count = int(round(maximum / step))
    return [step * i for i in range(count + 1)]


def _legend(x: float, y: float, items: Sequence[tuple[SafeString, str]], *,
            gap: float = 22) -> tuple[SafeString, float]:
    """A horizontal legend: (swatch drawn at 0,0 centred, label). Returns it and its width."""
    parts, cursor = [], x
    for swatch, label in items:
        parts.append(format_html('<g transform="translate({} {})">{}</g>',
                                 _n(cursor + 7), _n(y - 5), swatch))
        parts.append(_text(cursor + 20, y, label, size=13, fill=INK))
        cursor += 20 + len(label) * 7.2 + gap
    return _join(parts), cursor - x


def _square(fill: str, stroke: str | None = None) -> SafeString:
    return _el("rect", x=-7.0, y=-7.0, width=14, height=14, rx=2, fill=fill,
               stroke=stroke or fill)


# --- 1. Stage funnel -------------------------------------------------------------------------

def _stage_label(stage: str) -> str:
    try:
        return Stage(stage).label
    except ValueError:
        return str(stage)


def stage_funnel(counts: Sequence[tuple[str, int]]) -> Chart:
    """Initiatives per stage, one horizontal bar each, in lifecycle order (idea → scaled).

    ``counts``: ``(stage, count)`` with stage codes (``"pilot"``) or any other label.
    Paused and retired are off the lifecycle: a muted footnote, not bars.
    """
    title = "Stage funnel"
    headers = ["Stage", "Initiatives"]
    off_codes = {Stage.PAUSED.value, Stage.RETIRED.value}
    order = {stage.value: i for i, stage in enumerate(STAGE_ORDER)}
    on = [(str(s), int(c)) for s, c in counts if str(s) not in off_codes]
    on.sort(key=lambda item: order.get(item[0], len(order)))
    off = sorted(((str(s), int(c)) for s, c in counts if str(s) in off_codes),
                 key=lambda item: item[0] != Stage.PAUSED.value)
    rows = [[_stage_label(s), str(c)] for s, c in on + off]
    if not counts or not any(c for _, c in counts):
        return _empty("funnel", title, headers)

    total = sum(c for _, c in on)
    left, right = 140, WIDTH - 70
    bar_h, pitch, top = 24, 34, 16
    biggest = max((c for _, c in on), default=0) or 1
    parts = []
    for i, (stage, count) in enumerate(on):
        y = top + i * pitch
        width = (right - left) * count / biggest
        label = _stage_label(stage)
        parts.append(_text(left - 10, y + 17, _truncate(label, 16), anchor="end",
                           weight="600"))
        parts.append(_el("rect", x=float(left), y=float(y), width=float(WIDTH - 70 - left),
                         height=bar_h, rx=3, fill=GRID))
        if count:
            parts.append(_el("rect", _tip(f"{label}: {count}"), x=float(left), y=float(y),
                             width=max(width, 2.0), height=bar_h, rx=3, fill=BRAND))
        share = f" ({round(100 * count / total)}%)" if total else ""
        parts.append(_text(left + max(width, 0) + 8, y + 17, f"{count}{share}",
                           weight="600"))
    height = top + len(on) * pitch + 4
    if off:
        footnote = "Beside the lifecycle: " + " · ".join(
            f"{_stage_label(s)} {c}" for s, c in off)
        parts.append(_text(left, height + 18, footnote, size=13, fill=MUTED))
        height += 30

    if on:
        leader = max(on, key=lambda item: item[1])
        summary = (f"{_plural(total, 'initiative')} on the lifecycle, the most in "
                   f"{_stage_label(leader[0])} ({leader[1]})")
    else:
        summary = "No initiative is on the lifecycle"
    if off:
        summary += "; " + " and ".join(f"{c} {_stage_label(s).lower()}" for s, c in off)
    summary += "."
    return Chart(title=title, summary=summary, headers=headers, rows=rows,
                 svg=_svg("funnel", counts, title=title, summary=summary, height=height,
                          body=_join(parts)))


# --- 2. Capacity versus demand ---------------------------------------------------------------

def capacity_vs_demand(
    teams: Sequence[tuple[str, float | None, float, float]],
) -> Chart:
    """Per team: capacity against demand, with the funded part of demand as an overlay.

    ``teams``: ``(team, capacity or None when the team has no plan, demand, funded)``,
    all in engineer-weeks. Demand above capacity is drawn red with "+N over". Beyond
    ``CAPACITY_TEAM_LIMIT`` teams only the most over-committed (then the most demanding)
    are drawn, in that order; the summary says so.
    """
    title = "Capacity versus demand"
    headers = ["Team", "Capacity (eng-weeks)", "Demand (eng-weeks)", "Funded (eng-weeks)",
               "Status"]
    if not teams:
        return _empty("capacity", title, headers)
    total = len(teams)
    if total > CAPACITY_TEAM_LIMIT:
        teams = sorted(teams, key=lambda t: (-(t[2] - (t[1] or 0)), -t[2], str(t[0])))
        teams = teams[:CAPACITY_TEAM_LIMIT]

    rows, over_teams, unplanned = [], [], []
    for name, capacity, demand, funded in teams:
        if capacity is None:
            status = "No plan"
            unplanned.append(name)
        elif demand > capacity:
            status = f"Over by {_num(demand - capacity)}"
            over_teams.append(name)
        else:
            status = f"{round(100 * demand / capacity)}% used" if capacity else "Within"
        rows.append([str(name), "no plan" if capacity is None else _num(capacity),
                     _num(demand), _num(funded), status])

    left, right = 170, WIDTH - 180
    top = 44
    bar_h, group_h = 16, 50
    maximum, step = _nice_scale(max(
        [c or 0 for _, c, _, _ in teams] + [d for _, _, d, _ in teams] + [1]))
    def scale(v: float) -> float:
        return left + (right - left) * max(v, 0) / maximum

    plot_bottom = top + group_h * len(teams)
    parts = []
    legend, _ = _legend(left, 18, [
        (_square(GREY), "Capacity"), (_square(BRAND), "Demand"),
        (_el("rect", x=-7.0, y=-2.5, width=14, height=5, fill=OK), "Funded"),
        (_square(BAD), "Over capacity"),
    ])
    parts.append(legend)
    for tick in _ticks(maximum, step):
        x = scale(tick)
        parts.append(_el("line", x1=x, x2=x, y1=float(top - 6), y2=float(plot_bottom),
                         stroke=GRID if tick else LINE))
        parts.append(_text(x, plot_bottom + 18, _num(tick), size=12, fill=MUTED,
                           anchor="middle"))
    parts.append(_text((left + right) / 2, plot_bottom + 38, "Engineer-weeks", size=13,
                       fill=MUTED, anchor="middle"))

    for i, (name, capacity, demand, funded) in enumerate(teams):
        y = top + i * group_h
        over = capacity is not None and demand > capacity
        short = _truncate(name, 18)
        if short != str(name):
            short = format_html("{}{}", short, _tip(str(name)))
        parts.append(_text(left - 10, y + 25, short, anchor="end", weight="600",
                           fill=BAD if over else INK))
        # Capacity bar.
        if capacity is None:
            parts.append(_el("rect", x=float(left), y=float(y), width=float(right - left),
                             height=bar_h, fill=WHITE, stroke=GREY, stroke_dasharray="4 3"))
            parts.append(_text(left + 8, y + 13, "no plan", size=12, fill=MUTED))
        else:
            parts.append(_el("rect", _tip(f"{name}: capacity {_num(capacity)} eng-weeks"),
                             x=float(left), y=float(y), width=max(scale(capacity) - left, 1.0),
                             height=bar_h, fill=GREY))
            parts.append(_text(scale(capacity) + 6, y + 13, f"{_num(capacity)} capacity",
                               size=12, fill=MUTED))
        # Demand bar, the funded part inside it.
        y2 = y + bar_h + 2
        colour = BAD if over else BRAND
        parts.append(_el("rect", _tip(f"{name}: demand {_num(demand)}, funded {_num(funded)}"),
                         x=float(left), y=float(y2), width=max(scale(demand) - left, 1.0),
                         height=bar_h, fill=colour))
        if funded > 0:
            parts.append(_el("rect", x=float(left), y=y2 + bar_h / 2 - 2.5,
                             width=max(scale(funded) - left, 1.0), height=5, fill=OK,
                             stroke=WHITE, stroke_width=1))
        label = f"{_num(demand)} demand"
        if over:
            label += f" · +{_num(demand - capacity)} over"
        parts.append(_text(scale(demand) + 6, y2 + 13, label, size=12,
                           fill=BAD if over else INK, weight="600" if over else None))
        if capacity is not None and over:
            x = scale(capacity)
            parts.append(_el("line", x1=x, x2=x, y1=float(y - 3), y2=y2 + bar_h + 3,
                             stroke=INK, stroke_width=2))
    height = plot_bottom + 50

    summary = f"{_plural(len(teams), 'team')}"
    if total > len(teams):
        summary = (f"The {len(teams)} most over-committed of {total} teams (filter by team "
                   "to see another)")
    if over_teams:
        summary += (f"; over-committed: {', '.join(str(t) for t in over_teams[:5])}"
                    + (f" and {len(over_teams) - 5} more" if len(over_teams) > 5 else ""))
    else:
        summary += "; none is over-committed"
    if unplanned:
        summary += f"; {_plural(len(unplanned), 'team')} without a capacity plan"
    summary += "."
    return Chart(title=title, summary=summary, headers=headers, rows=rows,
                 svg=_svg("capacity", teams, title=title, summary=summary, height=height,
                          body=_join(parts)))


# --- 3. Value versus effort ------------------------------------------------------------------

STATUS_STYLE = {
    # status: (legend label, fill, stroke, shape)
    "committed": ("Committed", BRAND, BRAND, "square"),
    "funded": ("Fund next", OK, OK, "circle"),
    "funded_blocked": ("Funded but blocked", ORANGE, WARN, "diamond"),
    "below_line": ("Below the line", WHITE, MUTED, "circle"),
}
OTHER_STYLE = ("Other", BRAND_LIGHT, BRAND, "square")


def _status_style(status: str) -> tuple[str, str, str, str]:
    return STATUS_STYLE.get(status, OTHER_STYLE)


def _marker(shape: str, fill: str, stroke: str, tip: SafeString | None = None,
            cx: float = 0.0, cy: float = 0.0, r: float = 6.0) -> SafeString:
    if shape == "circle":
        return _el("circle", tip, cx=cx, cy=cy, r=r, fill=fill, stroke=stroke,
                   stroke_width=2)
    if shape == "diamond":
        d = r * 1.35
        corners = [(cx, cy - d), (cx + d, cy), (cx, cy + d), (cx - d, cy)]
        points = " ".join(f"{_n(px)},{_n(py)}" for px, py in corners)
        return _el("polygon", tip, points=points, fill=fill, stroke=stroke, stroke_width=1.5)
    return _el("rect", tip, x=cx - r, y=cy - r, width=2 * r, height=2 * r, fill=fill,
               stroke=stroke, stroke_width=1.5)


LOG_SCALE_RATIO = 50  # max ÷ min score above which the value axis is logarithmic


def value_vs_effort(points: Sequence[tuple[str, float, float | None, str]]) -> Chart:
    """A scatter: effort (engineer-weeks) across, value (the score) up, shaped by status.

    ``points``: ``(title, effort, value or None, status)``; status is ``"committed"``,
    ``"funded"`` (fund next), ``"below_line"``, ``"funded_blocked"`` (committed or fund
    next, and blocked) or anything else ("Other"). The five most
    valuable are labelled; unscorable points (value None) appear only in the table.
    """
    title = "Value versus effort"
    headers = ["Initiative", "Effort (eng-weeks)", "Value (score)", "Status"]
    ordered = sorted(points, key=lambda p: (p[2] is None, -(p[2] or 0), str(p[0])))
    shown = ordered[:SCATTER_LIMIT]  # the most valuable; a larger cloud says nothing more
    rows = [[str(label), _num(effort), "not scorable" if value is None else _num(value),
             _status_style(status)[0] if status in STATUS_STYLE else str(status or "Other")]
            for label, effort, value, status in shown]
    plotted = [p for p in shown if p[2] is not None and p[1] is not None]
    if not plotted:
        chart = _empty("scatter", title, headers,
                       NO_DATA if not points else "No scorable initiative yet")
        return Chart(title=chart.title, summary=chart.summary, svg=chart.svg,
                     headers=headers, rows=rows)

    left, right, top, bottom = 70, WIDTH - 20, 44, 380
    x_max, x_step = _nice_scale(max(p[1] for p in plotted))
    values = [p[2] for p in plotted]
    # Scores of one model can span orders of magnitude (RICE: 5 to 30,000); a log scale
    # keeps the bulk readable instead of flattening it under one outlier.
    log_scale = min(values) > 0 and max(values) / min(values) > LOG_SCALE_RATIO
    if log_scale:
        low, high = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
        high = max(high, low + 1)
        y_ticks = [10.0 ** exponent for exponent in range(low, high + 1)]

        def sy(v: float) -> float:
            return bottom - (bottom - top) * (math.log10(v) - low) / (high - low)
    else:
        y_min = min(0.0, min(values))
        y_max, y_step = _nice_scale(max(values) - y_min)
        y_max += y_min
        y_ticks = [tick + y_min for tick in _ticks(y_max - y_min, y_step)]

        def sy(v: float) -> float:
            return bottom - (bottom - top) * (v - y_min) / (y_max - y_min)

    def sx(v: float) -> float:
        return left + (right - left) * v / x_max

    parts = []
    used = {s for _, _, _, s in plotted}
    items = [(_marker(shape, fill, stroke), label)
             for status, (label, fill, stroke, shape) in STATUS_STYLE.items() if status in used]
    if used - set(STATUS_STYLE):
        label, fill, stroke, shape = OTHER_STYLE
        items.append((_marker(shape, fill, stroke), label))
    legend, _ = _legend(left, 18, items)
    parts.append(legend)
    for tick in _ticks(x_max, x_step):
        x = sx(tick)
        parts.append(_el("line", x1=x, x2=x, y1=float(top), y2=float(bottom),
                         stroke=GRID if tick else LINE))
        parts.append(_text(x, bottom + 18, _num(tick), size=12, fill=MUTED, anchor="middle"))
    for index, tick in enumerate(y_ticks):
        y = sy(tick)
        parts.append(_el("line", x1=float(left), x2=float(right), y1=y, y2=y,
                         stroke=LINE if index == 0 else GRID))
        parts.append(_text(left - 8, y + 4, _num(tick), size=12, fill=MUTED, anchor="end"))
    parts.append(_text((left + right) / 2, bottom + 40, "Effort (engineer-weeks)", size=13,
                       fill=MUTED, anchor="middle"))
    parts.append(_text(18, (top + bottom) / 2,
                       "Value (score, log scale)" if log_scale else "Value (score)",
                       size=13, fill=MUTED,
                       anchor="middle", transform=f"rotate(-90 18 {_n((top + bottom) / 2)})"))

    # Least valuable first so the labelled ones are drawn on top.
    for label, effort, value, status in reversed(plotted):
        name, fill, stroke, shape = _status_style(status)
        tip = _tip(f"{label}: effort {_num(effort)}, value {_num(value)}, {name.lower()}")
        parts.append(_marker(shape, fill, stroke, tip, cx=sx(effort), cy=sy(value)))

    placed: list[tuple[float, float, float, float]] = []
    for label, effort, value, _status in plotted[:5]:
        text = _truncate(label, 26)
        width = len(text) * 7.0 + 4
        x, y = sx(effort), sy(value)
        anchor, tx = ("start", x + 11) if x + 11 + width <= right else ("end", x - 11)
        ty = y + 4
        for _ in range(8):
            box = (tx if anchor == "start" else tx - width, ty - 12, width, 15)
            if not any(_overlaps(box, other) for other in placed):
                break
            ty += 15
        placed.append(box)
        parts.append(_text(tx, ty, text, size=12, anchor=anchor, weight="600",
                           stroke=WHITE, stroke_width=3, paint_order="stroke"))

    unscorable = len(shown) - len(plotted)
    best = plotted[0]
    summary = f"{_plural(len(plotted), 'initiative')} plotted"
    if len(points) > len(shown):
        summary += f" (the {len(shown)} most valuable of {len(points):,})"
    summary += (f"; the most valuable is {best[0]} ({_num(best[2])} for {_num(best[1])} "
                "engineer-weeks)")
    if unscorable:
        summary += f"; {unscorable} not scorable, listed in the table only"
    summary += "."
    return Chart(title=title, summary=summary, headers=headers, rows=rows,
                 svg=_svg("scatter", shown, title=title, summary=summary,
                          height=bottom + 52, body=_join(parts)))


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


# --- 4. Pilot age distribution ---------------------------------------------------------------

BUCKET_DAYS = 30
MAX_BUCKETS = 12


def _bucket_labels(count: int) -> list[str]:
    labels = []
    for i in range(count):
        low = 0 if i == 0 else BUCKET_DAYS * i + 1
        labels.append(f"{low}–{BUCKET_DAYS * (i + 1)}")
    return labels


def pilot_age_distribution(ages_in_days: Sequence[int], *, max_days: int) -> Chart:
    """Pilots by age in 30-day buckets, with the stalled threshold as a dashed line.

    Buckets run 0–30, 31–60, … up to at least one bucket past ``max_days`` (and no more
    than twelve); older pilots fall into the last, "> N" bucket. A pilot older than
    ``max_days`` is stalled.
    """
    title = "Pilot age distribution"
    headers = ["Days in pilot", "Pilots"]
    ages = sorted(max(0, int(a)) for a in ages_in_days)
    if not ages:
        return _empty("pilot-age", title, headers)

    threshold_buckets = math.ceil(max(max_days, 1) / BUCKET_DAYS)
    data_buckets = math.ceil(max(ages[-1], 1) / BUCKET_DAYS)
    count = min(max(threshold_buckets + 1, data_buckets), MAX_BUCKETS)
    limit = BUCKET_DAYS * count
    labels = _bucket_labels(count) + [f"> {limit}"]
    counts = [0] * (count + 1)
    for age in ages:
        counts[min(max(math.ceil(age / BUCKET_DAYS) - 1, 0), count)] += 1
    rows = [[label, str(n)] for label, n in zip(labels, counts, strict=True)]

    left, right, top, bottom = 60, WIDTH - 16, 40, 300
    y_max, y_step = _nice_scale(max(counts), integer=True)
    slot = (right - left) / len(counts)

    def sy(v: float) -> float:
        return bottom - (bottom - top) * v / y_max

    parts = []
    for tick in _ticks(y_max, y_step):
        y = sy(tick)
        parts.append(_el("line", x1=float(left), x2=float(right), y1=y, y2=y,
                         stroke=LINE if tick == 0 else GRID))
        parts.append(_text(left - 8, y + 4, _num(tick), size=12, fill=MUTED, anchor="end"))
    for i, (label, n) in enumerate(zip(labels, counts, strict=True)):
        x = left + i * slot
        stalled = i == count or BUCKET_DAYS * i >= max_days
        if n:
            parts.append(_el("rect", _tip(f"{label} days: {n}"), x=x + 4, y=sy(n),
                             width=slot - 8, height=bottom - sy(n), rx=2,
                             fill=BAD if stalled else BRAND))
            parts.append(_text(x + slot / 2, sy(n) - 6, n, size=13, anchor="middle",
                               weight="600", fill=BAD if stalled else INK))
        parts.append(_text(x + slot / 2, bottom + 18, label, size=12 if slot > 52 else 11.5,
                           fill=MUTED, anchor="middle"))
    parts.append(_text((left + right) / 2, bottom + 40, "Days in pilot", size=13, fill=MUTED,
                       anchor="middle"))
    parts.append(_text(16, (top + bottom) / 2, "Pilots", size=13, fill=MUTED,
                       anchor="middle", transform=f"rotate(-90 16 {_n((top + bottom) / 2)})"))

    x = left + slot * min(max_days / BUCKET_DAYS, count)
    parts.append(_el("line", x1=x, x2=x, y1=float(top - 16), y2=float(bottom), stroke=BAD,
                     stroke_width=2, stroke_dasharray="6 4"))
    label = f"longest pilot: {max_days} days"
    anchor, tx = ("end", x - 6) if x + 6 + len(label) * 7 > right else ("start", x + 6)
    parts.append(_text(tx, top - 20, label, size=13, fill=BAD, anchor=anchor, weight="600"))

    # Not "stalled": the stalled pilots are the open flags of the daily stall detection
    # (older, or idle too long, and not yet decided); this counts ages only.
    longer = sum(1 for a in ages if a > max_days)
    summary = (f"{_plural(len(ages), 'pilot')}, median age "
               f"{_num(statistics.median(ages))} days; {longer} in pilot longer than "
               f"{max_days} days, the longest a pilot should run.")
    return Chart(title=title, summary=summary, headers=headers, rows=rows,
                 svg=_svg("pilot-age", (tuple(ages), max_days), title=title, summary=summary,
                          height=bottom + 52, body=_join(parts)))


# --- 5. Governance heat map ------------------------------------------------------------------

HEAT_STYLE = {
    # status: (legend label, fill, glyph colour, glyph)
    "approved": ("Approved", OK, WHITE, "✓"),
    "waived": ("Waived", OK_LIGHT, INK, "W"),
    "in_review": ("In review", BRAND_LIGHT, INK, "…"),
    "not_started": ("Not started", GREY, INK, ""),
    "rejected": ("Rejected", BAD, WHITE, "✕"),
    "waiver_expired": ("Waiver expired", ORANGE, WHITE, "!"),
    "not_applicable": ("Not applicable", PALE, MUTED, ""),
}


def governance_heat_map(
    columns: Sequence[str],
    rows: Sequence[tuple],
    *,
    limit: int = HEAT_MAP_ROW_LIMIT,
    out_of_compliance: int | None = None,
) -> Chart:
    """Initiatives × checkpoint types, each cell coloured by the checkpoint's status.

    ``rows``: ``(initiative, [(status, label), ...])`` with one cell per column, or
    ``(initiative, cells, out_of_compliance)``; out-of-compliance rows are marked.
    Only the first ``limit`` rows are drawn (and tabled); the summary says so.
    ``out_of_compliance``: how many the compliance KPI counts (the rows hold them first);
    the summary says how many of them are drawn, so the chart and the KPI agree.
    """
    title = "Governance heat map"
    headers = ["Initiative", *[str(c) for c in columns], "Out of compliance"]
    if not columns or not rows:
        return _empty("heat-map", title, headers)

    shown = list(rows[:limit])
    norm = [(str(r[0]), list(r[1]), bool(r[2]) if len(r) > 2 else False) for r in shown]
    table = [[label, *[cell_label for _, cell_label in cells], "yes" if flag else "no"]
             for label, cells, flag in norm]

    label_w = 230
    cell = max(24.0, min(56.0, (WIDTH - label_w - 10) / len(columns)))
    head_h = 130 if cell < 90 else 30
    top = 34 + head_h
    row_h = 24
    parts = []
    used = {status for _, cells, _ in norm for status, _ in cells}
    items = [(_join([_square(fill, LINE if status == "not_applicable" else fill),
                     _text(0, 4.5, glyph, size=12, fill=glyph_fill, anchor="middle",
                           weight="700") if glyph else mark_safe("")]), name)
             for status, (name, fill, glyph_fill, glyph) in HEAT_STYLE.items()
             if status in used]
    if any(flag for _, _, flag in norm):
        items.append((_text(0, 5, "●", size=13, fill=BAD, anchor="middle"),
                      "Out of compliance"))
    legend_rows = [items[:4], items[4:]] if len(items) > 4 else [items]
    legend_top = top + row_h * len(norm) + 26
    for i, line in enumerate(legend_rows):
        legend, _ = _legend(label_w - 220, legend_top + i * 24, line, gap=18)
        parts.append(legend)

    for j, column in enumerate(columns):
        x = label_w + j * cell + cell / 2
        text = _truncate(column, 22)
        parts.append(_el("text", format_html("{}{}", text, _tip(str(column))),
                         x=x, y=float(top - 8), font_size=12, fill=INK, text_anchor="start",
                         font_weight="600", transform=f"rotate(-45 {_n(x)} {top - 8})"))
    for i, (label, cells, flag) in enumerate(norm):
        y = top + i * row_h
        if i % 2:
            parts.append(_el("rect", x=0.0, y=float(y), width=label_w + cell * len(columns),
                             height=row_h, fill=PALE))
        text = ("● " if flag else "") + _truncate(label, 30 if not flag else 28)
        parts.append(_el("text", format_html("{}{}", text, _tip(
            label + (" — out of compliance" if flag else ""))),
            x=float(label_w - 8), y=y + 16.5, font_size=13, fill=BAD if flag else INK,
            text_anchor="end"))
        for j, (status, cell_label) in enumerate(cells[: len(columns)]):
            name, fill, glyph_fill, glyph = HEAT_STYLE.get(
                status, (str(status), WHITE, INK, "?"))
            x = label_w + j * cell
            tip = _tip(f"{label} · {columns[j]}: {cell_label}")
            parts.append(_el("rect", tip, x=x + 1.5, y=y + 1.5, width=cell - 3,
                             height=row_h - 3, rx=3, fill=fill,
                             stroke=LINE if status == "not_applicable" else fill))
            if glyph:
                parts.append(_text(x + cell / 2, y + 17, glyph, size=13, fill=glyph_fill,
                                   anchor="middle", weight="700"))
    height = legend_top + 24 * len(legend_rows) + 4
    if len(rows) > limit:
        parts.append(_text(label_w - 210, height + 8,
                           f"Showing the first {limit} of {len(rows)} initiatives.",
                           size=13, fill=MUTED))
        height += 22

    flagged = sum(1 for _, _, flag in norm if flag)
    summary = f"{_plural(len(columns), 'checkpoint type')} for "
    if len(rows) > limit:
        summary += f"the first {limit} of {len(rows)} initiatives"
    else:
        summary += _plural(len(rows), "initiative")
    cells_flat = [status for _, cells, _ in norm for status, _ in cells]
    applicable = [s for s in cells_flat if s != "not_applicable"]
    if applicable:
        cleared = sum(1 for s in applicable if s in ("approved", "waived"))
        summary += f"; {cleared} of {len(applicable)} applicable checkpoints cleared"
    if out_of_compliance is not None:
        if flagged >= out_of_compliance:
            summary += (f"; all {out_of_compliance} out of compliance shown first"
                        if out_of_compliance else "; none out of compliance")
        else:
            summary += (f"; {flagged} of the {out_of_compliance} out of compliance shown "
                        "(the best-ranked)")
    elif any(len(r) > 2 for r in shown):
        summary += f"; {flagged} out of compliance"
    summary += "."
    return Chart(title=title, summary=summary, headers=headers, rows=table,
                 svg=_svg("heat-map", (tuple(columns), tuple(map(repr, shown))), title=title,
                          summary=summary, height=height, body=_join(parts)))


def heat_map_chart(heat_map, *, limit: int = HEAT_MAP_ROW_LIMIT,
                   out_of_compliance: int | None = None) -> Chart:
    """Adapter: ``governance.selectors.heat_map``'s ``HeatMap`` to :func:`governance_heat_map`."""
    columns = [t.name for t in heat_map.types]
    rows = [(row.initiative.title,
             [(c.status, c.label + (" (overdue)" if c.overdue else "")) for c in row.cells],
             row.out_of_compliance)
            for row in heat_map.rows]
    return governance_heat_map(columns, rows, limit=limit, out_of_compliance=out_of_compliance)


# --- 6. Predicted versus realised value --------------------------------------------------------

VALUE_TEAM_LIMIT = 40


def _money(value: float, currency: str) -> str:
    """Compact money for a drawing: "EUR 240k", "EUR 1.2M", "EUR 950"."""
    size = abs(value)
    if size >= 1_000_000:
        text = f"{value / 1_000_000:.1f}".removesuffix(".0") + "M"
    elif size >= 1_000:
        text = f"{value / 1_000:.0f}k"
    else:
        text = f"{value:.0f}"
    return f"{currency} {text}"


def _held_low(predicted: float, realised: float, held_below: float) -> bool:
    """Whether the whole percent shown ("89% held") is below ``held_below``."""
    return bool(predicted) and round(100 * realised / predicted) < round(100 * held_below)


def value_by_team(teams: Sequence[tuple[str, float, float, int, int]], *, currency: str,
                  held_below: float = 0.9) -> Chart:
    """Per team: the annual value predicted for its reviewed initiatives against what their
    latest value reviews recorded, as two bars, with the share that held.

    ``teams``: ``(team, predicted of the reviewed, realised, reviewed, initiatives in or
    after production)``. A team whose initiatives have no recorded review yet gets a line
    saying so, not bars. Realised below ``held_below`` of predicted is drawn orange and
    worded "over-predicts". Beyond ``VALUE_TEAM_LIMIT`` teams, the ones that predicted most.
    """
    title = "Predicted versus realised value per team"
    headers = ["Team", f"Predicted ({currency} a year)", f"Realised ({currency} a year)",
               "Estimates held", "Reviewed"]
    if not teams:
        return _empty("value", title, headers, "No initiative has reached production yet")
    total = len(teams)
    if total > VALUE_TEAM_LIMIT:
        teams = sorted(teams, key=lambda t: (-t[1], str(t[0])))[:VALUE_TEAM_LIMIT]

    rows, over = [], []
    for name, predicted, realised, reviewed, initiatives in teams:
        if not reviewed:
            held = "no review yet"
        elif predicted:
            held = f"{round(100 * realised / predicted)}%"
            if _held_low(predicted, realised, held_below):
                over.append(name)
        else:
            held = "nothing predicted"
        rows.append([str(name), _num(predicted) if reviewed else "—",
                     _num(realised) if reviewed else "—", held,
                     f"{reviewed} of {initiatives}"])

    left, right = 190, WIDTH - 200
    top, bar_h, group_h = 44, 16, 50
    maximum, step = _nice_scale(max([t[1] for t in teams] + [t[2] for t in teams] + [1]),
                                ticks=4)

    def scale(v: float) -> float:
        return left + (right - left) * max(v, 0) / maximum

    plot_bottom = top + group_h * len(teams)
    parts = []
    legend, _ = _legend(left, 18, [
        (_square(BRAND_LIGHT, BRAND), "Predicted"), (_square(OK), "Realised"),
        (_square(ORANGE), f"Realised, under {round(100 * held_below)}% of predicted"),
    ])
    parts.append(legend)
    for tick in _ticks(maximum, step):
        x = scale(tick)
        parts.append(_el("line", x1=x, x2=x, y1=float(top - 6), y2=float(plot_bottom),
                         stroke=GRID if tick else LINE))
        parts.append(_text(x, plot_bottom + 18, _money(tick, currency).split(" ")[1],
                           size=12, fill=MUTED, anchor="middle"))
    parts.append(_text((left + right) / 2, plot_bottom + 38,
                       f"{currency} a year, initiatives with a recorded review", size=13,
                       fill=MUTED, anchor="middle"))

    for i, (name, predicted, realised, reviewed, initiatives) in enumerate(teams):
        y = top + i * group_h
        short = _truncate(name, 21)
        if short != str(name):
            short = format_html("{}{}", short, _tip(str(name)))
        parts.append(_text(left - 10, y + 23, short, anchor="end", weight="600"))
        if not reviewed:
            parts.append(_el("rect", x=float(left), y=float(y), width=float(right - left),
                             height=bar_h * 2 + 2, fill=WHITE, stroke=GREY,
                             stroke_dasharray="4 3"))
            parts.append(_text(left + 8, y + 22, f"no value review recorded yet "
                               f"({_plural(initiatives, 'initiative')})", size=12, fill=MUTED))
            continue
        parts.append(_el("rect", _tip(f"{name}: predicted {_money(predicted, currency)}"),
                         x=float(left), y=float(y), width=max(scale(predicted) - left, 1.0),
                         height=bar_h, fill=BRAND_LIGHT, stroke=BRAND))
        parts.append(_text(scale(predicted) + 6, y + 13,
                           f"{_money(predicted, currency)} predicted", size=12, fill=MUTED))
        low = _held_low(predicted, realised, held_below)
        y2 = y + bar_h + 2
        share = f" · {round(100 * realised / predicted)}% held" if predicted else ""
        parts.append(_el("rect", _tip(f"{name}: realised {_money(realised, currency)}{share}"),
                         x=float(left), y=float(y2), width=max(scale(realised) - left, 1.0),
                         height=bar_h, fill=ORANGE if low else OK))
        parts.append(_text(scale(realised) + 6, y2 + 13,
                           f"{_money(realised, currency)} realised{share}", size=12,
                           fill=WARN if low else INK, weight="600"))
    height = plot_bottom + 50

    summary = _plural(len(teams), "team")
    if total > len(teams):
        summary = f"The {len(teams)} teams of {total} that predicted the most"
    if over:
        names = ", ".join(str(t) for t in over[:5])
        summary += (f"; realised under {round(100 * held_below)}% of predicted: {names}"
                    + (f" and {len(over) - 5} more" if len(over) > 5 else ""))
    elif any(t[3] for t in teams):
        summary += "; every reviewed team realised close to or above its prediction"
    else:
        summary += "; no value review recorded yet"
    summary += "."
    return Chart(title=title, summary=summary, headers=headers, rows=rows,
                 svg=_svg("value", (tuple(teams), currency), title=title, summary=summary,
                          height=height, body=_join(parts)))


__all__ = [
    "Chart",
    "capacity_vs_demand",
    "value_by_team",
    "governance_heat_map",
    "heat_map_chart",
    "pilot_age_distribution",
    "stage_funnel",
    "value_vs_effort",
]
