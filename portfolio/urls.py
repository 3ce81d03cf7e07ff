"""Root URL configuration: the project wiring names every app."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portfolio.views import general as views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("no-role/", views.no_role, name="no-role"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
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
