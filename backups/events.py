"""Audit event kinds recorded by backups. The codes keep their `operations.` prefix:
events recorded before backups had its own app carry them, and the metrics, the live
hall's banner and the audit screens find old and new events alike."""

from django.utils.translation import gettext_lazy as _

from audit.kinds import event_kinds_declare

BACKUP_MADE = "operations.backup_made"
RESTORE_DRILL_PASSED = "operations.restore_drill_passed"
RESTORE_DRILL_FAILED = "operations.restore_drill_failed"

KINDS = {
    BACKUP_MADE: _("Backup made"),
    RESTORE_DRILL_PASSED: _("Restore drill passed"),
    RESTORE_DRILL_FAILED: _("Restore drill failed"),
}
event_kinds_declare(KINDS)
