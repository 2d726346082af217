from django.urls import path

from operations import views

app_name = "operations"
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("lead/dashboard/status/", views.hall_banner_view, name="hall_banner"),
    path("retention/", views.retention_due, name="retention_due"),
    path("retention/history/", views.retention_history, name="retention_history"),
    path(
        "retention/cases/<int:case_id>/propose/", views.retention_propose, name="retention_propose"
    ),
    path(
        "retention/decisions/<int:decision_id>/approve/",
        views.retention_approve,
        name="retention_approve",
    ),
    path(
        "retention/decisions/<int:decision_id>/decline/",
        views.retention_decline,
        name="retention_decline",
    ),
    path(
        "retention/decisions/<int:decision_id>/withdraw/",
        views.retention_withdraw,
        name="retention_withdraw",
    ),
]
