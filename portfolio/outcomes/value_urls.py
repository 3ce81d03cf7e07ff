"""URLs of value reviews (names in the ``portfolio`` namespace)."""

urlpatterns = []
