"""The capacity page's form: one row per team, its engineer-weeks for the quarter.

The rules are ``scoring.capacity``'s (at least 0, at most one decimal); the form says so on
each row's field before anything is written, and ``capacity_plans_set`` writes all rows or
none."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from scoring.capacity import WEEKS_INVALID, WEEKS_NEGATIVE, CapacityRow

WEEKS_TOO_MANY = "Engineer-weeks must be less than 10,000,000."


def field_name(team_id: int) -> str:
    """The row's field, and the ``field`` of a refusal ``capacity_plans_set`` raises."""
    return f"team-{team_id}"


class CapacityPlansForm(forms.Form):
    """Engineer-weeks per team for one quarter. A team without a plan may be left empty;
    ``copy_previous`` fills each row with the quarter before's plan (nothing is saved until
    the form is sent)."""

    def __init__(self, *args, rows: list[CapacityRow], copy_previous: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            initial = row.previous if copy_previous and row.previous is not None else row.capacity
            self.fields[field_name(row.team.pk)] = forms.DecimalField(
                label=f"Engineer-weeks for {row.team.name}", required=False, min_value=0,
                max_digits=8, decimal_places=1, initial=_plain(initial),
                widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off",
                                              "size": 8}),
                error_messages={"invalid": WEEKS_INVALID, "min_value": WEEKS_NEGATIVE,
                                "max_decimal_places": WEEKS_INVALID,
                                "max_digits": WEEKS_TOO_MANY,
                                "max_whole_digits": WEEKS_TOO_MANY})

    def weeks(self) -> dict[int, Decimal | None]:
        """{team id: engineer-weeks or None (left empty)} of a valid form."""
        return {row.team.pk: self.cleaned_data[field_name(row.team.pk)] for row in self.rows}

    def bound_rows(self) -> list[tuple[CapacityRow, forms.BoundField]]:
        return [(row, self[field_name(row.team.pk)]) for row in self.rows]


def _plain(weeks: Decimal | None) -> str | None:
    """40.0 -> "40", 12.5 -> "12.5": what a person would type."""
    return None if weeks is None else f"{weeks.normalize():f}"
