"""The exit contract on the initiative page: its status, the metric over time, the
measurements, and the forms to record one and to override the gate."""

from __future__ import annotations

from datetime import datetime

from portfolio.access import InitiativeRights
from portfolio.models import Initiative
from portfolio.outcomes import contract, selectors


def contract_context(*, initiative: Initiative, rights: InitiativeRights, now: datetime) -> dict:
    """What ``_contract.html`` shows."""
    evidence = selectors.contract_evidence(initiative)
    return {
        "status": contract.status(initiative, evidence),
        "evidence": evidence,
        "measurements": list(selectors.measurements_of(initiative)),
        "overrides": list(selectors.overrides_of(initiative)),
        "missing": contract.missing_fields(initiative),
    }
