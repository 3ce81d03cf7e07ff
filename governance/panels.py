"""Governance's panel on the initiative page (``portfolio.hooks.DETAIL_PANELS``)."""

from __future__ import annotations

from django.utils import timezone

from governance.selectors import governance_panel_context
from portfolio.hooks import Panel


def governance_panel(*, initiative, user) -> Panel:
    """Progress, out-of-compliance banner, next-stage blockers, the checkpoints and the
    production forecast. Queries: see ``governance_panel_context``."""
    return Panel(title="Governance", template="governance/_initiative_panel.html",
                 context=governance_panel_context(initiative=initiative,
                                                  today=timezone.localdate()),
                 order=10)
