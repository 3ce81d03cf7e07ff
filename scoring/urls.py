from django.urls import path

from scoring import views

app_name = "scoring"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/export.csv", views.dashboard_export, name="dashboard-export"),
    path("dashboard/value/", views.value, name="value"),
]
