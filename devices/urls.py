from django.urls import path

from devices import views

app_name = "devices"
urlpatterns = [
    path("devices/<str:token>/register/", views.device_register, name="device_register"),
    path("devices/essc/verify/", views.essc_verify, name="essc_verify"),
    path("lead/devices/", views.hall_devices, name="hall_devices"),
]
