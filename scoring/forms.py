"""Forms of the scoring pages."""

from django import forms
from django.utils import timezone

from portfolio.exceptions import DomainError
from portfolio.models import Category, Stage, Team
from portfolio.widgets import LongSelect
from scoring.capacity import (
    QUARTER_FORMAT,
    QUARTER_PATTERN,
    YEAR_MAX,
    YEAR_MIN,
    parse_quarter,
    plan_quarters,
    quarter_label,
)

# The dashboard's funding positions for the chosen quarter (``scoring.dashboard.POSITIONS``
# says what each one lists).
POSITION_CHOICES = [
    ("committed", "Committed"),
    ("funded", "Fund next"),
    ("below_line", "Below the line"),
    ("blocked", "Funded but blocked"),
    ("not_drawing", "Paused (draws no capacity)"),
    ("not_ranked", "Not yet ranked"),
]


def _any(choices):
    return [("", "Any"), *choices]


class DashboardFilterForm(forms.Form):
    """The dashboard's quarter and filters; every field optional. The filters narrow what
    is shown, never the funding line, which is drawn over the whole portfolio. ``quarter``
    is this quarter or one of the next three (empty: this one); it comes out as
    ``(year, quarter)``."""

    quarter = forms.RegexField(
        regex=QUARTER_PATTERN, required=False, max_length=7, widget=forms.Select,
        error_messages={"invalid": QUARTER_FORMAT},
        help_text="This quarter or one of the next three, written 2027-Q1; empty: this "
                  "quarter.")
    team = forms.ModelChoiceField(queryset=Team.objects.only("id", "name", "slug").order_by("name"),
                                  required=False, empty_label="Any", to_field_name="slug",
                                  widget=LongSelect)
    category = forms.ChoiceField(choices=_any(Category.choices), required=False)
    stage = forms.ChoiceField(choices=_any(Stage.choices), required=False)
    position = forms.ChoiceField(label="Funding", choices=_any(POSITION_CHOICES), required=False,
                                 help_text="Where initiatives stand against the quarter's "
                                           "line.")
    blocker = forms.CharField(required=False, max_length=120, widget=forms.HiddenInput,
                              help_text="With position=blocked: what blocks them (a "
                                        "checkpoint type's name, \"exit contract\", …).")

    def __init__(self, *args, now=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()
        quarters = plan_quarters(self.now)
        self.fields["quarter"].widget.choices = [
            ("" if n == 0 else quarter_label(*q), quarter_label(*q) + (" (this quarter)"
                                                                        if n == 0 else ""))
            for n, q in enumerate(quarters)]

    def clean_quarter(self):
        try:
            return parse_quarter(self.cleaned_data.get("quarter") or "", now=self.now)
        except DomainError as error:
            # Well-formed (the pattern passed) but not planned: a quarter with no line, as
            # a team's slug that names no team (the API's 404).
            raise forms.ValidationError(str(error), code="unknown") from None

    def clean_blocker(self):
        return (self.cleaned_data.get("blocker") or "").strip()


class CapacityPlanFilterForm(forms.Form):
    """The API's capacity-plan filters; every field optional."""

    team = forms.ModelChoiceField(queryset=Team.objects.only("id", "name", "slug"),
                                  required=False, to_field_name="slug")
    year = forms.IntegerField(required=False, min_value=YEAR_MIN, max_value=YEAR_MAX)
    quarter = forms.IntegerField(required=False, min_value=1, max_value=4)
