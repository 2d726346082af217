from django.urls import path

from papers import views

# No namespace of its own: the wiring (langzhong_si/urls.py) serves these under "cases",
# the names they had before the papers left the case file ("cases:case_receipt", ...).
urlpatterns = [
    path("counter/cases/<int:case_id>/receipt/", views.case_receipt, name="case_receipt"),
    path("counter/cases/<int:case_id>/signature/", views.case_signature, name="case_signature"),
]
