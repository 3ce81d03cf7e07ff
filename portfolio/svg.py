"""The few pieces every server-rendered SVG chart is built from: escaped elements with their
attributes, coordinates to one decimal, a round tick step, and a stable element id. The
initiative page's metric chart (``portfolio.outcomes.chart``) and the dashboard's charts
(``scoring.charts``) both draw with them."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe


def coordinate(value: float) -> str:
    """A coordinate: one decimal at most."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def attributes(attrs: dict) -> SafeString:
    parts = []
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, float):
            value = coordinate(value)
        parts.append(format_html(' {}="{}"', key.rstrip("_").replace("_", "-"), value))
    return mark_safe("".join(parts))


def element(tag: str, content: object = None, **attrs) -> SafeString:
    """One element; ``content`` is escaped unless already safe; ``class_`` -> ``class``."""
    if content is None:
        return format_html("<{}{} />", mark_safe(tag), attributes(attrs))
    return format_html("<{}{}>{}</{}>", mark_safe(tag), attributes(attrs), content,
                       mark_safe(tag))


def join(parts: Iterable[SafeString]) -> SafeString:
    return mark_safe("".join(parts))


def nice_step(span: float, ticks: int = 5) -> float:
    """The smallest round step (1, 2, 2.5 or 5 times a power of ten) that covers ``span``
    in ``ticks`` steps."""
    magnitude = 10 ** math.floor(math.log10(span / ticks))
    for multiple in (1, 2, 2.5, 5):
        if multiple * magnitude * ticks >= span:
            return multiple * magnitude
    return 10 * magnitude


def chart_id(prefix: str, data: object) -> str:
    """An id that stays the same for the same data (two charts on a page differ)."""
    digest = hashlib.sha1(repr(data).encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{prefix}-{digest}"
