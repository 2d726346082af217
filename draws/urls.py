from django.urls import path

from draws import views

app_name = "draws"
urlpatterns = [
    path("draws/", views.draw_days, name="draw_days"),
    path("draws/bundle/", views.draw_bundle, name="draw_bundle"),
]
