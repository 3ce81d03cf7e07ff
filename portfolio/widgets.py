"""Pickers that search as you type instead of listing everyone (docs/architecture.md,
"People pickers").

A picker is a plain text input. Without JavaScript the user types a name, a username, an
email address or a number, and the form resolves it on submit (``PersonField``,
``InitiativeField``), with a field error that lists the candidates when the text names
several and says so when it names nobody. With JavaScript, ``static/js/people-picker.js``
turns the input into an ARIA combobox that asks the search endpoint
(``portfolio:people-search``, ``portfolio:initiative-search``) for suggestions.
Whether the person may hold the role stays with the services (``services.owner_check``,
``services.stakeholder_add``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib.auth import get_user_model
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from portfolio.selectors import pickers

NOBODY = "No one matches “{text}”. Type a name, a username or an email address."
NO_OWNER = ("No active product manager matches “{text}”. Type a name, a username or an "
            "email address.")
SEVERAL = "“{text}” matches several people: {names}. Type the username of the one you mean."
NO_INITIATIVE = "No initiative is called “{text}”."
NO_NUMBER = "No initiative has the number {number}."
SEVERAL_INITIATIVES = "More than one initiative matches “{text}”: {listed}. Use its number."

PICKER_HELP = "Type a name, a username or an email address."


class PickerInput(forms.TextInput):
    """A text input that ``people-picker.js`` enhances; ``source`` is the URL name of the
    search endpoint and ``params`` its fixed query (the role, the initiative to leave out)."""

    def __init__(self, *, source: str, params: dict | None = None, attrs=None):
        super().__init__(attrs={"autocomplete": "off", "spellcheck": "false",
                                "maxlength": pickers.MAX_QUERY, **(attrs or {})})
        self.source = source
        self.params = params or {}

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        url = reverse(self.source)
        if self.params:
            url = f"{url}?{urlencode(self.params)}"
        context["widget"]["attrs"]["data-picker"] = url
        return context


class PersonField(forms.Field):
    """One person, typed; ``cleaned_data`` holds the user (active or not: the service
    says whether they may hold the role). Ids are accepted too, as the API and older
    pages send them."""

    def __init__(self, *, role: str, **kwargs):
        if role not in pickers.PERSON_ROLES:
            raise ValueError(f"Unknown role {role!r}")
        self.role = role
        kwargs.setdefault("widget", PickerInput(source="portfolio:people-search",
                                                params={"role": role}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        """The current value as the person's name: a user, or the id a form was given."""
        if isinstance(value, get_user_model()):
            return pickers.person_label(value)
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()
                                      and len(value) <= 18):
            user = get_user_model().objects.filter(pk=int(value)).only(
                "id", "username", "first_name", "last_name").first()
            return pickers.person_label(user) if user else value
        return value

    def to_python(self, value):
        text = pickers.clean_query(value)
        if not text:
            return None
        resolved = pickers.person_resolve(text=text, role=self.role)
        if resolved.one is not None:
            return resolved.one
        if resolved.matches:
            names = "; ".join(pickers.person_label(user) for user in resolved.matches[:5])
            raise forms.ValidationError(SEVERAL.format(text=text, names=names),
                                        code="ambiguous")
        raise forms.ValidationError((NO_OWNER if self.role == "owner" else NOBODY)
                                    .format(text=text), code="unknown")


class InitiativeField(forms.Field):
    """One initiative, by its number ("42", "#42", "#42 Title") or its title."""

    def __init__(self, *, exclude: int | None = None, **kwargs):
        params = {"exclude": exclude} if exclude is not None else {}
        kwargs.setdefault("widget", PickerInput(source="portfolio:initiative-search",
                                                params=params))
        super().__init__(**kwargs)

    def to_python(self, value):
        text = pickers.clean_query(value)
        if not text:
            return None
        resolved = pickers.initiative_resolve(text=text)
        if resolved.one is not None:
            return resolved.one
        if resolved.number is not None:
            raise forms.ValidationError(NO_NUMBER.format(number=resolved.number),
                                        code="unknown")
        if resolved.matches:
            listed = "; ".join(pickers.initiative_label(m) for m in resolved.matches[:5])
            raise forms.ValidationError(SEVERAL_INITIATIVES.format(text=text, listed=listed),
                                        code="ambiguous")
        raise forms.ValidationError(NO_INITIATIVE.format(text=text), code="unknown")


class LongSelect(forms.Select):
    """A ``Select`` for a list that grows with the portfolio (every team), without option
    groups: the same elements and attributes as Django's (without its template's line
    breaks), its options written in Python rather than one template render each (316
    teams took 170 ms that way)."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = self.format_value(value)  # [""] for no choice: "Any" is selected
        selected = " selected"  # the first option of the chosen value only, as Django's
        options = []
        for option_value, label in self.choices:
            text = "" if option_value is None else str(option_value)
            mark = selected if selected and text in chosen else ""
            selected = selected if not mark else ""
            options.append((text, mark, label))
        return format_html("<select name=\"{}\"{}>{}</select>", name,
                           flatatt(self.build_attrs(self.attrs, attrs)),
                           format_html_join("", "<option value=\"{}\"{}>{}</option>", options))
