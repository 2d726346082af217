import json
import re

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from audit.models import Finding
from cases.selectors import CORRECTED_FIELD_LABELS, PAPER_LABELS
from langzhong_si.identity import id_number_mask
from langzhong_si.text import list_separator
from sites.defaults import home_agency_id
from staff.scope import scope_filter, scope_of


def findings_in_scope(user):
    """Findings of the person's agency: by the case's agency, else (a finding about a
    person) the agency of the sites its subject works at. A finding about neither (the
    audit chain's own) is the deployment's, kept by its home agency. The city viewer
    sees every one."""
    findings = Finding.objects.all()
    if scope_of(user).everything:
        return findings
    by_case = scope_filter(findings.filter(case__isnull=False), user, agency="case__agency")
    by_subject = scope_filter(
        findings.filter(case__isnull=True, subject__isnull=False),
        user,
        agency="subject__staff_profile__sites__agency",
    )
    mine = Q(pk__in=by_case.values("pk")) | Q(pk__in=by_subject.values("pk"))
    if scope_of(user).allows_agency(home_agency_id()):
        mine |= Q(case__isnull=True, subject__isnull=True)
    return findings.filter(mine)


def finding_queue(*, user):
    """The auditors' queue: open findings first (highest severity, newest), then done ones."""
    return (
        findings_in_scope(user)
        .select_related("case", "case__item", "subject__staff_profile")
        .order_by("result", "-created_at")[:300]
    )


def finding_detail(*, user, finding_id: int) -> Finding:
    """A finding within the person's scope; any other raises DoesNotExist (a 404)."""
    return (
        findings_in_scope(user)
        .select_related("case", "case__item", "subject__staff_profile")
        .get(pk=finding_id)
    )


# --- The audit log as the audit administrator reads it ----------------------------------

# Keys of event data, as the log screen names them.
DATA_LABELS = {
    "username": _("account"),
    "account_exists": _("account exists"),
    "reason": _("reason"),
    "role": _("role"),
    "user": _("person"),
    "clerk": _("clerk"),
    "window": _("window"),
    "case": _("case"),
    "day": _("day"),
    "from": _("from"),
    "to": _("to"),
    "step": _("step"),
    "round": _("review round"),
    "decision": _("decision"),
    "comment": _("comment"),
    "relation": _("relation"),
    "kind": _("kind"),
    "start": _("start"),
    "end": _("end"),
    "number": _("number"),
    "change": _("change"),
    "type": _("event type"),
    "before": _("before position"),
    "rule": _("rule"),
    "severity": _("severity"),
    "must_change": _("must change the password"),
    "prefix": _("key prefix"),
    "expires_at": _("expires at"),
    "wrong_entries": _("wrong entries"),
    "replaced": _("replaced an open code"),
    "materials": _("materials"),
    "employee_number": _("employee number"),
    "person": _("person"),
    "verify": _("chain verified"),
    "api": _("through the API"),
    "status": _("status"),
    "paper": _("paper"),
    "fields": _("fields changed"),
    "scans": _("scans added"),
    "value": _("sampling value"),
    "rate": _("sampling rate"),
    "selected": _("selected"),
    "sites": _("sites"),
    "commitment": _("seed commitment"),
    "in_draw": _("used in a draw"),
    "tried": _("action tried"),
    "object": _("object"),
}

# A refused use of power (audit.refusals): what was tried, and why it was refused.
REFUSAL_LABELS = {
    "tried": {
        "role_grant": _("grant a role"),
        "role_revoke": _("revoke a role"),
        "role_change": _("change roles"),
        "account_unlock": _("unlock an account"),
        "password_set": _("set a password"),
        "account_active_set": _("enable or disable an account"),
        "staff_profile_give": _("give a staff profile"),
        "staff_profile_create": _("give a staff profile"),
        "staff_sites_set": _("change a person's sites"),
        "staff_employee_number_set": _("change an employee number"),
        "second_factor_reset": _("reset a second factor"),
        "sign_in_code_issue": _("give a sign-in code"),
        "api_token_issue": _("issue an API key"),
        "api_token_revoke": _("revoke an API key"),
        "drawable": _("change who can be drawn"),
        "agency_save": _("save an agency"),
        "site_save": _("save a site"),
    },
    "reason": {
        "another_agency": _("another agency's"),
        "role_not_held": _("a role not held"),
        "own_account": _("their own account"),
        "read_only": _("a read-only view"),
        "superuser": _("the superuser's account"),
        "set_the_password": _("a password they set"),
    },
}


