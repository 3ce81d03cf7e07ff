"""Forms of the scoring pages."""

from django import forms

from portfolio.models import Category, Stage, Team
from scoring.capacity import YEAR_MAX, YEAR_MIN


def _any(choices):
    return [("", "Any"), *choices]


class DashboardFilterForm(forms.Form):
    """The dashboard's filters; every field optional. They narrow what is shown, never the
    funding line, which is drawn over the whole portfolio."""

    team = forms.ModelChoiceField(queryset=Team.objects.only("id", "name", "slug").order_by("name"),
                                  required=False, empty_label="Any", to_field_name="slug")
    category = forms.ChoiceField(choices=_any(Category.choices), required=False)
    stage = forms.ChoiceField(choices=_any(Stage.choices), required=False)


class CapacityPlanFilterForm(forms.Form):
    """The API's capacity-plan filters; every field optional."""

    team = forms.ModelChoiceField(queryset=Team.objects.only("id", "name", "slug"),
                                  required=False, to_field_name="slug")
    year = forms.IntegerField(required=False, min_value=YEAR_MIN, max_value=YEAR_MAX)
    quarter = forms.IntegerField(required=False, min_value=1, max_value=4)
