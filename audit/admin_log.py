"""Every add, change and delete made in Django's admin, by anyone (the superuser
included), is an event in the hash chain naming the actor, the model and object id and
the admin's change message (which lists changed fields, never their values).

The admin writes one LogEntry per action inside the action's transaction, so a receiver
on LogEntry's post_save covers every ModelAdmin without each one opting in. The admin
writes several entries at once (bulk_create, no signal) only for the "delete selected"
action, which is switched off site-wide: a bulk delete would also skip reasons and row
history (audit.admin_mixins)."""

import json
from types import SimpleNamespace

from django.contrib import admin
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from audit.services import audit_event_record

EVENT_TYPES = {ADDITION: "admin.added", CHANGE: "admin.changed", DELETION: "admin.deleted"}

admin.site.disable_action("delete_selected")


def _change(message: str):
    try:
        return json.loads(message) if message else []
    except ValueError:
        return message[:500]


@receiver(post_save, sender=LogEntry)
def _admin_action_recorded(sender, instance: LogEntry, created: bool, raw=False, **kwargs):
    if not created or raw:
        return
    model = instance.content_type.model_class() if instance.content_type_id else None
    # The object as audit_event_record names it (label and pk), without loading it: a
    # deleted object is still there, but nothing else about it is needed.
    target = SimpleNamespace(
        _meta=SimpleNamespace(label_lower=model._meta.label_lower if model else ""),
        pk=instance.object_id or "",
    )
    with transaction.atomic():
        audit_event_record(
            event_type=EVENT_TYPES.get(instance.action_flag, "admin.action"),
            actor=get_user_model()(pk=instance.user_id),
            obj=target,
            data={"change": _change(instance.change_message)},
        )
