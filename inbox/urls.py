from django.urls import path

from inbox import views

# No namespace of its own: the wiring (langzhong_si/urls.py) serves these under "cases",
# the names they had before the inbox left the case file ("cases:inbox", ...).
urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/list/", views.inbox_tasks, name="inbox_tasks"),
    path("inbox/tasks/<int:task_id>/", views.task_detail, name="task_detail"),
    path("inbox/tasks/<int:task_id>/decide/", views.task_decide, name="task_decide"),
]
