from django.urls import path

from scans import views

# No namespace of its own: the wiring (langzhong_si/urls.py) serves these under "cases",
# the names they had before the scans left the case file ("cases:document_download", ...).
urlpatterns = [
    path("files/<int:document_id>/", views.document_download, name="document_download"),
    path("cases/<int:case_id>/reveal-id/", views.case_reveal_id, name="case_reveal_id"),
]
