from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PapersConfig(AppConfig):
    """The counter's papers for a case (the one-time notice, the 容缺 commitment letter,
    the result, the acceptance receipt): printed and reprinted by any clerk, each time
    recorded, and signed by the applicant on the pad, the signature kept in the case file.
    Above the case file (cases), whose state decides which paper is due."""

    name = "papers"
    verbose_name = _("Case papers")

    def ready(self):
        from papers import events  # noqa: F401 - declares its audit event kinds
