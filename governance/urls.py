from django.urls import path

from governance import views

app_name = "governance"

urlpatterns = [
    path("queue/", views.review_queue, name="review-queue"),
    path("checkpoints/<int:pk>/", views.checkpoint_decide, name="checkpoint-decide"),
]
