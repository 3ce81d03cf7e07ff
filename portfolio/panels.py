"""Panels other apps add to the initiative page.

Portfolio's code imports neither governance nor scoring (docs/architecture.md,
"Extension points"); they register here, from their ``AppConfig.ready``, a
function that returns a panel for one initiative (checkpoint status, the score)
or ``None``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Panel:
    title: str
    template: str                       # rendered with the panel's context
    context: dict = field(default_factory=dict)
    order: int = 100                    # lower comes first


PanelProvider = Callable[..., Panel | None]
_providers: list[PanelProvider] = []


def register_detail_panel(provider: PanelProvider) -> PanelProvider:
    """Add ``provider(initiative=..., user=...) -> Panel | None`` to every initiative page."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def unregister_detail_panel(provider: PanelProvider) -> None:
    if provider in _providers:
        _providers.remove(provider)


def detail_panels(*, initiative, user) -> list[Panel]:
    panels = [provider(initiative=initiative, user=user) for provider in _providers]
    return sorted((panel for panel in panels if panel is not None), key=lambda p: p.order)
