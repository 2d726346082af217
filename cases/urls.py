from django.urls import path

from cases import views

app_name = "cases"
urlpatterns = [
    # The case file. The paths are the ones these pages had under counters: bookmarks and
    # the QR codes printed on receipts (progress/) keep working.
    path("progress/", views.progress, name="progress"),
    path("counter/intake/", views.intake, name="intake"),
    path("counter/cases/", views.case_search, name="case_search"),
    path("counter/cases/<int:case_id>/", views.case_detail, name="case_detail"),
    path("counter/cases/<int:case_id>/correct/", views.case_correct, name="case_correct"),
    path("counter/cases/<int:case_id>/supply/", views.case_supply, name="case_supply"),
    path("counter/cases/<int:case_id>/resubmit/", views.case_resubmit, name="case_resubmit"),
]
