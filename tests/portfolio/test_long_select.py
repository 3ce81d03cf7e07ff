"""``LongSelect`` (the team filters' select on every list page) writes the same element
as Django's ``Select``: the same options, the same one selected, the same attributes."""

import pytest
from django import forms
from django.test.html import parse_html

from portfolio.models import Team
from portfolio.widgets import LongSelect
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


def team_field(widget) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False,
                                  empty_label="Any", to_field_name="slug", widget=widget)


@pytest.mark.parametrize("chosen", [None, "", "claims", "r&d <lab>", "nobody"])
def test_long_select_writes_the_same_element_as_djangos_select(chosen):
    for name, slug in [("Claims", "claims"), ("R&D <Lab>", "r&d <lab>"), ("Fraud", "fraud")]:
        TeamFactory(name=name, slug=slug)
    attrs = {"id": "id_team", "aria-describedby": "team-help"}

    written = [team_field(widget).widget.render("team", chosen, attrs=attrs)
               for widget in (LongSelect, forms.Select)]

    assert parse_html(written[0]) == parse_html(written[1])
    assert written[0].count(" selected") == (0 if chosen == "nobody" else 1)
