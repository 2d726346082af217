"""A device's row copy (devices.selectors.device_copy_key) marked as changed whenever the
device is saved or deleted through the models (services, admin, shell: a QuerySet.update
or raw SQL would not be seen, and none is made outside the tests): under its credential's
digest before the change (a new credential leaves the old one's copy behind) and after;
and whenever its window is saved with its clerk (a sign-on or sign-off, the admin, the
shell), the one thing of the window a pad's poll reads that changes."""

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from devices.models import HallDevice
from devices.selectors import device_copy_key
from devices.services import window_device_copies_mark
from langzhong_si.compiled import row_copy_mark


@receiver(pre_save, sender=HallDevice)
def _device_changing(sender, instance, using, update_fields=None, **kwargs):
    changing = update_fields is None or "credential_digest" in update_fields
    if instance.pk is not None and changing:
        digests = (
            HallDevice.objects.using(using).filter(pk=instance.pk).values_list("credential_digest")
        )
        for (digest,) in digests:
            if digest:
                row_copy_mark(device_copy_key(digest))


@receiver(post_save, sender=HallDevice)
@receiver(post_delete, sender=HallDevice)
def _device_changed(sender, instance, **kwargs):
    if instance.credential_digest:
        row_copy_mark(device_copy_key(instance.credential_digest))


@receiver(post_save, sender="counters.Window")  # named, not imported: counters is above
def _window_saved(sender, instance, update_fields=None, **kwargs):
    if update_fields is None or "clerk" in update_fields:
        window_device_copies_mark(window_id=instance.pk)
