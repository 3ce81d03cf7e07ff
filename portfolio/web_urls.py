from django.urls import include, path

from portfolio.notifications import views as notification_views
from portfolio.outcomes import urls as outcome_urls
from portfolio.outcomes import value_urls
from portfolio.pilots import views as pilots
from portfolio.views import csv as csv_views
from portfolio.views import inbox as inbox_views
from portfolio.views import initiatives as views
from portfolio.views import ownership, people, tokens

app_name = "portfolio"

urlpatterns = [
    path("inbox/", inbox_views.inbox, name="inbox"),
    path("inbox/count.json", inbox_views.inbox_count_json, name="inbox-count"),
    path("initiatives/", views.initiative_list, name="initiative-list"),
    path("initiatives/export.csv", csv_views.initiative_export, name="initiative-export"),
    path("initiatives/import/", csv_views.initiative_import, name="initiative-import"),
    path("initiatives/import/template.csv", csv_views.initiative_import_template,
         name="initiative-import-template"),
    path("initiatives/new/", views.initiative_create, name="initiative-create"),
    path("initiatives/similar/", views.initiative_similar, name="initiative-similar"),
    path("initiatives/search/", people.initiative_search, name="initiative-search"),
    path("people/search/", people.people_search, name="people-search"),
    path("initiatives/kill-log/", views.kill_log, name="kill-log"),
    path("initiatives/ownership/", ownership.ownership_health, name="ownership-health"),
    path("initiatives/<int:pk>/reassign/", ownership.initiative_reassign,
         name="initiative-reassign"),
    path("initiatives/<int:pk>/", views.initiative_detail, name="initiative-detail"),
    path("initiatives/<int:pk>/edit/", views.initiative_edit, name="initiative-edit"),
    path("initiatives/<int:pk>/updates/", views.update_create, name="update-create"),
    path("initiatives/<int:pk>/move/", views.initiative_move, name="initiative-move"),
    path("initiatives/<int:pk>/people/", people.stakeholder_create, name="stakeholder-create"),
    path("initiatives/<int:pk>/people/<int:stakeholder_id>/remove/", people.stakeholder_delete,
         name="stakeholder-delete"),
    path("initiatives/<int:pk>/dependencies/", people.dependency_create,
         name="dependency-create"),
    path("initiatives/<int:pk>/dependencies/<int:depends_on_id>/remove/",
         people.dependency_delete, name="dependency-delete"),
    # Outcomes: the exit contract's measurements and overrides, and value reviews.
    path("", include(outcome_urls)),
    path("", include(value_urls)),
    path("stalls/", pilots.stall_list, name="stall-list"),
    path("stalls/<int:flag_id>/decide/", pilots.stall_decide, name="stall-decide"),
    path("digest/settings/", pilots.digest_settings, name="digest-settings"),
    path("digest/preview/", pilots.digest_preview, name="digest-preview"),
    path("settings/notifications/", notification_views.notification_settings,
         name="notification-settings"),
    path("account/tokens/", tokens.api_token_list, name="api-tokens"),
    path("account/tokens/<int:pk>/revoke/", tokens.api_token_revoke, name="api-token-revoke"),
]
