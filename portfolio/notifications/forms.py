"""Forms of notifications: a person's choice per kind of event, and the admin's allowed
webhook hosts and chat channels (whose webhook URL is written, never read back)."""

from __future__ import annotations

from django import forms

from portfolio.exceptions import DomainError
from portfolio.models import ChatChannel, NotificationMode, WebhookHost
from portfolio.notifications import services

KEEP_URL_HELP = "Saved: {hint}. Leave empty to keep it."
NEW_URL_HELP = ("The channel's incoming webhook URL, from Slack or Microsoft Teams. It is "
                "kept secret: once saved, only its host and last characters are shown.")
URL_REQUIRED = "A channel needs its webhook URL."


class NotificationSettingsForm(forms.Form):
    """One radio group per kind of event people are told about (``hooks.notifying_kinds``):
    immediately, in a daily summary, or off."""

    def __init__(self, *args, kinds: dict, **kwargs):
        super().__init__(*args, **kwargs)
        for kind, notify in kinds.items():
            self.fields[kind] = forms.ChoiceField(
                label=notify.label, choices=NotificationMode.choices,
                widget=forms.RadioSelect,
                error_messages={"required": services.UNKNOWN_MODE,
                                "invalid_choice": services.UNKNOWN_MODE})


class WebhookHostForm(forms.ModelForm):
    """A host chat webhooks may post to; the service's rule, asked here for a field error."""

    class Meta:
        model = WebhookHost
        fields = ["host", "note"]

    def clean_host(self):
        try:
            return services.webhook_host_clean(self.cleaned_data["host"])
        except DomainError as refusal:
            raise forms.ValidationError(refusal.message) from None


class WriteOnlyInput(forms.TextInput):
    """A text box that never shows a value: not the saved one, nor one typed into a form
    that comes back with an error (the page would carry the secret)."""

    def format_value(self, value):
        return None


class ChatChannelForm(forms.ModelForm):
    """A channel's team, kind, name and switch; the URL is a separate, write-only field,
    empty on every form, so the saved one is never put in a page (only its hint)."""

    webhook_url = forms.CharField(
        label="Webhook URL", required=False, max_length=1000, strip=True,
        error_messages={"required": URL_REQUIRED},
        widget=WriteOnlyInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                     "size": 80}))

    class Meta:
        model = ChatChannel
        fields = ["team", "kind", "name", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["webhook_url"]
        self.initial.pop("webhook_url", None)  # never filled in, whatever asks
        if self.instance.pk and self.instance.url_hint:
            field.help_text = KEEP_URL_HELP.format(hint=self.instance.url_hint)
        else:
            field.required = True
            field.help_text = NEW_URL_HELP

    def clean_webhook_url(self):
        url = self.cleaned_data["webhook_url"]
        if url:
            errors = services.chat_channel_url_errors(url)
            if errors:
                raise forms.ValidationError(errors[0])
        return url
