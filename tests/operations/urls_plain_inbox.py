"""The project's URLs with the inbox's poll address taken by a plain view
(tests/operations/test_fast_poll.py: a poll after the URLs change)."""

from django.http import HttpResponse
from django.urls import path

from langzhong_si.urls import urlpatterns as project

urlpatterns = [path("api/inbox/tasks/", lambda request: HttpResponse("plain")), *project]
