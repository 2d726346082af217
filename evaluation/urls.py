from django.urls import path

from evaluation import views

app_name = "evaluation"
urlpatterns = [
    path("lead/dashboard/", views.dashboard, name="dashboard"),
    path("lead/catalog/", views.catalog_offer, name="catalog_offer"),
    path("lead/dashboard/live/", views.dashboard_live, name="dashboard_live"),
    path("reports/", views.report, name="report"),
    path("reports/export.xlsx", views.report_export, name="report_export"),
    path("evaluation/", views.evaluation_list, name="evaluation_list"),
    path("evaluation/export.xlsx", views.evaluation_export, name="evaluation_export"),
    path("evaluation/weights/", views.evaluation_weights, name="evaluation_weights"),
    path("evaluation/<int:user_id>/", views.evaluation_sheet, name="evaluation_sheet"),
]
