"""The device look-up every kiosk, display and pad request runs (written out on
PostgreSQL, devices.selectors) finds what the ORM's look-up finds."""

import pytest

from devices.models import HallDevice
from devices.selectors import hall_device_for_credential
from langzhong_si.credentials import credential_digest
from tests.factories import WindowFactory, registered_device

pytestmark = pytest.mark.django_db


def _orm(credential, kind=None):
    devices = HallDevice.objects.select_related("window").filter(
        credential_digest=credential_digest(credential), enabled=True
    )
    return (devices.filter(kind=kind) if kind else devices).first()


def _values(device):
    return {f.attname: getattr(device, f.attname) for f in HallDevice._meta.concrete_fields}


def _same(found, expected):
    assert _values(found) == _values(expected)


def test_a_pad_is_found_with_its_window_in_one_query(django_assert_num_queries):
    window = WindowFactory(number=3)
    registration = registered_device(HallDevice.Kind.PAD, window=window)
    with django_assert_num_queries(1):
        found = hall_device_for_credential(registration.credential)
        assert found.window.number == 3 and found.window.site_id == window.site_id
    _same(found, _orm(registration.credential))


def test_a_display_without_a_window_is_found_without_one():
    registration = registered_device(HallDevice.Kind.DISPLAY)
    found = hall_device_for_credential(registration.credential, HallDevice.Kind.DISPLAY)
    assert found.window is None
    _same(found, _orm(registration.credential, HallDevice.Kind.DISPLAY))


def test_a_device_of_another_kind_is_not_found():
    registration = registered_device(HallDevice.Kind.KIOSK)
    assert hall_device_for_credential(registration.credential, HallDevice.Kind.DISPLAY) is None


def test_a_disabled_device_is_not_found():
    registration = registered_device(HallDevice.Kind.KIOSK)
    HallDevice.objects.filter(pk=registration.device.pk).update(enabled=False)
    assert hall_device_for_credential(registration.credential) is None


def test_an_unknown_credential_is_not_found():
    assert hall_device_for_credential("not-a-credential") is None
