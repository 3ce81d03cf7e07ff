"""``/api/v1/`` endpoints of scoring (the project's urls.py mounts them)."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from scoring.api import (
    CapacityPlanViewSet,
    DashboardView,
    RankingView,
    ReviewCapacityView,
    ValueView,
)
from scoring.scenario_api import ScenarioDetailView, ScenarioListView

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("capacity-plans", CapacityPlanViewSet, basename="capacity-plan")

urlpatterns = router.urls + [
    path("ranking/", RankingView.as_view(), name="ranking"),
    path("dashboard/", DashboardView.as_view(), name="dashboard"),
    path("value/", ValueView.as_view(), name="value"),
    path("review-capacity/", ReviewCapacityView.as_view(), name="review-capacity"),
    path("scenarios/", ScenarioListView.as_view(), name="scenario-list"),
    path("scenarios/<uuid:key>/", ScenarioDetailView.as_view(), name="scenario-detail"),
]
