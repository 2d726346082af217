"""Settings for bench/peer.py only: the project's own, plus django-viewflow's workflow
tables (installed for benchmarks only: pip install '.[bench]')."""

from langzhong_si.settings import *  # noqa: F403
from langzhong_si.settings import INSTALLED_APPS

# `bench` itself is an app so viewflow can name the peer flow (bench/peer_flow.py).
INSTALLED_APPS = [*INSTALLED_APPS, "viewflow", "viewflow.workflow", "bench"]
