"""Personal API tokens: each user creates and revokes their own.

Anyone who reads the portfolio may hold tokens; outsiders get 404. A new key is
shown once, in the response to the form that created it, and never again.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portfolio import tokens
from portfolio.access import require_reader
from portfolio.exceptions import DomainError
from portfolio.forms import ApiTokenForm, add_refusal

REVOKED = "Token “{name}” revoked: requests that use it are now refused."


@never_cache  # the response that shows a new key must not be kept by any cache
def api_token_list(request):
    """The user's tokens, and a form to create one; a created key is shown here, once."""
    require_reader(request.user)
    created = key = None
    if request.method == "POST":
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            try:
                created, key = tokens.api_token_create(
                    user=request.user, name=form.cleaned_data["name"], now=timezone.now())
            except DomainError as error:
                add_refusal(form, error)
            else:
                form = ApiTokenForm()
    else:
        form = ApiTokenForm()
    listed = list(tokens.api_token_list(user=request.user))
    return render(request, "portfolio/api_tokens.html", {
        "form": form,
        "tokens": listed,
        "created": created,
        "key": key,
        "active_count": sum(token.is_active for token in listed),
        "max_active": tokens.MAX_ACTIVE_TOKENS,
    }, status=400 if form.errors else 200)


@require_POST
def api_token_revoke(request, pk: int):
    require_reader(request.user)
    token = tokens.api_token_get_for_user(user=request.user, pk=pk)  # someone else's: 404
    was_active = token.is_active
    tokens.api_token_revoke(token=token, actor=request.user, now=timezone.now())
    if was_active:
        messages.success(request, REVOKED.format(name=token.name))
    return redirect("portfolio:api-tokens")
