import pytest
from django.core.exceptions import ImproperlyConfigured

from langzhong_si.env import env_bool, env_int, env_list


def test_env_bool_refuses_a_value_it_cannot_read(monkeypatch):
    monkeypatch.setenv("DEBUG_X", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG_X"):
        env_bool("DEBUG_X")


def test_env_int_refuses_text_and_values_below_the_minimum(monkeypatch):
    monkeypatch.setenv("N_X", "ten")
    with pytest.raises(ImproperlyConfigured):
        env_int("N_X", 1)
    monkeypatch.setenv("N_X", "0")
    with pytest.raises(ImproperlyConfigured):
        env_int("N_X", 1, minimum=1)


def test_unset_variables_give_the_embedded_defaults(monkeypatch):
    monkeypatch.delenv("N_X", raising=False)
    assert env_int("N_X", 5) == 5
    assert env_bool("N_X", default=True) is True
    assert env_list("N_X", ["a"]) == ["a"]


def test_every_task_countdown_is_shorter_than_the_visibility_timeout():
    from django.conf import settings

    from risk.tasks import review_task_draw

    max_backoff = getattr(review_task_draw, "retry_backoff_max", 600)
    assert max_backoff < settings.CELERY_BROKER_VISIBILITY_TIMEOUT
