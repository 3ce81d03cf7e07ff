from django.urls import path

from scoring import capacity_views, scenario_views, views

app_name = "scoring"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/export.csv", views.dashboard_export, name="dashboard-export"),
    path("dashboard/value/", views.value, name="value"),
    path("dashboard/capacity/", capacity_views.capacity, name="capacity"),
    path("dashboard/scenarios/", scenario_views.scenario_list, name="scenarios"),
    path("dashboard/scenarios/<uuid:key>/", scenario_views.scenario_detail, name="scenario"),
    path("dashboard/scenarios/<uuid:key>/edit/", scenario_views.scenario_edit,
         name="scenario-edit"),
    path("dashboard/scenarios/<uuid:key>/delete/", scenario_views.scenario_delete,
         name="scenario-delete"),
    path("dashboard/scenarios/<uuid:key>/apply/", scenario_views.scenario_apply,
         name="scenario-apply"),
]
