"""URLs of the exit contract on the initiative page (names in the ``portfolio`` namespace)."""

from django.urls import path

from portfolio.outcomes import views

urlpatterns = [
    path("initiatives/<int:pk>/measurements/", views.measurement_create,
         name="measurement-create"),
    path("initiatives/<int:pk>/measurements/import/", views.measurement_import,
         name="measurement-import"),
    path("initiatives/<int:pk>/measurements/template.csv", views.measurement_import_template,
         name="measurement-import-template"),
    path("initiatives/<int:pk>/overrides/", views.contract_override, name="contract-override"),
]
