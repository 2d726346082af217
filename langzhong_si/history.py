"""Row history (django-simple-history) of the busy records."""

from django.utils import timezone
from simple_history.manager import HistoryDescriptor
from simple_history.models import HistoricalRecords
from simple_history.signals import post_create_historical_record, pre_create_historical_record

from langzhong_si.saves import record_new


class _BusyRecordHistory(HistoricalRecords):
    """HistoricalRecords writing the same version with less work per save.

    simple-history, on every save, builds the record's history manager (to learn its
    history model) and walks the record's fields for the ones it copies; a level-2
    case saves its busy records about thirty times. Both depend only on the record's
    class, so they are looked up once per class. The version itself is the library's
    own: the same values, date, user and change reason, the same signals before and
    after its save. A history with many-to-many fields or a relation field takes the
    library's path."""

    def create_historical_record(self, instance, history_type, using=None):
        copied = self._copied(type(instance))
        if copied is None:
            return super().create_historical_record(instance, history_type, using=using)
        history_model, attnames = copied
        using = using if self.use_base_model_db else None
        try:
            history_date = instance._history_date
        except AttributeError:
            history_date = timezone.now()
        history_user = self.get_history_user(instance)
        reason = self.get_change_reason_for_object(instance, history_type, using)
        values = {attname: getattr(instance, attname) for attname in attnames}
        version = record_new(
            history_model, history_date=history_date, history_type=history_type,
            history_user=history_user, history_change_reason=reason, **values,
        )  # fmt: skip
        signalled = {
            "sender": history_model, "instance": instance, "history_date": history_date,
            "history_user": history_user, "history_change_reason": reason,
            "history_instance": version, "using": using,
        }  # fmt: skip
        pre_create_historical_record.send(**signalled)
        version.save(using=using)
        post_create_historical_record.send(**signalled)
        return None

    def _copied(self, model):
        """(history model, attributes copied) for records of `model`, or None where the
        library's own path must run."""
        known = self.__dict__.setdefault("_copied_by_model", {})
        if model not in known:
            descriptor = vars(model).get(self.manager_name)
            history_model = getattr(descriptor, "model", None)
            plain = (
                isinstance(descriptor, HistoryDescriptor)
                and not self.get_m2m_fields_from_model(model)
                and getattr(history_model, "history_relation", None) is None
            )
            known[model] = (
                (history_model, tuple(field.attname for field in self.fields_included(model)))
                if plain
                else None
            )
        return known[model]


def history_read_by_record(*copied_keys: str) -> HistoricalRecords:
    """The history of a record whose every status change writes a version: its versions
    are read by the record's id (and their time, and who made them), never by the keys
    they copy. simple-history indexes its copy of every foreign key and unique field,
    which cost each version an index entry apiece on the busiest tables (a ticket's
    versions had thirteen indexes); `copied_keys` names those copies, left unindexed.
    Its versions are written with less work per save (_BusyRecordHistory)."""
    return _BusyRecordHistory(no_db_index=list(copied_keys))
