"""Forms of the portfolio's pages."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model

from portfolio.models import (
    NOT_SURE,
    NOT_SURE_LABEL,
    AutonomyLevel,
    Category,
    Health,
    Initiative,
    RetirementReason,
    RiskTier,
    Stage,
    StageTransition,
    Stakeholder,
    Team,
    Update,
    past_date_errors,
    text_limit,
)
from portfolio.outcomes.contract import contract_errors
from portfolio.selectors import OWNERSHIP_PROBLEMS, SORTS
from portfolio.tokens import NAME_MAX_LENGTH, NAME_REQUIRED
from portfolio.widgets import (
    PICKER_HELP,
    InitiativeField,
    LongSelect,
    PersonField,
    PickerInput,
)


def any_of(choices):
    return [("", "Any"), *choices]


class InitiativeFilterForm(forms.Form):
    """The initiative list's search, filters and sort; every field is optional."""

    q = forms.CharField(label="Search", required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search",
                                                      "placeholder": "Title or summary"}))
    team = forms.ModelChoiceField(queryset=Team.objects.only("id", "name", "slug"), required=False,
                                  empty_label="Any", to_field_name="slug", widget=LongSelect)
    category = forms.ChoiceField(choices=any_of(Category.choices), required=False)
    stage = forms.ChoiceField(choices=any_of(Stage.choices), required=False)
    health = forms.ChoiceField(choices=any_of(Health.choices), required=False)
    mine = forms.BooleanField(label="Only mine", required=False,
                              help_text="Initiatives I own or am Responsible for.")
    owner = forms.CharField(required=False, max_length=150,
                            help_text='A username, or "me".',
                            widget=forms.TextInput(attrs={"placeholder": "me or a username"}))
    sort = forms.ChoiceField(choices=[(key, label) for key, (label, _) in SORTS.items()],
                             required=False)

    def clean_owner(self):
        owner = self.cleaned_data["owner"].strip()
        if owner and owner != "me" and not get_user_model().objects.filter(
                username=owner).exists():
            raise forms.ValidationError(f'No user is called "{owner}".', code="unknown")
        return owner


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

# The form's sections, the way a PM thinks about an initiative.
INITIATIVE_SECTIONS = (
    ("What and why", "The problem, the expected outcome and where it lives.",
     ("title", "summary", "category", "team")),
    ("Who", "One accountable owner; the sponsor backs it at executive level.",
     ("owner", "sponsor")),
    ("AI profile", "Drives which governance checkpoints apply.",
     ("risk_tier", "autonomy_level", "uses_personal_data", "customer_facing", "model_vendor")),
    ("Sizing and value", "Feeds the ranking: RICE, WSJF and strategic fit.",
     ("effort_weeks", "reach", "impact", "confidence", "business_value", "time_criticality",
      "risk_reduction", "strategic_alignment", "target_production_date")),
    ("Exit contract", "Agreed before pilot: the number that says it worked, measured inside "
                      "the window before production, and who runs it after.",
     ("success_metric", "metric_unit", "metric_direction", "baseline_value", "target_value",
      "window_start", "window_end", "decision_date", "production_owner")),
    ("Business case", "What it should be worth a year in production, and what it will cost "
                      "to run; value reviews after production compare.",
     ("predicted_annual_value", "predicted_annual_run_cost")),
)
INITIATIVE_FIELDS = [name for _, _, names in INITIATIVE_SECTIONS for name in names]
# Effort as the API takes it: 0.5 to 99999.9 engineer-weeks, at most one decimal.
EFFORT_PATTERN = r"^(0\.[5-9]|[1-9][0-9]{0,4}(\.[0-9])?)$"


def _score(label: str, high: int, help_text: str) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=False, min_value=1, max_value=high,
                              help_text=help_text,
                              widget=forms.NumberInput(attrs={"min": 1, "max": high}))


def _money(label: str, help_text: str) -> forms.DecimalField:
    return forms.DecimalField(label=label, required=False, min_value=Decimal(0),
                              max_digits=14, decimal_places=2, help_text=help_text,
                              widget=forms.NumberInput(attrs={"min": 0, "step": "any"}))


def _profile_choice(label: str, choices, help_text: str, required: str) -> forms.ChoiceField:
    """An AI profile answer the PM must give: nothing preselected, "Not sure" allowed
    (``models.profile_as_chosen`` turns it into the cautious assumption)."""
    return forms.ChoiceField(label=label, help_text=help_text,
                             choices=[("", "Choose…"), *choices, (NOT_SURE, NOT_SURE_LABEL)],
                             error_messages={"required": required})


