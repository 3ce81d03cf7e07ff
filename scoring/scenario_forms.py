"""Forms of the scenario pages (``scoring.scenario_views``): what a leader types. The rules
stay in ``scoring.scenarios``; a refusal there comes back on the field it names."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from portfolio.forms import add_refusal
from portfolio.widgets import InitiativeField
from scoring import capacity, formulas
from scoring.models import Scenario, ScenarioPin, ScoringMethod, ScoringModel
from scoring.scenarios import DESCRIPTION_LIMIT, NAME_LIMIT, WEEKS_MAX, pins_of, weeks_text

PIN_TWICE = "This initiative is already pinned above."
PIN_BOTH = "This initiative is pinned both in and out: choose one."
PIN_ROWS = 3  # empty pin rows offered; save and edit again for more
TEAM_PREFIX, WEIGHT_PREFIX = "team_", "weight_"


class ScenarioForm(forms.Form):
    """Name, quarter, capacity per team, the scoring model and weights. Pins are
    ``PinFormSet``'s. ``teams``, the plans of each quarter and the active model come from
    the view (``capacity.capacities_for``), so building the form costs no query of its
    own beyond the model choices."""

    name = forms.CharField(max_length=NAME_LIMIT, label="Name")
    description = forms.CharField(
        label="What it tries", required=False, max_length=DESCRIPTION_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional: the question it answers, for whoever opens its link.")
    quarter = forms.ChoiceField(label="Quarter",
                                help_text="The quarter whose funding line it changes.")
    model = forms.ModelChoiceField(
        label="Scoring model", required=False,
        queryset=ScoringModel.objects.order_by("name", "-version"),
        help_text="Rank by another version instead of the active one.")

    def __init__(self, *args, now, teams, plans, active_model: ScoringModel | None, **kwargs):
        super().__init__(*args, **kwargs)
        quarters = capacity.plan_quarters(now)
        self.fields["quarter"].choices = [
            (capacity.quarter_label(*q), capacity.quarter_label(*q)
             + (" (this quarter)" if i == 0 else "")) for i, q in enumerate(quarters)]
        active = f"the active one, {active_model}" if active_model else "no model is active"
        self.fields["model"].empty_label = f"Keep the live ranking ({active})"
        self.weight_names = []
        base = active_model.weights if (active_model and active_model.method
                                        == ScoringMethod.WEIGHTED) else {}
        for criterion in formulas.CRITERIA:
            name = f"{WEIGHT_PREFIX}{criterion.key}"
            own = base.get(criterion.key)
            self.fields[name] = forms.FloatField(
                label=criterion.label.capitalize(), required=False, min_value=0,
                max_value=1_000_000,
                help_text=("Empty keeps the model's weight" + (
                    f" (the active model's: {own:g})" if own is not None else "") + "."))
            self.weight_names.append(name)
        self.team_names = []
        self.teams = {}
        for team in teams:
            name = f"{TEAM_PREFIX}{team.pk}"
            planned = " · ".join(
                f"{capacity.quarter_label(*q)}: "
                f"{weeks_text(plans[q][team.pk]) if team.pk in plans[q] else 'none'}"
                for q in quarters)
            self.fields[name] = forms.DecimalField(
                label=team.name, required=False, min_value=Decimal(0), max_value=WEEKS_MAX,
                decimal_places=1, max_digits=8,
                help_text=f"Engineer-weeks; empty keeps the plan. Planned: {planned}.")
            self.team_names.append(name)
            self.teams[name] = team
        self.now = now
        if not self.is_bound and not self.initial.get("quarter"):
            self.initial["quarter"] = capacity.quarter_label(*quarters[1])  # next quarter

    def weight_fields(self):
        return [self[name] for name in self.weight_names]

    def team_fields(self):
        return [self[name] for name in self.team_names]

    @staticmethod
    def initial_from(scenario: Scenario, *, now) -> dict:
        label = scenario.quarter_label
        planned = [capacity.quarter_label(*q) for q in capacity.plan_quarters(now)]
        initial = {"name": scenario.name, "description": scenario.description,
                   "quarter": label if label in planned else "", "model": scenario.model_id}
        for key, weight in (scenario.weights or {}).items():
            initial[f"{WEIGHT_PREFIX}{key}"] = weight
        for change in scenario.capacities.all():
            initial[f"{TEAM_PREFIX}{change.team_id}"] = change.engineer_weeks
        return initial

    def add_refusal(self, error) -> None:
        """A service's refusal on its field: weights and capacities on the first one filled
        in (the message names the criterion or team), the others as ``add_refusal`` does."""
        names = {"weights": self.weight_names, "capacities": self.team_names}.get(error.field)
        if names is None:
            add_refusal(self, error)
            return
        filled = [name for name in names if self.cleaned_data.get(name) is not None]
        self.add_error(filled[0] if filled else None, error.message)

    def scenario_fields(self) -> dict:
        """The service's keyword arguments (pins aside)."""
        data = self.cleaned_data
        year, quarter = capacity.parse_quarter(data["quarter"], now=self.now)
        return {
            "name": data["name"], "description": data.get("description", ""),
            "year": year, "quarter": quarter, "model": data.get("model"),
            "weights": {name.removeprefix(WEIGHT_PREFIX): data[name]
                        for name in self.weight_names if data.get(name) is not None},
            "capacities": {self.teams[name]: data[name] for name in self.team_names
                           if data.get(name) is not None},
        }


class PinForm(forms.Form):
    initiative = InitiativeField(label="Initiative", required=False,
                                 help_text="Its number or title; empty: no pin.")
    direction = forms.ChoiceField(label="Pinned", choices=ScenarioPin.Direction.choices,
                                  initial=ScenarioPin.Direction.IN, required=False)

    def clean_direction(self):
        return self.cleaned_data.get("direction") or ScenarioPin.Direction.IN


class BasePinFormSet(forms.BaseFormSet):
    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.fields["initiative"].label = f"Pin {i + 1}: initiative"
        form.fields["direction"].label = f"Pin {i + 1}"
        return form

    def clean(self):
        if any(self.errors):
            return
        seen: dict[int, str] = {}
        for form in self.forms:
            initiative = form.cleaned_data.get("initiative")
            if initiative is None:
                continue
            direction = form.cleaned_data["direction"]
            if initiative.pk in seen:
                form.add_error("initiative", PIN_TWICE if seen[initiative.pk] == direction
                               else PIN_BOTH)
            seen[initiative.pk] = direction

    def pins(self) -> tuple[list, list]:
        """(pinned in, pinned out): the initiatives."""
        pinned = [(f.cleaned_data["initiative"], f.cleaned_data["direction"])
                  for f in self.forms if f.cleaned_data.get("initiative") is not None]
        return ([i for i, d in pinned if d == ScenarioPin.Direction.IN],
                [i for i, d in pinned if d == ScenarioPin.Direction.OUT])


PinFormSet = forms.formset_factory(PinForm, formset=BasePinFormSet, extra=PIN_ROWS,
                                   max_num=100, validate_max=True)


def pin_initial(scenario: Scenario) -> list[dict]:
    return [{"initiative": f"#{pin.initiative_id} {pin.initiative.title}",
             "direction": pin.direction}
            for direction in ScenarioPin.Direction.values
            for pin in pins_of(scenario, direction)]
