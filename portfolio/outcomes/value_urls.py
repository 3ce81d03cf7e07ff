"""URLs of value reviews (names in the ``portfolio`` namespace)."""

from django.urls import path

from portfolio.outcomes import value_views

urlpatterns = [
    path("value-reviews/", value_views.value_review_list, name="value-review-list"),
    path("value-reviews/<int:review_id>/record/", value_views.value_review_record,
         name="value-review-record"),
    path("value-reviews/<int:review_id>/decide/", value_views.value_review_decide,
         name="value-review-decide"),
]