class InitiativeForm(forms.ModelForm):
    """Intake and edit: every field a PM sets; the lifecycle moves elsewhere."""

    summary = forms.CharField(
        required=False, max_length=text_limit(Initiative, "summary"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The problem and the expected outcome, in a few sentences.",
    )
    # A choice the PM makes, like the AI profile: nothing preselected.
    category = forms.ChoiceField(choices=[("", "Choose…"), *Category.choices],
                                 error_messages={"required": "Choose a category."})
    owner = PersonField(role="owner", help_text="The one accountable person, a product "
                                                "manager. You, unless you name someone else.")
    sponsor = PersonField(role="sponsor", required=False,
                          help_text="The executive backing it.")
    production_owner = PersonField(role="production_owner", required=False,
                                   help_text="Who will run it in production.")
    effort_weeks = forms.DecimalField(
        label="Effort (engineer-weeks)", required=False, min_value=Decimal("0.5"),
        max_value=Decimal("99999.9"), decimal_places=1,
        widget=forms.NumberInput(attrs={"min": 0.5, "step": 0.5}),
    )
    reach = forms.IntegerField(label="Reach (people per quarter)", required=False, min_value=0,
                               max_value=2_000_000_000)
    baseline_value = forms.DecimalField(
        label="Baseline", required=False, max_digits=16, decimal_places=4,
        widget=forms.NumberInput(attrs={"step": "any"}), help_text="The metric before the pilot.")
    target_value = forms.DecimalField(
        label="Target", required=False, max_digits=16, decimal_places=4,
        widget=forms.NumberInput(attrs={"step": "any"}),
        help_text="What the pilot must reach to go to production.")
    predicted_annual_value = _money("Predicted annual value",
                                    "Savings or revenue a year once in production.")
    predicted_annual_run_cost = _money("Predicted annual run cost",
                                       "Tokens, licences and people a year once in production.")
    business_value = _score("Business value", 10, "1–10")
    time_criticality = _score("Time criticality", 10, "1–10")
    risk_reduction = _score("Risk reduction / opportunity", 10, "1–10")
    strategic_alignment = _score("Strategic alignment", 5, "1–5")
    risk_tier = _profile_choice(
        "Risk tier", RiskTier.choices,
        "EU AI Act tier. Prohibited initiatives never leave assessment. Not sure: it is "
        "treated as High until the EU AI Act risk classification review confirms it.",
        "Choose the EU AI Act risk tier, or “Not sure”.")
    autonomy_level = _profile_choice(
        "Autonomy level", AutonomyLevel.choices,
        "How far it acts without a person. Not sure: it is treated as Autonomous until the "
        "risk classification review confirms it.",
        "Choose the autonomy level, or “Not sure”.")

    class Meta:
        model = Initiative
        fields = INITIATIVE_FIELDS
        widgets = {
            "title": forms.TextInput(attrs={"autofocus": True}),
            "target_production_date": DATE_WIDGET,
            "decision_date": DATE_WIDGET,
            "window_start": DATE_WIDGET,
            "window_end": DATE_WIDGET,
        }
        help_texts = {
            "uses_personal_data": "It processes personal data.",
            "customer_facing": "Customers see its output directly.",
            "impact": "RICE impact per person reached.",
            "confidence": "How sure you are of reach and impact.",
        }

    def __init__(self, *args, today=None, before=None, **kwargs):
        """``today`` turns on the past-date rule (``models.past_date_errors``); ``before`` is
        the initiative being edited, whose own dates are kept."""
        super().__init__(*args, **kwargs)
        self.today, self.before = today, before
        self.fields["team"].queryset = Team.objects.only("id", "name").order_by("name")
        self.fields["title"].widget.attrs["maxlength"] = text_limit(Initiative, "title")
        for name in ("predicted_annual_value", "predicted_annual_run_cost"):
            self.fields[name].label += f" ({settings.VALUE_CURRENCY})"
        for name in ("baseline_value", "target_value", "predicted_annual_value",
                     "predicted_annual_run_cost"):
            # 12, not the stored 12.0000.
            if isinstance(self.initial.get(name), Decimal):
                self.initial[name] = f"{self.initial[name].normalize():f}"

    def clean(self):
        cleaned = super().clean()
        if self.today is not None:
            for name, message in past_date_errors(values=cleaned, today=self.today,
                                                  before=self.before).items():
                self.add_error(name, message)
        for name, message in contract_errors(
                {name: value for name, value in cleaned.items() if name not in self.errors},
                before=self.before).items():
            if name not in self.errors:
                self.add_error(name, message)
        return cleaned

    def _get_validation_exclusions(self):
        # "Not sure" is an answer, not a stored value: the service turns it into one, so
        # the model's choices are not asked about it.
        excluded = super()._get_validation_exclusions()
        excluded.update(name for name in ("risk_tier", "autonomy_level")
                        if self.cleaned_data.get(name) == NOT_SURE)
        return excluded

    def sections(self):
        """(title, description, bound fields) in the order the template shows them."""
        return [(title, text, [self[name] for name in names])
                for title, text, names in INITIATIVE_SECTIONS]

    def clean_title(self):
        title = self.cleaned_data["title"].strip()
        if not title:
            raise forms.ValidationError("Give the initiative a title.")
        return title


class InitiativeEditForm(InitiativeForm):
    """Edit carries the version it was loaded from, so a stale tab cannot overwrite.

    The owner is shown to every editor but offered for change only to those who may
    reassign it (``can_reassign``); for the others the field is greyed out and not sent.
    A value sent anyway reaches the service, which refuses it (403): no path around the rule.
    """

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, owner=None, can_reassign: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        # The current owner (``owner``) stays a valid value even if they no longer could
        # be one: the picker resolves a username among everyone, and the service checks
        # an owner only when it changes.
        field = self.fields["owner"]
        if not can_reassign:
            field.required = False
            field.widget.attrs["disabled"] = True
            field.help_text = ("The one accountable person. Only a TPM or an admin reassigns "
                               "the owner, from the ownership page.")

    def changes(self) -> dict:
        """The edited fields; an owner the page did not send is left as it is."""
        fields = {name: self.cleaned_data[name] for name in INITIATIVE_FIELDS}
        if fields["owner"] is None:
            del fields["owner"]
        return fields


class IntakeForm(InitiativeForm):
    """Intake remembers which title and summary were checked for duplicates."""

    checked = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)
    confirm_distinct = forms.BooleanField(required=False, widget=forms.HiddenInput)


