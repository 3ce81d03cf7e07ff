"""Forms of the scenario pages (``scoring.scenario_views``): what a leader types. The rules
stay in ``scoring.scenarios``; a refusal there comes back on the field it names."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.html import format_html, format_html_join

from portfolio.forms import add_refusal
from portfolio.widgets import InitiativeField
from scoring import capacity, formulas
from scoring.models import Scenario, ScenarioPin, ScoringMethod, ScoringModel
from scoring.scenarios import DESCRIPTION_LIMIT, NAME_LIMIT, WEEKS_MAX, pins_of

PIN_TWICE = "This initiative is already pinned above."
PIN_BOTH = "This initiative is pinned both in and out: choose one."
PIN_ROWS = 3  # empty pin rows offered; save and edit again for more
TEAM_TWICE = "This team is already given above."
NO_TEAM = "No team is called “{text}”. Type its name as the list offers it."
WEEKS_WITHOUT_TEAM = "Name the team these engineer-weeks are for."
CAPACITY_ROWS = 3  # empty capacity rows offered; save and edit again for more
TEAMS_LIST = "scenario-teams"  # the id of the one <datalist> every team row offers
WEIGHT_PREFIX = "weight_"


class ScenarioForm(forms.Form):
    """Name, quarter, the scoring model and weights. Capacity per team is
    ``CapacityFormSet``'s, pins ``PinFormSet``'s. The active model comes from the view, so
    building the form costs no query of its own beyond the model choices."""

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

    def __init__(self, *args, now, active_model: ScoringModel | None, **kwargs):
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
        self.now = now
        if not self.is_bound and not self.initial.get("quarter"):
            self.initial["quarter"] = capacity.quarter_label(*quarters[1])  # next quarter

    def weight_fields(self):
        return [self[name] for name in self.weight_names]

    @staticmethod
    def initial_from(scenario: Scenario, *, now) -> dict:
        label = scenario.quarter_label
        planned = [capacity.quarter_label(*q) for q in capacity.plan_quarters(now)]
        initial = {"name": scenario.name, "description": scenario.description,
                   "quarter": label if label in planned else "", "model": scenario.model_id}
        for key, weight in (scenario.weights or {}).items():
            initial[f"{WEIGHT_PREFIX}{key}"] = weight
        return initial

    def add_refusal(self, error) -> None:
        """A service's refusal on its field: weights on the first one filled in (the
        message names the criterion), the others as ``add_refusal`` does (capacities are
        the view's, on ``CapacityFormSet``)."""
        if error.field != "weights":
            add_refusal(self, error)
            return
        filled = [name for name in self.weight_names if self.cleaned_data.get(name) is not None]
        self.add_error(filled[0] if filled else None, error.message)

    def scenario_fields(self) -> dict:
        """The service's keyword arguments (capacities and pins aside)."""
        data = self.cleaned_data
        year, quarter = capacity.parse_quarter(data["quarter"], now=self.now)
        return {
            "name": data["name"], "description": data.get("description", ""),
            "year": year, "quarter": quarter, "model": data.get("model"),
            "weights": {name.removeprefix(WEIGHT_PREFIX): data[name]
                        for name in self.weight_names if data.get(name) is not None},
        }


class PinForm(forms.Form):
    initiative = InitiativeField(label="Initiative", required=False,
                                 help_text="Its number or title; empty: no pin.")
    direction = forms.ChoiceField(label="Pinned", choices=ScenarioPin.Direction.choices,
                                  initial=ScenarioPin.Direction.IN, required=False)

    def clean_direction(self):
        return self.cleaned_data.get("direction") or ScenarioPin.Direction.IN


class NumberedRows(forms.BaseFormSet):
    """Rows whose fields say which row they are in (``row_labels``: field name -> label with
    ``{n}``, the row's number), so each label names its own field."""

    row_labels: dict[str, str] = {}

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        for name, label in self.row_labels.items():
            form.fields[name].label = label.format(n=i + 1)
        return form


class BasePinFormSet(NumberedRows):
    row_labels = {"initiative": "Pin {n}: initiative", "direction": "Pin {n}"}

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


# --- Capacity per team: a few rows, the team typed by name -----------------------------------

class TeamsByName:
    """Every team, typed by its name: the one ``<datalist>`` the capacity rows share (the
    browser suggests as you type) and what a row's text resolves against, so the rows add no
    query and no field per team (316 teams at 100,000 initiatives made a field each)."""

    def __init__(self, teams):
        self.teams = list(teams)
        self._named = {team.name: team for team in self.teams}
        folded: dict[str, list] = {}
        for team in self.teams:
            folded.setdefault(team.name.casefold(), []).append(team)
            folded.setdefault(team.slug.casefold(), []).append(team)
        self._folded = {text: found[0] for text, found in folded.items()
                        if len({team.pk for team in found}) == 1}

    def resolve(self, text: str):
        """The team named exactly ``text``, else the one whose name or slug it is whatever
        the case; ``None`` when none (or several) is."""
        return self._named.get(text) or self._folded.get(text.casefold())

    def datalist(self):
        return format_html('<datalist id="{}">{}</datalist>', TEAMS_LIST, format_html_join(
            "", '<option value="{}"></option>', ((team.name,) for team in self.teams)))


class TeamField(forms.Field):
    """One team, by its name (or slug), among ``teams`` (a ``TeamsByName``)."""

    widget = forms.TextInput(attrs={"list": TEAMS_LIST, "autocomplete": "off",
                                    "spellcheck": "false", "maxlength": 100})

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.teams: TeamsByName | None = None

    def prepare_value(self, value):
        return getattr(value, "name", value)

    def to_python(self, value):
        text = " ".join(str(value or "").split())
        if not text:
            return None
        team = self.teams.resolve(text)
        if team is None:
            raise forms.ValidationError(NO_TEAM.format(text=text), code="unknown")
        return team


class CapacityForm(forms.Form):
    team = TeamField(label="Team", required=False)
    weeks = forms.DecimalField(label="Engineer-weeks", required=False, min_value=Decimal(0),
                               max_value=WEEKS_MAX, decimal_places=1, max_digits=8)

    def __init__(self, *args, teams: TeamsByName, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].teams = teams

    def clean(self):
        data = super().clean()
        if (data.get("weeks") is not None and data.get("team") is None
                and "team" not in self.errors):
            self.add_error("team", WEEKS_WITHOUT_TEAM)
        return data


class BaseCapacityFormSet(NumberedRows):
    """The scenario's engineer-weeks per team: one row per team it changes and
    ``CAPACITY_ROWS`` empty ones; a team with no weeks keeps its plan."""

    row_labels = {"team": "Team {n}", "weeks": "Team {n}: engineer-weeks"}

    def __init__(self, *args, teams: TeamsByName, **kwargs):
        super().__init__(*args, form_kwargs={"teams": teams}, **kwargs)
        self.teams = teams

    def clean(self):
        if any(self.errors):
            return
        seen: set[int] = set()
        for form in self.forms:
            team = form.cleaned_data.get("team")
            if team is None or form.cleaned_data.get("weeks") is None:
                continue
            if team.pk in seen:
                form.add_error("team", TEAM_TWICE)
            seen.add(team.pk)

    def capacities(self) -> dict:
        """{team: engineer-weeks} of the rows with both."""
        return {f.cleaned_data["team"]: f.cleaned_data["weeks"] for f in self.forms
                if f.cleaned_data.get("team") is not None
                and f.cleaned_data.get("weeks") is not None}


CapacityFormSet = forms.formset_factory(CapacityForm, formset=BaseCapacityFormSet,
                                        extra=CAPACITY_ROWS, max_num=1000, validate_max=True)


def capacity_initial(scenario: Scenario) -> list[dict]:
    """The scenario's rows (``scenario_for`` loaded them with their teams): no query."""
    return [{"team": change.team, "weeks": change.engineer_weeks}
            for change in scenario.capacities.all()]
