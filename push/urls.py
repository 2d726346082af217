from django.urls import path

from push import views

app_name = "push"

urlpatterns = [
    path("events/", views.no_stream, name="events"),
]
