"""Sign-in pages: the login page (password and "Sign in with …"), the provider's start and
callback, sign-out and the provider's end-session. Rules live in ``services``."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from portfolio.identity import services
from portfolio.identity.backends import OIDC_BACKEND, OidcBackend
from portfolio.identity.discovery import ProviderUnavailable, provider_metadata
from portfolio.identity.models import SignInMethod
from portfolio.identity.request_info import client_ip

SSO_LOGOUT_HINT = "identity_sso_logout_hint"
STATE_UNKNOWN = ("This sign-in answer does not belong to a sign-in started here, or it was "
                 "already used. Start again with “Sign in with {provider}”.")
PROVIDER_ERROR = "{provider} did not sign you in: {why}"
INCOMPLETE = "The provider's answer was incomplete. Start again."
GENERIC_FAILURE = "Signing in through {provider} failed. Start again."


class SignInForm(AuthenticationForm):
    """The password form; while password sign-in is off it refuses anyone but the
    break-glass accounts before checking the password (and before counting a failure)."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        if settings.SSO_ENABLED:
            # The provider's button is the way in; the password form is the second one.
            self.fields["username"].widget.attrs.pop("autofocus", None)

    def clean(self):
        username = self.cleaned_data.get("username")
        if username and not services.password_sign_in_allowed(username):
            services.sign_in_failed(method=SignInMethod.PASSWORD, username=username[:150],
                                    reason="password sign-in is off",
                                    ip=client_ip(self.request), now=timezone.now())
            raise forms.ValidationError(services.password_sign_in_refusal(),
                                        code="password_sign_in_off")
        return super().clean()


def _sign_in_context(request) -> dict:
    return {
        "sso_enabled": settings.SSO_ENABLED,
        "sso_provider_name": settings.OIDC_PROVIDER_NAME,
        "password_sign_in": settings.PASSWORD_SIGN_IN,
        "sso_logout_offer": settings.SSO_ENABLED and bool(request.session.get(SSO_LOGOUT_HINT)),
    }


class SignInView(LoginView):
    form_class = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **_sign_in_context(self.request)}


def _provider_name() -> str:
    return settings.OIDC_PROVIDER_NAME


def _refuse(request, reason: str, *, recorded: bool = False):
    """Back to the login page with why; the failure goes on the account record once."""
    if not recorded:
        services.sign_in_failed(method=SignInMethod.SSO, reason=reason, ip=client_ip(request),
                                now=timezone.now())
    messages.error(request, reason)
    return redirect("login")


class SsoStartView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider (mozilla-django-oidc builds the request: state,
    nonce and the PKCE challenge kept in the session)."""

    def __init__(self, *args, **kwargs):
        View.__init__(self, *args, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request):
        if not settings.SSO_ENABLED:
            raise Http404
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_metadata()["authorization_endpoint"]
        except ProviderUnavailable as error:
            return _refuse(request, PROVIDER_ERROR.format(provider=_provider_name(),
                                                          why=f"{error}."))
        return super().get(request)


class SsoCallbackView(View):
    """Where the provider sends the browser back. The state must be one this session
    started and not yet used (it is consumed before anything else); then the backend
    exchanges the code (with the PKCE verifier) and checks the ID token and its nonce."""

    http_method_names = ["get"]

    def get(self, request):
        if not settings.SSO_ENABLED:
            raise Http404
        provider = _provider_name()
        state = request.GET.get("state")
        states = request.session.get("oidc_states") or {}
        pending = states.pop(state, None) if state else None
        if pending is not None:
            request.session["oidc_states"] = states  # used once: a replay finds nothing
        if pending is None:  # before the provider's error too: a crafted link has no state
            return _refuse(request, STATE_UNKNOWN.format(provider=provider))
        if request.GET.get("error"):
            why = request.GET.get("error_description") or request.GET["error"]
            return _refuse(request, PROVIDER_ERROR.format(provider=provider, why=why[:200]))
        if not request.GET.get("code"):
            return _refuse(request, INCOMPLETE)
        user = OidcBackend().authenticate(request, nonce=pending.get("nonce"),
                                          code_verifier=pending.get("code_verifier"))
        if user is None or not user.is_active:
            reason = getattr(request, "sso_failure", "") or GENERIC_FAILURE.format(
                provider=provider)
            return _refuse(request, reason,
                           recorded=getattr(request, "sso_failure_recorded", False))
        next_url = request.session.get("oidc_login_next")
        auth.login(request, user, backend=OIDC_BACKEND)
        return HttpResponseRedirect(next_url or reverse(settings.LOGIN_REDIRECT_URL))


@method_decorator([csrf_protect, never_cache], name="dispatch")
class SignOutView(View):
    """Ends the session here; after a single sign-on session the login page offers to sign
    out at the provider too (its end-session endpoint), which ends the provider's own."""

    http_method_names = ["post"]

    def post(self, request):
        id_token = request.session.get("oidc_id_token")
        auth.logout(request)
        if settings.SSO_ENABLED and id_token:
            request.session[SSO_LOGOUT_HINT] = id_token
        return redirect(settings.LOGOUT_REDIRECT_URL)


class SsoEndSessionView(View):
    """Sends the browser to the provider's end-session endpoint with the ID token of the
    session that just ended; back at the login page afterwards."""

    http_method_names = ["get"]

    def get(self, request):
        hint = request.session.pop(SSO_LOGOUT_HINT, None)
        if not settings.SSO_ENABLED or not hint:
            return redirect("login")
        try:
            endpoint = provider_metadata().get("end_session_endpoint")
        except ProviderUnavailable:
            endpoint = None
        if not endpoint:
            messages.info(request, f"{_provider_name()} offers no sign-out from here.")
            return redirect("login")
        query = urlencode({
            "id_token_hint": hint,
            "client_id": settings.OIDC_RP_CLIENT_ID,
            "post_logout_redirect_uri": request.build_absolute_uri(reverse("login")),
        })
        return HttpResponseRedirect(f"{endpoint}?{query}")


@login_not_required
def admin_sign_in(request, extra_context=None):
    """The admin's sign-in page (``admin.site.login``), or, with single sign-on on, ours:
    the admin's form knows only passwords, and whoever signs in on ours is signed in to the
    admin too."""
    from django.contrib.admin import AdminSite, site

    if settings.SSO_ENABLED and not request.user.is_authenticated:
        next_url = request.GET.get("next") or reverse("admin:index")
        return HttpResponseRedirect(f"{reverse('login')}?{urlencode({'next': next_url})}")
    return AdminSite.login(site, request, extra_context)
