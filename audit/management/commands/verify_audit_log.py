from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.chain import audit_chain_status
from audit.services import (
    audit_exported_head_read,
    audit_exported_heads,
    audit_heads_directory,
    audit_log_verify,
)


class Command(BaseCommand):
    help = (
        "Recompute the audit log's hash chain and check it against the chain heads exported "
        "by export_audit_head: name the first broken position (exit 1), including a log cut "
        "shorter than the last exported head or rewritten since an export."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--heads-dir",
            default=None,
            help="directory of exported heads (default: LANGZHONG_VAR_DIR/audit-heads)",
        )
        parser.add_argument("--head", nargs="*", default=[], help="further exported head files")

    def handle(self, *args, heads_dir: str | None, head: list[str], **options):
        directory = Path(heads_dir) if heads_dir else audit_heads_directory()
        try:
            heads = audit_exported_heads(directory=directory)
            heads += [audit_exported_head_read(path=Path(path)) for path in head]
        except ValueError as error:
            raise CommandError(str(error)) from error
        broken = audit_log_verify(heads=heads)
        if broken is not None:
            raise CommandError(f"audit chain broken at position {broken.position}: {broken.reason}")
        if not heads:
            # Fresh installations have none yet; anywhere else this means the export is
            # not running (beat) or the directory is wrong, and a cut tail goes unseen.
            self.stderr.write(f"no exported heads in {directory}: a deleted tail cannot be seen")
        self.stdout.write(f"audit chain verifies ({len(heads)} exported heads checked)")
        status = audit_chain_status()
        waiting = f"{status.chained} events chained, {status.waiting} waiting to be chained"
        if status.oldest_waiting_at:
            waiting += f" (the oldest since {status.oldest_waiting_at.isoformat()})"
        self.stdout.write(waiting)
        if status.keys_missing:
            # A rolled-back transaction, or an event deleted before it was chained: the
            # sequencer recorded each in the chain and raised a finding.
            self.stderr.write(
                f"{status.keys_missing} event keys went missing before chaining "
                "(audit.keys_missing events; see the auditors' findings)"
            )
