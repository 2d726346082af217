"""Row history (django-simple-history) of the busy records."""

from simple_history.models import HistoricalRecords


def history_read_by_record(*copied_keys: str) -> HistoricalRecords:
    """The history of a record whose every status change writes a version: its versions
    are read by the record's id (and their time, and who made them), never by the keys
    they copy. simple-history indexes its copy of every foreign key and unique field,
    which cost each version an index entry apiece on the busiest tables (a ticket's
    versions had thirteen indexes); `copied_keys` names those copies, left unindexed."""
    return HistoricalRecords(no_db_index=list(copied_keys))