class UpdateForm(forms.Form):
    body = forms.CharField(label="What happened", max_length=text_limit(Update, "body"),
                           widget=forms.Textarea(attrs={"rows": 3}))
    health = forms.ChoiceField(choices=Health.choices)

    def clean_body(self):
        body = self.cleaned_data["body"].strip()
        if not body:
            raise forms.ValidationError("Write what happened.")
        return body


class RetirementFields(forms.Form):
    """The kill log's two fields, wherever an initiative can be retired."""

    retirement_reason = forms.ChoiceField(
        label="Reason for retiring", required=False,
        choices=[("", "—"), *RetirementReason.choices])
    retirement_lessons = forms.CharField(
        label="Lessons learned", required=False,
        max_length=text_limit(Initiative, "retirement_lessons"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when retiring: what the next team should know. "
                  "Shown in the kill log and at intake.")


class StageMoveForm(RetirementFields):
    """The moves open to this initiative now; the service decides the rules."""

    field_order = ["to_stage", "expected_stage", "note", "retirement_reason", "retirement_lessons"]

    to_stage = forms.ChoiceField(label="Move", choices=Stage.choices)
    expected_stage = forms.ChoiceField(choices=Stage.choices, widget=forms.HiddenInput)
    note = forms.CharField(required=False, max_length=text_limit(StageTransition, "note"),
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text="Why. Required when moving back.")

    def __init__(self, *args, moves: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        # Offer the moves open now; accept any stage, so a move made from a stale page
        # reaches the service and is told what changed.
        self.fields["to_stage"].widget.choices = [("", "Choose a move…"), *moves]


class KillLogFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search",
                                                      "placeholder": "Title, summary or lessons"}))
    reason = forms.ChoiceField(choices=any_of(RetirementReason.choices), required=False)
    team = forms.ModelChoiceField(queryset=Team.objects.only("id", "name", "slug"), required=False,
                                  empty_label="Any", to_field_name="slug", widget=LongSelect)


class OwnershipFilterForm(forms.Form):
    """The ownership page's filters: a team and a kind of problem."""

    team = forms.ModelChoiceField(queryset=Team.objects.only("id", "name", "slug"), required=False,
                                  empty_label="Any", to_field_name="slug", widget=LongSelect)
    problem = forms.ChoiceField(required=False, choices=any_of(OWNERSHIP_PROBLEMS))


class ReassignOwnerForm(forms.Form):
    """A TPM or an admin names the new accountable owner: an active PM."""

    owner = PersonField(role="owner", label="New owner",
                        help_text="An active product manager; they become Accountable. "
                                  + PICKER_HELP)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class StakeholderForm(forms.Form):
    """Name someone Responsible, Consulted or Informed (the owner is the Accountable one)."""

    user = PersonField(role="stakeholder", label="Person", help_text=PICKER_HELP)
    role = forms.ChoiceField(choices=[(value, label) for value, label
                                      in Stakeholder.Role.choices if value != "A"])


class DependencyForm(forms.Form):
    """What this initiative needs: named by its number or its title (``InitiativeField``);
    the picker leaves out ``initiative`` itself."""

    depends_on = InitiativeField(
        label="Depends on",
        help_text="The initiative's number (from its address) or its title.",
        widget=PickerInput(source="portfolio:initiative-search",
                           attrs={"placeholder": "e.g. 42 or Vendor master data cleanup"}),
    )

    def __init__(self, *args, initiative=None, **kwargs):
        super().__init__(*args, **kwargs)
        if initiative is not None:
            self.fields["depends_on"].widget.params = {"exclude": initiative.pk}


def add_refusal(form: forms.Form, error) -> None:
    """Show a service's ``DomainError`` on the field it names, or above the form."""
    form.add_error(error.field if error.field in form.fields else None, error.message)


# --- Personal API tokens -----------------------------------------------------------------------

class ApiTokenForm(forms.Form):
    """A new API token's name; ``portfolio.tokens.api_token_create`` has the rules."""

    name = forms.CharField(
        label="Token name", max_length=NAME_MAX_LENGTH,
        help_text="What it is for, e.g. “Quarterly report script”.",
        error_messages={"required": NAME_REQUIRED},
        widget=forms.TextInput(attrs={"autocomplete": "off"}))
