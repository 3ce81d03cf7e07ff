"""Forms of the scoring pages."""

from django import forms

from portfolio.models import Category, Stage, Team


def _any(choices):
    return [("", "Any"), *choices]


class DashboardFilterForm(forms.Form):
    """The dashboard's filters; every field optional. They narrow what is shown, never the
    funding line, which is drawn over the whole portfolio."""

    team = forms.ModelChoiceField(queryset=Team.objects.only("id", "name", "slug").order_by("name"),
                                  required=False, empty_label="Any", to_field_name="slug")
    category = forms.ChoiceField(choices=_any(Category.choices), required=False)
    stage = forms.ChoiceField(choices=_any(Stage.choices), required=False)
