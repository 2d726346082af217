from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from catalog import api as catalog_api
from risk import api as risk_api

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("catalog/categories/", catalog_api.CategoryListApi.as_view(), name="api-categories"),
    path("catalog/items/", catalog_api.ItemListApi.as_view(), name="api-items"),
    path("catalog/items/<str:code>/", catalog_api.ItemGuideApi.as_view(), name="api-item"),
    path("inbox/tasks/", risk_api.InboxListApi.as_view(), name="api-inbox"),
    path("inbox/tasks/<int:task_id>/", risk_api.InboxTaskApi.as_view(), name="api-inbox-task"),
    path(
        "inbox/tasks/<int:task_id>/decision/",
        risk_api.InboxDecisionApi.as_view(),
        name="api-inbox-decision",
    ),
]
