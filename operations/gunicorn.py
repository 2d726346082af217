"""gunicorn settings hooks for Prometheus' multiprocess mode:
`gunicorn -c python:operations.gunicorn langzhong_si.wsgi ...` with PROMETHEUS_MULTIPROC_DIR
set to an empty folder private to this host's web server (a tmpfs)."""

import os
import shutil
from pathlib import Path


def on_starting(server):
    # Samples of a previous run's processes would be added to this run's.
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
