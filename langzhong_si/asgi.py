"""The ASGI application: the web application, with /events/ (the pushed screens'
streams, push.streams) served by the ASGI server itself. Run as its own process beside
the WSGI workers (README, "Pushed screens")."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "langzhong_si.settings")
django_application = get_asgi_application()

from push.streams import events_application  # noqa: E402 - needs the apps loaded

application = events_application(django_application)
