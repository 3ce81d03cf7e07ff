"""Forms of the governance pages: the review queue's filters and a reviewer's decisions.

The forms check shape only (a URL is a URL, a date is a date); the rules (evidence needed,
how long a waiver may last, who may decide) are the services' and come back as field errors.
"""

from django import forms

from governance import services
from governance.models import Checkpoint, CheckpointType, ReviewerGroup
from portfolio.models import Team, text_limit
from portfolio.widgets import LongSelect

QUEUE_TABS = {
    # key: (label, what it selects; see views.QUEUE_FILTERS)
    "pending": "Pending",
    "in_review": "In review",
    "overdue": "Overdue",
    "rejected": "Rejected",
    "lapsed": "Waiver expired",
}


class QueueFilterForm(forms.Form):
    """The review queue's tab and filters; every field is optional."""

    status = forms.ChoiceField(choices=[("", "Any"), *QUEUE_TABS.items()], required=False)
    type = forms.ModelChoiceField(label="Checkpoint",
                                  queryset=CheckpointType.objects.only("id", "code", "name"),
                                  required=False, empty_label="Any", to_field_name="code")
    team = forms.ModelChoiceField(queryset=Team.objects.only("id", "name", "slug"),
                                  required=False, empty_label="Any", to_field_name="slug",
                                  widget=LongSelect)


class ReviewQueueForm(QueueFilterForm):
    """The queue page's filters: the API's, plus a search by initiative, "mine", a reviewer
    group and grouping the rows by initiative."""

    q = forms.CharField(label="Initiative", required=False, max_length=200,
                        help_text="Words of its title, or its number (#123).")
    group = forms.ModelChoiceField(label="Reviewer group",
                                   queryset=ReviewerGroup.objects.only("id", "name"),
                                   required=False, empty_label="Any")
    mine = forms.BooleanField(label="Only what I may review", required=False,
                              help_text="Taken by you, or routed to your group or to every "
                                        "reviewer, and not on an initiative you hold a "
                                        "role on.")
    by = forms.ChoiceField(label="Show", required=False,
                           choices=[("", "One list"), ("initiative", "Grouped by initiative")])

    field_order = ["q", "status", "type", "team", "group", "mine", "by"]


class _DecisionForm(forms.Form):
    # The checkpoint version the page was loaded from; a decision made since is not overwritten.
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    action = forms.CharField(widget=forms.HiddenInput)


class StartReviewForm(_DecisionForm):
    pass


class DecideForm(_DecisionForm):
    # Sent by the button pressed: "Approve" or "Reject".
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")],
                                 error_messages={"required": "Choose Approve or Reject."})
    evidence_url = forms.URLField(
        label="Evidence link", required=False, assume_scheme="https",
        max_length=text_limit(Checkpoint, "evidence_url"),
        widget=forms.URLInput(attrs={"placeholder": "https://wiki.example.com/…"}),
        help_text="Where the review's evidence lives.")
    evidence_notes = forms.CharField(
        label="Notes", required=False, max_length=text_limit(Checkpoint, "evidence_notes"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What you checked and what you found. A link or notes is required.")


class WaiveForm(_DecisionForm):
    justification = forms.CharField(
        required=False, max_length=text_limit(Checkpoint, "waiver_justification"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why the gate may open without approval, and the compensating control.")
    expires_on = forms.DateField(
        label="Waiver expires on", widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "A waiver needs an expiry date."},
        help_text="The gate blocks again after this date.")


# How much of "what changed" the re-review keeps (``services.checkpoint_request_re_review``).
CHANGED_MAX_LENGTH = 2000


class ReReviewForm(_DecisionForm):
    """After a rejection, the owner or a Responsible PM asks for another review."""

    changed = forms.CharField(
        label="What changed since the rejection", max_length=CHANGED_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": services.RE_REVIEW_NEEDS_CHANGE},
        help_text="The reviewers read it with the rejection's reason.")
