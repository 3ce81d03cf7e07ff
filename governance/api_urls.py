"""``/api/v1/`` endpoints of governance (the project's urls.py mounts them)."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from governance.api import CheckpointViewSet, ReviewCapacityView

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("checkpoints", CheckpointViewSet, basename="checkpoint")

urlpatterns = router.urls + [
    path("review-capacity/", ReviewCapacityView.as_view(), name="review-capacity"),
]
