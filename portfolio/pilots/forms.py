"""Forms of the stalled-pilots page and the digest's settings."""

from django import forms

from portfolio.forms import DATE_WIDGET, RetirementFields, any_of
from portfolio.models import StageTransition, StallDecision, StallReason, Team, text_limit
from portfolio.pilots.selectors import STALL_STATES
from portfolio.widgets import LongSelect


class StallFilterForm(forms.Form):
    """The stalled-pilots page's filters; "only the teams I follow" is for digest readers."""

    state = forms.ChoiceField(required=False, choices=[("", "All open"), *STALL_STATES])
    team = forms.ModelChoiceField(queryset=Team.objects.only("id", "name", "slug"), required=False,
                                  empty_label="Any", to_field_name="slug", widget=LongSelect)
    reason = forms.ChoiceField(choices=any_of(StallReason.choices), required=False)
    followed = forms.BooleanField(label="Only the teams I follow", required=False)

    def __init__(self, *args, can_follow: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_follow:
            del self.fields["followed"]


class StallDecisionForm(RetirementFields):
    """Scale, extend or kill a stalled pilot; ``services.stall_decide`` has the rules."""

    field_order = ["decision", "note", "extend_until", "retirement_reason", "retirement_lessons"]

    decision = forms.ChoiceField(choices=StallDecision.choices, widget=forms.RadioSelect,
                                 error_messages={"required": "Choose scale, extend or kill."})
    note = forms.CharField(
        # A decision's note is kept as the note of the stage move it makes.
        label="Justification", required=False, max_length=text_limit(StageTransition, "note"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why. Required to extend; kept with the decision.")
    extend_until = forms.DateField(
        label="New decision date", required=False, widget=DATE_WIDGET,
        help_text="Extend: the pilot is not flagged again before this date.")


class DigestSettingsForm(forms.Form):
    """The teams a TPM's weekly digest covers (none: every team), or no digest at all."""

    teams = forms.ModelMultipleChoiceField(
        label="Teams I follow", required=False, widget=forms.CheckboxSelectMultiple,
        queryset=Team.objects.only("id", "name").order_by("name"),
        help_text="Follow none to cover every team.")
    opted_out = forms.BooleanField(label="Send me no weekly digest", required=False)
