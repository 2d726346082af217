from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    """The reviewers' and approvers' inbox and the chain advance: the drawn person's
        decision moves the case (approve to the next step or to approved, return to the
        clerk, reject), and the notices of a decision: to the clerks (a return or a rejection)
    and, by SMS, to the citizen. Above the case file (cases), whose state machine it drives."""

    name = "inbox"
    verbose_name = _("Inbox")

    def ready(self):
        # Register the tasks in every process, so the outbox relay can run them inline.
        from inbox import (
            events,  # noqa: F401 - declares its audit event kinds
            tasks,  # noqa: F401
        )
