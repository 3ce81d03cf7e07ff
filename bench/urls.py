"""The app's URLconf plus the benchmark's baseline view (``bench.views.minimal``)."""

from django.urls import path

from bench import views
from portfolio.urls import handler400, handler404
from portfolio.urls import urlpatterns as app_urlpatterns

urlpatterns = [path("bench/minimal/", views.minimal, name="bench-minimal"), *app_urlpatterns]

__all__ = ["handler400", "handler404", "urlpatterns"]
