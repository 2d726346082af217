from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns = [
    path("guides/", views.guide_index, name="guide_index"),
    path("guides/search/", views.guide_search, name="guide_search"),
    path("guides/<str:code>/", views.guide_detail, name="guide_detail"),
    path("guides/<str:code>/qr.svg", views.guide_qr, name="guide_qr"),
]
