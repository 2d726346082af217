"""Counters' answers to the staff layer's signals."""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from counters import services


@receiver(user_logged_out, dispatch_uid="counters.window_release_at_sign_out")
def window_release_at_sign_out(sender, request, user, **kwargs):
    if user is not None and user.is_authenticated:
        services.window_release_at_sign_out(clerk=user)
