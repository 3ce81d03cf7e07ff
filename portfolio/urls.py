"""Root URL configuration: the project wiring names every app."""

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from portfolio.identity import views as identity_views
from portfolio.views import general as views

# The sign-in machinery answers people who are not signed in yet.
_public = login_not_required

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("no-role/", views.no_role, name="no-role"),
    path("login/", identity_views.SignInView.as_view(), name="login"),
    path("logout/", _public(identity_views.SignOutView.as_view()), name="logout"),
    path("sso/start/", _public(identity_views.SsoStartView.as_view()), name="sso-start"),
    path("sso/callback/", _public(identity_views.SsoCallbackView.as_view()), name="sso-callback"),
    path("sso/logout/", _public(identity_views.SsoEndSessionView.as_view()), name="sso-logout"),
    path("", include("portfolio.web_urls")),
    path("governance/", include("governance.urls")),
    path("", include("scoring.urls")),
    path("api/", include("portfolio.api.urls")),
    path("api/v1/", include(("governance.api_urls", "governance"), namespace="governance-api")),
    path("api/v1/", include(("scoring.api_urls", "scoring"), namespace="scoring-api")),
    path("admin/", admin.site.urls),
]

handler400 = "portfolio.views.general.bad_request"
handler404 = "portfolio.views.general.page_not_found"
