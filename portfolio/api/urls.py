"""``/api/v1/``: the router of every app's endpoints; the schema and Swagger UI."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from portfolio.api import kill_log, outcomes, views
from portfolio.pilots import api as pilots

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("initiatives", views.InitiativeViewSet, basename="initiative")
router.register("teams", views.TeamViewSet, basename="team")
router.register("stalls", pilots.StallFlagViewSet, basename="stall")
router.register("kill-log", kill_log.KillLogViewSet, basename="kill-log")
router.register("value-reviews", outcomes.ValueReviewViewSet, basename="value-review")

urlpatterns = [
    path("v1/", include((router.urls, "api"), namespace="api")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Our template: Swagger UI from the sidecar's files and a script file of ours, nothing
    # inline, so that it runs under the site's strict Content-Security-Policy.
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema",
                                                 template_name="portfolio/api_docs.html"),
         name="api-docs"),
]
