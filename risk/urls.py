from django.urls import path

from risk import views

app_name = "risk"
urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/tasks/<int:task_id>/", views.task_detail, name="task_detail"),
    path("inbox/tasks/<int:task_id>/decide/", views.task_decide, name="task_decide"),
    path("lead/pool/", views.pool, name="pool"),
    path(
        "lead/pool/<int:user_id>/availability/", views.pool_availability, name="pool_availability"
    ),
]