def _state_vocabulary(object_type: str) -> dict:
    """The labels of the status codes an object of this type moves between."""
    from counters.models import Case, Ticket, Window
    from risk.models import ReviewTask

    choices = {
        "counters.case": Case.Status,
        "counters.ticket": Ticket.Status,
        "counters.window": Window.State,
        "risk.reviewtask": ReviewTask.Status,
    }.get(object_type)
    return dict(choices.choices) if choices else {}


def _code_vocabulary(key: str, object_type: str) -> dict:
    """Readable labels for the coded values of one data key (empty: shown as stored)."""
    from risk.models import ReviewTask, StepRole
    from staff.roles import Role

    if key in ("from", "to"):
        return _state_vocabulary(object_type)
    if key in ("decision", "status"):
        return _state_vocabulary(object_type) or dict(ReviewTask.Status.choices)
    if key in ("role", "step"):
        return {**dict(Role.choices), **dict(StepRole.choices)}
    if key == "paper":
        return PAPER_LABELS
    if key == "fields":
        return CORRECTED_FIELD_LABELS
    return REFUSAL_LABELS.get(key, {})


# Values never shown, whatever the event: secrets somebody might have put in the data.
_SECRET_KEYS = ("password", "secret", "otp")
# An ID number (15 or 18 characters) or a mainland mobile number inside any text.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")
_PEOPLE_KEYS = ("user", "clerk")
# Keyed look-up hashes: enough of them to match two events, not to copy around.
_DIGEST_KEYS = ("applicant",)
_VALUE_MAX = 200


def personal_data_masked(text: str) -> str:
    """Any ID number or mobile number in a text, masked as on every other screen."""
    text = _ID_NUMBER.sub(lambda match: id_number_mask(match.group(1)), text)
    return _PHONE.sub(r"\1****\2", text)


def _value_text(value) -> str:
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    text = personal_data_masked(str(value))
    return text if len(text) <= _VALUE_MAX else text[: _VALUE_MAX - 1] + "…"


def _targets(events) -> dict[tuple[str, str], str]:
    """A readable name for each event's object, loaded per model in one query each."""
    wanted: dict[str, set[str]] = {}
    for event in events:
        if event.object_type and event.object_id:
            wanted.setdefault(event.object_type, set()).add(event.object_id)
    names = {}
    for label, ids in wanted.items():
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            continue
        queryset = model._default_manager.all()
        if model is get_user_model():
            queryset = queryset.select_related("staff_profile")
        numeric = isinstance(model._meta.pk, models.IntegerField)
        keys = [key for key in ids if key.isdigit()] if numeric else list(ids)
        for obj in queryset.filter(pk__in=keys):
            names[(label, str(obj.pk))] = _object_name(obj)
    return names


def _object_name(obj) -> str:
    if obj._meta.label_lower == get_user_model()._meta.label_lower:
        profile = getattr(obj, "staff_profile", None)
        shown = f"{profile.display_name} ({obj.username})" if profile else obj.username
        return personal_data_masked(shown)
    return personal_data_masked(f"{obj._meta.verbose_name} {obj}")


def _people(events) -> dict[int, str]:
    ids = {
        event.data[key]
        for event in events
        for key in _PEOPLE_KEYS
        if isinstance(event.data, dict) and isinstance(event.data.get(key), int)
    }
    return dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))


def audit_log_rows(events) -> list[dict]:
    """Each event with its kind's label, its actor, a readable target and its details,
    personal data masked."""
    targets = _targets(events)
    people = _people(events)
    rows = []
    for event in events:
        target = ""
        if event.object_type:
            target = targets.get((event.object_type, event.object_id)) or (
                f"{event.object_type} #{event.object_id}"
            )
        details = []
        for key, value in (event.data or {}).items() if isinstance(event.data, dict) else []:
            if value in (None, "", [], {}):
                continue
            if any(secret in key for secret in _SECRET_KEYS):
                text = "••••"
            elif key in _PEOPLE_KEYS and value in people:
                text = people[value]
            elif key in _DIGEST_KEYS:
                text = f"{str(value)[:8]}…"
            else:
                vocabulary = _code_vocabulary(key, event.object_type)
                if isinstance(value, str) and value in vocabulary:
                    value = str(vocabulary[value])
                elif isinstance(value, list) and vocabulary:
                    value = list_separator().join(str(vocabulary.get(item, item)) for item in value)
                text = _value_text(value)
            details.append((str(DATA_LABELS.get(key, key.replace("_", " "))), text))
        rows.append({"event": event, "target": target, "details": details})
    return rows
