from django.urls import path

from appointments import views

app_name = "appointments"
urlpatterns = [
    path("appointments/", views.book, name="book"),
    path("appointments/booked/", views.booked, name="booked"),
    path("appointments/cancel/", views.cancel, name="cancel"),
    path("kiosk/appointment/", views.kiosk_check_in, name="kiosk_check_in"),
    path("lead/appointments/", views.capacities, name="capacities"),
]
