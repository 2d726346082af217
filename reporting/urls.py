from django.urls import path

from reporting import views

app_name = "reporting"
urlpatterns = [
    path("lead/reporting/", views.overview, name="overview"),
    path("lead/reporting/resend/", views.resend, name="resend"),
]
