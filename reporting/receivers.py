"""What is reported, heard from the records' own saves so that the apps below need not
know about reporting: a rating created; a case created accepted (anything but 一次性告知,
which is not an acceptance); a case's status saved into a finished state. The receivers
run inside the saving transaction, so the delivery commits or rolls back with it."""

from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from counters.models import Case
from ratings.models import Rating
from reporting.models import Delivery
from reporting.payloads import CASE_RESULTS
from reporting.services import delivery_record, reporting_enabled

K = Delivery.Kind


@receiver(post_save, sender=Rating, dispatch_uid="reporting-rating")
def _rating_saved(sender, instance: Rating, created: bool, raw=False, **kwargs):
    if created and not raw and reporting_enabled():
        delivery_record(
            kind=K.RATING,
            object_id=instance.pk,
            occurred_at=instance.created_at,
            agency_id=instance.agency_id,
        )


@receiver(post_save, sender=Case, dispatch_uid="reporting-case")
def _case_saved(sender, instance: Case, created: bool, raw=False, update_fields=None, **kwargs):
    if raw or not reporting_enabled():
        return
    if created and instance.status != Case.Status.NOTIFIED:
        delivery_record(
            kind=K.CASE_ACCEPTED,
            object_id=instance.pk,
            occurred_at=instance.accepted_at,
            agency_id=instance.agency_id,
        )
    status_saved = created or (update_fields is not None and "status" in update_fields)
    if status_saved and instance.status in CASE_RESULTS:
        delivery_record(
            kind=K.CASE_COMPLETED,
            object_id=instance.pk,
            occurred_at=instance.finished_at or timezone.now(),
            agency_id=instance.agency_id,
        )
