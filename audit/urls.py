from django.urls import path

from audit import views

app_name = "audit"
urlpatterns = [
    path("audit/findings/", views.finding_queue, name="finding_queue"),
    path("audit/findings/<int:finding_id>/", views.finding_detail, name="finding_detail"),
    path("audit/cases/<int:case_id>/archive.zip", views.case_archive, name="case_archive"),
    path("audit/log/", views.audit_log, name="audit_log"),
]
