from django.urls import path

from devices import views

app_name = "devices"
urlpatterns = [
    path("devices/<str:token>/register/", views.device_register, name="device_register"),
    path("lead/devices/", views.hall_devices, name="hall_devices"),
]
