from django.urls import path

from inspection import views

# The namespace keeps its name: the screens were the audit app's, and links say "audit:".
app_name = "audit"
urlpatterns = [
    path("audit/findings/", views.finding_queue, name="finding_queue"),
    path("audit/findings/<int:finding_id>/", views.finding_detail, name="finding_detail"),
    path("audit/cases/<int:case_id>/archive.zip", views.case_archive, name="case_archive"),
    path("audit/log/", views.audit_log, name="audit_log"),
]
