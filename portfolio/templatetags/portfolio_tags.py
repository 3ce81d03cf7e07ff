"""Small display helpers shared by the portfolio's templates."""

from django import template

from portfolio.models import Stage, Stakeholder

register = template.Library()


@register.filter
def person(user) -> str:
    """A user's full name, else their username; a dash for nobody."""
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()


@register.filter
def stage_label(value: str) -> str:
    """The label of a stage value stored in an event's details."""
    try:
        return Stage(value).label
    except ValueError:
        return value


@register.filter
def raci_label(value: str) -> str:
    """Responsible, Accountable, Consulted or Informed, from the stored letter."""
    return dict(Stakeholder.Role.choices).get(value, value)
