from django.urls import path

from cases import views

app_name = "cases"
urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/tasks/<int:task_id>/", views.task_detail, name="task_detail"),
    path("inbox/tasks/<int:task_id>/decide/", views.task_decide, name="task_decide"),
]
