"""Small display helpers shared by the portfolio's templates."""

from django import template

from portfolio import hooks

register = template.Library()


@register.filter
def person(user) -> str:
    """A user's full name, else their username; a dash for nobody."""
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()


@register.filter
def activity_details(activity) -> str:
    """What the timeline shows after an activity's kind: ": " and the words the app that
    records that kind registered (``hooks.ACTIVITY_KINDS``); nothing when it has none."""
    spec = hooks.activity_kind(activity.kind)
    text = spec.describe(activity) if spec is not None else ""
    return f": {text}" if text else ""
