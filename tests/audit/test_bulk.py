import pytest

from audit.bulk import BulkWriteRefused, bulk_writes_allowed
from catalog.models import ServiceItem
from counters.models import Case
from risk.models import ReviewTask
from staff.models import StaffProfile

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [Case, ReviewTask, ServiceItem, StaffProfile])
def test_bulk_updates_and_deletes_on_audited_models_are_refused(model):
    with pytest.raises(BulkWriteRefused):
        model.objects.all().update(pk=0)
    with pytest.raises(BulkWriteRefused):
        model.objects.all().delete()
    with pytest.raises(BulkWriteRefused):
        model.objects.bulk_update([], ["pk"])


def test_a_service_may_open_a_recorded_bulk_write(hall):
    with bulk_writes_allowed():
        assert ServiceItem.objects.filter(pk=hall.item.pk).update(search_text="x") == 1


def test_the_admin_offers_no_bulk_delete_on_audited_models(admin_client):
    page = admin_client.get("/admin/catalog/serviceitem/").content.decode()
    assert "delete_selected" not in page
