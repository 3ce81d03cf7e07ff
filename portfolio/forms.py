"""Forms of the portfolio's pages."""

from django import forms
from django.contrib.auth import get_user_model

from portfolio.models import Category, Health, Stage, Team

SORTS = {
    "recent": ("Most recent activity", ["-last_activity_at", "-id"]),
    "title": ("Title", ["title", "id"]),
    "team": ("Team", ["team__name", "title", "id"]),
    "owner": ("Owner", ["owner__last_name", "owner__first_name", "title", "id"]),
    "stage": ("Stage", ["stage", "title", "id"]),
    "health": ("Health", ["health", "title", "id"]),
}


def _any(choices):
    return [("", "Any"), *choices]


class InitiativeFilterForm(forms.Form):
    """The initiative list's search, filters and sort; every field is optional."""

    q = forms.CharField(label="Search", required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search",
                                                      "placeholder": "Title or summary"}))
    team = forms.ModelChoiceField(queryset=Team.objects.only("id", "name", "slug"), required=False,
                                  empty_label="Any", to_field_name="slug")
    category = forms.ChoiceField(choices=_any(Category.choices), required=False)
    stage = forms.ChoiceField(choices=_any(Stage.choices), required=False)
    health = forms.ChoiceField(choices=_any(Health.choices), required=False)
    owner = forms.CharField(required=False, max_length=150,
                            help_text='A username, or "me".',
                            widget=forms.TextInput(attrs={"placeholder": "me or a username"}))
    sort = forms.ChoiceField(choices=[(key, label) for key, (label, _) in SORTS.items()],
                             required=False)

    def clean_owner(self):
        owner = self.cleaned_data["owner"].strip()
        if owner and owner != "me" and not get_user_model().objects.filter(
                username=owner).exists():
            raise forms.ValidationError(f'No user is called "{owner}".')
        return owner
