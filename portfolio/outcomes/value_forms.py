"""Forms of value after production: recording a value review, deciding on value at risk,
and the value reviews page's filters. The rules are the services' (``portfolio.outcomes.
services.value_review_record`` and ``value_decide``): a figure left out or below zero, a
decision without a note, retiring without lessons come back from them as field errors."""

from __future__ import annotations

from django import forms
from django.conf import settings

from portfolio.models import Initiative, Team, ValueDecision, ValueReview, text_limit
from portfolio.outcomes.value_selectors import REVIEW_TABS
from portfolio.widgets import LongSelect


def _figure(label: str) -> forms.DecimalField:
    # Optional here: the service names a missing or negative figure on its field.
    return forms.DecimalField(label=label, required=False, max_digits=14, decimal_places=2,
                              widget=forms.NumberInput(attrs={"step": "0.01",
                                                              "inputmode": "decimal"}))


class ValueReviewForm(forms.Form):
    """What a production initiative delivers and costs a year, in ``VALUE_CURRENCY``."""

    realised_value = _figure("Realised value a year")
    run_cost = _figure("Run cost a year")
    note = forms.CharField(
        label="Note", required=False, max_length=text_limit(ValueReview, "note"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Where the figures come from, and anything the next reader should know.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        currency = settings.VALUE_CURRENCY
        self.fields["realised_value"].label = f"Realised value a year ({currency})"
        self.fields["realised_value"].help_text = (
            f"What it delivered, in {currency} a year: savings or revenue.")
        self.fields["run_cost"].label = f"Run cost a year ({currency})"
        self.fields["run_cost"].help_text = (
            f"What it costs to run, in {currency} a year: tokens, licences, people.")


class ValueDecisionForm(forms.Form):
    """Scale back, fix or retire an initiative whose value is at risk."""

    decision = forms.ChoiceField(
        choices=ValueDecision.choices, widget=forms.RadioSelect,
        error_messages={"required": "Choose scale back, fix or retire."})
    note = forms.CharField(
        label="Why", required=False, max_length=text_limit(ValueReview, "decision_note"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required; kept with the decision and in the audit history.")
    retirement_lessons = forms.CharField(
        label="Lessons learned", required=False,
        max_length=text_limit(Initiative, "retirement_lessons"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when retiring: what the next team should know. Shown in the kill "
                  "log (reason: value not proven) and at intake.")


class ValueReviewFilterForm(forms.Form):
    """The value reviews page's tab and filters; "only mine" is for PMs."""

    tab = forms.ChoiceField(label="Status", required=False, choices=REVIEW_TABS)
    team = forms.ModelChoiceField(queryset=Team.objects.only("id", "name", "slug"),
                                  required=False, empty_label="Any", to_field_name="slug",
                                  widget=LongSelect)
    mine = forms.BooleanField(label="Only mine", required=False,
                              help_text="Initiatives I own or am Responsible for.")

    def __init__(self, *args, is_pm: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not is_pm:
            del self.fields["mine"]
