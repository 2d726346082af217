"""The ASGI process (langzhong_si.asgi: the pushed screens' streams, and the rest of the
site) run for the tests."""

import gc
import threading
import time

import pytest
import uvicorn
from django.core.cache import cache

from tests.factories import redis_default_cache, redis_keys_forget


@pytest.fixture
def events(settings, transactional_db):
    """The pushed screens' streams (push.streams) under uvicorn on a free loopback port,
    with the pages at the same address, and the default cache in the tests' Redis as
    deployed; its address."""
    redis_default_cache(settings, "push")
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    from langzhong_si.asgi import django_application
    from push.streams import events_application

    config = uvicorn.Config(
        # The pages too (and the static files, as the live server serves them): the
        # browser's pages and streams at one address, as behind the hall's proxy.
        events_application(ASGIStaticFilesHandler(django_application)),
        host="127.0.0.1",
        port=0,
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    assert server.started
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    # The asking threads end with the server (its lifespan), the pages' threads with
    # their requests: their database connections are closed once collected, so the test
    # database can be dropped.
    gc.collect()
    redis_keys_forget(cache)
