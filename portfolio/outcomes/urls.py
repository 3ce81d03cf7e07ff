"""URLs of the exit contract on the initiative page (names in the ``portfolio`` namespace)."""

urlpatterns = []
