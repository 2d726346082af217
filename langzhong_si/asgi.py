"""The ASGI application: the pushed screens' streams (/events/, push.streams) and the
health check, run as a process of its own beside the WSGI workers (README, "Pushed
screens"). Pages are gunicorn's: Django's ASGI handler would keep a database connection
per request thread."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "langzhong_si.settings")
django_application = get_asgi_application()

from push.streams import events_application  # noqa: E402 - needs the apps loaded

application = events_application(django_application, only=("/healthz",))
