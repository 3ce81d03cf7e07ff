"""``/api/v1/`` endpoints of governance (the project's urls.py mounts them)."""

from rest_framework.routers import DefaultRouter

from governance.api import CheckpointViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("checkpoints", CheckpointViewSet, basename="checkpoint")

# ``review-capacity/`` is scoring's (scoring/api_urls.py): it is read per standings snapshot.
urlpatterns = router.urls
