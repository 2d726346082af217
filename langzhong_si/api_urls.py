from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from catalog import api as catalog_api

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("catalog/categories/", catalog_api.CategoryListApi.as_view(), name="api-categories"),
    path("catalog/items/", catalog_api.ItemListApi.as_view(), name="api-items"),
    path("catalog/items/<str:code>/", catalog_api.ItemGuideApi.as_view(), name="api-item"),
]
