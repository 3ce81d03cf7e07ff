from django.urls import path

from portfolio.views import initiatives as views

app_name = "portfolio"

urlpatterns = [
    path("initiatives/", views.initiative_list, name="initiative-list"),
]
