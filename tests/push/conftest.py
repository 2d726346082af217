"""The ASGI process (langzhong_si.asgi: the pushed screens' streams, and the rest of the
site) run for the tests."""

import gc
import threading
import time

import pytest
import uvicorn
from asgiref.sync import SyncToAsync
from django.core.cache import cache
from django.db import connections

from tests.factories import redis_default_cache, redis_keys_forget


@pytest.fixture
def events(settings, transactional_db):
    """The ASGI application (langzhong_si.asgi) under uvicorn on a free loopback port,
    with the default cache in the tests' Redis as deployed; its address."""
    redis_default_cache(settings, "push")
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    from langzhong_si.asgi import application

    config = uvicorn.Config(
        ASGIStaticFilesHandler(application),  # static files as the live server serves them
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
    # The polls were asked in asgiref's one thread, whose connection stays open (as the
    # WSGI workers' do, for CONN_MAX_AGE): closed; the pages' threads are gone, their
    # connections closed once collected. So the test database can be dropped.
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
    gc.collect()
    redis_keys_forget(cache)
