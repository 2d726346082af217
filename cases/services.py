"""The case file: intake of the ticket being served (F9) with its parties and scans,
promised (容缺) materials, corrections and resubmission of a returned case, the counter's
search and recusal. Above the hall (counters), the draws (risk) and the scans; the chain
advance (inbox) and the printed papers (papers) stand above it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.findings import finding_raise
from audit.services import audit_event_record
from cases import selectors as case_selectors
from cases.transitions import (
    CaseStateError,
    case_audit_schedule,
    case_initial_check,
    case_transition,
)
from catalog.models import Material, ServiceItem
from catalog.selectors import item_offered_check
from counters import selectors as counter_selectors
from counters import services as counter_services
from counters.models import Case
from langzhong_si.batch import audit_writes_batched
from langzhong_si.calendar import working_days_after
from langzhong_si.compiled import CompiledRead
from langzhong_si.errors import StateConflict
from langzhong_si.identity import (
    credit_code_validate,
    id_number_digest,
    id_number_mask,
    id_number_tail_digest,
    id_number_validate,
    personal_data_encrypt,
    phone_number_validate,
)
from langzhong_si.saves import record_create
from langzhong_si.text import name_clean
from risk.selectors import chain_for_item, conflict_of_interest, items_with_chain
from risk.services import review_round_open, review_step_open
from scans.services import VettedScan, case_document_store
from staff.roles import Role
from staff.scope import scope_of
from staff.selectors import user_has_role, user_roles

# --- Intake --------------------------------------------------------------------------------


def _status_when_complete(item: ServiceItem) -> str:
    if not item.at_counter:
        return Case.Status.FORWARDED
    if item.risk_level == 0:
        return Case.Status.FINISHED
    return Case.Status.IN_REVIEW


def case_materials_supplied(*, clerk, case_id: int, material_ids: set[int]) -> Case:
    """Record promised materials handed in; once all are in, the case goes on as if it
    had been complete at intake (finished, forwarded or into the review chain)."""
    with transaction.atomic(durable=True):
        case = Case.objects.select_for_update().select_related("item").get(pk=case_id)
        case_clerk_check(clerk=clerk, case=case)
        if case.status != Case.Status.AWAITING_MATERIALS:
            raise ValidationError(_("This case is not waiting for materials."), code="not_awaiting")
        promised = {row["material_id"] for row in case.checklist if not row["received"]}
        if not material_ids & promised:
            raise ValidationError(
                _("Tick the materials the citizen handed in."), code="no_materials"
            )
        for row in case.checklist:
            if row["material_id"] in material_ids:
                row["received"] = True
        case.save(update_fields=["checklist"])
        audit_event_record(
            event_type="case.materials_supplied",
            actor=clerk,
            obj=case,
            data={
                "materials": sorted(material_ids & promised),
                "names": [r["name"] for r in case.checklist if r["material_id"] in material_ids],
            },
        )
        if any(row["required"] and not row["received"] for row in case.checklist):
            return case
        target = _status_when_complete(case.item)
        fields: tuple[str, ...] = ()
        if target == Case.Status.FINISHED:
            case.finished_at = timezone.now()
            fields = ("finished_at",)
        elif target == Case.Status.IN_REVIEW:
            case.review_chain, case.step_hours = chain_for_item(case.item)
            case.review_round, case.current_step = 1, 1
            fields = ("review_chain", "step_hours", "review_round", "current_step")
        case_transition(case=case, to=target, actor=clerk, fields=fields)
        if target == Case.Status.IN_REVIEW:
            review_step_open(case=case, step=1)
    return case


def cases_deferral_expire() -> int:
    """End every 容缺 case whose promised materials did not arrive in time."""
    ended = 0
    overdue = Case.objects.filter(
        status=Case.Status.AWAITING_MATERIALS, deferred_due__lt=timezone.localdate()
    ).values_list("pk", flat=True)
    for case_id in overdue:
        with transaction.atomic(durable=True):
            case = Case.objects.select_for_update().get(pk=case_id)
            if case.status != Case.Status.AWAITING_MATERIALS:
                continue
            case.finished_at = timezone.now()
            case_transition(
                case=case,
                to=Case.Status.ENDED_UNSUPPLIED,
                actor=None,
                fields=("finished_at",),
                data={"deferred_due": case.deferred_due},
            )
            ended += 1
    return ended


def _guide_snapshot(item: ServiceItem, materials: list[Material]) -> dict:
    latest = getattr(item, "latest_history_id", None)  # case_accept reads it with the item
    if latest is None:
        latest = item.history.order_by("-history_id").values_list("history_id", flat=True).first()
    return {
        "item_history_id": latest,
        "code": item.code,
        "name": item.name,
        "risk_level": item.risk_level,
        "at_counter": item.at_counter,
        "promised_days": item.promised_days,
        "result": item.result,
        "materials": [
            {
                "material_id": m.pk,
                "name": m.name,
                "form": m.form,
                "copies": m.copies,
                "required": m.required,
                "is_key": m.is_key,
            }
            for m in materials
        ],
    }


# What the workbench form carries (secrets.token_urlsafe, front.forms.IntakeForm).
_INTAKE_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


class IntakeRepeated(StateConflict):
    """The same intake form came in again: it already opened `case` (the API answers
    409; the workbench shows that case)."""

    def __init__(self, case: Case):
        super().__init__(
            _("This form was already submitted: it opened case %(number)s.")
            % {"number": case.number},
            code="intake_repeated",
        )
        self.case = case


def _intake_repeat_check(token: str) -> None:
    if token:
        earlier = Case.objects.filter(intake_token=token).first()
        if earlier is not None:
            raise IntakeRepeated(earlier)


class CaseRecused(PermissionDenied):
    """The clerk is the applicant or a declared relative of the applicant."""


def case_clerk_check(*, clerk, case: Case) -> None:
    """Any clerk of the case's site may continue it (supply promised materials, correct
    and resubmit a returned one, reprint its papers), except their own application or a
    declared relative's: the counter's recusal, as at intake."""
    if not user_has_role(clerk, Role.CLERK):
        raise PermissionDenied(_("Only a clerk may work on a case at the counter."))
    if not scope_of(clerk).allows_site(case.site_id):
        raise PermissionDenied(_("This case was accepted at a site you do not work at."))
    if conflict_of_interest(user=clerk, case=case):
        raise CaseRecused(
            _("You may not handle your own application or a declared relative's: ask "
              "another clerk to take this case.")
        )  # fmt: skip


# The authorisation letter (授权委托书): a required key material of every item whenever
# an agent appears, the catalog's own row where the guide lists one.
AUTHORISATION_LETTER = "授权委托书"
# Its checklist row where the guide has none: no catalog material, so no material id.
AUTHORISATION_ROW_ID = 0
AUTHORISATION_ROW_NAME = "委托代理人身份证件及授权委托书"


@dataclass(frozen=True)
class Agent:
    """代办人: someone applying on the applicant's behalf."""

    name: str
    id_number: str
    relation: str


@dataclass(frozen=True)
class Employer:
    """单位: the applicant is an employer; the person at the counter handles it for them."""

    credit_code: str
    name: str


def _parties_check(
    *, clerk, item: ServiceItem | None, applicant_digest: str, employer, agent, assisting_staff_id
) -> dict:
    """The Case fields of the employer, the agent and the assisting staff member, each
    checked; a ValidationError names the first thing wrong and nothing is saved."""
    fields: dict = {"applicant_kind": Case.ApplicantKind.PERSON}
    if employer is not None:
        if item is not None and not item.takes_employer:
            raise ValidationError(
                _("This item is for persons only: an employer cannot apply for it."),
                code="employer_not_allowed",
            )
        code = credit_code_validate(employer.credit_code)
        name = name_clean(employer.name, field=_("Employer's name"), max_length=128)
        if not name:
            raise ValidationError(_("Enter the employer's name."), code="employer_name")
        fields.update(
            applicant_kind=Case.ApplicantKind.EMPLOYER,
            employer_credit_code=code,
            employer_name=name,
        )
    if agent is not None:
        name = name_clean(agent.name, field=_("Agent's name"))
        if not name:
            raise ValidationError(_("Enter the agent's name."), code="agent_name")
        number = id_number_validate(agent.id_number)
        digest = id_number_digest(number)
        if digest == applicant_digest:
            raise ValidationError(
                _("The agent and the applicant are the same person: leave the agent out."),
                code="agent_is_applicant",
            )
        if agent.relation not in Case.AgentRelation.values:
            raise ValidationError(
                _("Choose the agent's relation to the applicant."), code="agent_relation"
            )
        fields.update(
            agent_name=name,
            agent_id_encrypted=personal_data_encrypt(number),
            agent_id_digest=digest,
            agent_id_masked=id_number_mask(number),
            agent_relation=agent.relation,
        )
    if assisting_staff_id is not None:
        choices = counter_selectors.assisting_staff_choices(clerk)
        if not choices.filter(pk=assisting_staff_id).exists():
            raise ValidationError(
                _("Choose the hall staff member who helped the citizen."), code="assisting_staff"
            )
        fields["assisting_staff_id"] = assisting_staff_id
    return fields


def _authorisation_apply(checklist: list[dict], *, received: bool) -> list[dict]:
    """With an agent, the authorisation letter becomes a required key material: the
    guide's own row if it lists one, else a row of its own."""
    for row in checklist:
        if AUTHORISATION_LETTER in row["name"]:
            row.update(required=True, is_key=True, received=row["received"] or received)
            return checklist
    return [
        *checklist,
        {
            "material_id": AUTHORISATION_ROW_ID,
            # Catalog data is Chinese whatever the screen language: the catalog's wording.
            "name": AUTHORISATION_ROW_NAME,
            "required": True,
            "is_key": True,
            "received": received,
        },
    ]


def _next_case_number(today) -> str:
    return f"{today:%Y%m%d}{counter_services.number_take(day=today, key='case'):05d}"


# The item with its category, its chain and its latest version; compiled once.
_ITEM_TAKEN_IN = CompiledRead(
    lambda item_id: (
        items_with_chain(ServiceItem.objects.select_related("category"))
        .annotate(
            latest_history_id=Subquery(
                ServiceItem.history.filter(id=OuterRef("pk"))
                .order_by("-history_id")
                .values("history_id")[:1]
            )
        )
        .filter(pk=item_id)[:1]
    )
)


# The item's required and optional materials, in the catalog's order; compiled once.
_ITEM_MATERIALS = CompiledRead(
    lambda item_id: Material.objects.filter(item_id=item_id).order_by("order", "pk")
)

# The ticket's case for the same item and applicant (not one only notified of what was
# missing), if any; compiled once.
_CASE_OF_TICKET = CompiledRead(
    lambda ticket_id, item_id, digest: (
        Case.objects.filter(ticket_id=ticket_id, item_id=item_id, applicant_id_digest=digest)
        .exclude(status=Case.Status.NOTIFIED)
        .only("number")
    ),
    keys=(int, int, str),
)


def case_accept(
    *,
    clerk,
    item_id: int,
    applicant_name: str,
    id_number: str,
    received_material_ids: set[int],
    applicant_phone: str = "",
    scans: list[VettedScan] = (),
    defer_missing: bool = False,
    intake_token: str = "",
    employer: Employer | None = None,
    agent: Agent | None = None,
    authorisation_received: bool = False,
    assisting_staff_id: int | None = None,
) -> Case:
    """Open the case for the ticket being served and take exactly one outcome.

    The applicant is a person, or an `employer` (then `applicant_name` and `id_number`
    are its handling person's); an `agent` may act for either, and then the
    authorisation letter is a required key material (`authorisation_received`).
    `assisting_staff_id`: the hall staff member who helped (帮办代办), left out of draws
    (a reviewer or approver named is raised to the auditor: it steers the draw).

    Missing key materials (or any, without `defer_missing`) → notified, not accepted
    (the notice lists them); only non-key materials missing and `defer_missing` →
    accepted with the materials to follow (容缺); otherwise a back-office item →
    forwarded; level 0 → finished on the spot; level 1–3 → submitted to the review
    chain, its first step drawn in the same transaction (risk.services.review_step_open).

    `intake_token` is the workbench form's one-time token: a form that already opened a
    case raises IntakeRepeated naming it (checked first, and guarded by a unique column).
    """
    intake_token = intake_token if _INTAKE_TOKEN.fullmatch(intake_token or "") else ""
    _intake_repeat_check(intake_token)
    number = id_number_validate(id_number)
    applicant_name = name_clean(applicant_name, field=_("Applicant's name"))
    if not applicant_name:
        raise ValidationError(_("Enter the applicant's name."), code="applicant_name")
    applicant_phone = phone_number_validate(applicant_phone)
    digest = id_number_digest(number)
    # Read once, with its materials, for the checks here and the intake below.
    item = _ITEM_TAKEN_IN.first(item_id)
    materials = _ITEM_MATERIALS.all(item.pk) if item is not None else []
    parties = _parties_check(
        clerk=clerk,
        item=item,
        applicant_digest=digest,
        employer=employer,
        agent=agent,
        assisting_staff_id=assisting_staff_id,
    )
    if conflict_of_interest(
        user=clerk, applicant_id_digest=digest, agent_id_digest=parties.get("agent_id_digest", "")
    ):
        # The counter's own recusal: the draws already leave the applicant and their
        # declared relatives out of the review chain; the clerk steps aside too.
        raise ValidationError(
            _("You may not handle your own application or a declared relative's (as "
              "applicant, handling person or agent). Finish this ticket and ask the window "
              "lead to have another clerk serve the citizen."),
            code="recused",
        )  # fmt: skip
    try:
        return _case_open(
            clerk=clerk,
            item=item,
            materials=materials,
            applicant_name=applicant_name,
            number=number,
            digest=digest,
            received_material_ids=received_material_ids,
            applicant_phone=applicant_phone,
            scans=scans,
            defer_missing=defer_missing,
            intake_token=intake_token,
            parties=parties,
            authorisation_received=authorisation_received,
        )
    except IntegrityError:
        # Two submissions of one form raced past the check: the database let one in.
        _intake_repeat_check(intake_token)
        raise


def _case_open(
    *,
    clerk,
    item: ServiceItem | None,
    materials: list[Material],
    applicant_name: str,
    number: str,
    digest: str,
    received_material_ids: set[int],
    applicant_phone: str,
    scans,
    defer_missing: bool,
    intake_token: str,
    parties: dict,
    authorisation_received: bool,
) -> Case:
    with transaction.atomic(durable=True), audit_writes_batched():
        window, ticket = counter_services.serving_ticket(
            clerk, item_id=None if item is None else item.pk
        )
        # Under the ticket's row lock, so a concurrent submission of the form waits here.
        _intake_repeat_check(intake_token)
        item_offered_check(
            agency_id=ticket.agency_id,
            item=item,
            switched_off=getattr(window, "item_switched_off", None),
        )
        # F9 pressed twice, or two requests at once (serialised by the ticket row lock),
        # never opens a second case, and so never a second review chain. A one-time
        # notice does not count: the citizen may return with the material in the same
        # visit. (No database constraint: databases from before this check may hold such
        # pairs already.)
        earlier = _CASE_OF_TICKET.first(ticket.pk, item.pk, digest)
        if earlier:
            raise StateConflict(
                _("This application was already accepted for this ticket as case %(number)s.")
                % {"number": earlier.number},
                code="duplicate_case",
            )
        guide = _guide_snapshot(item, materials)
        checklist = [
            {
                "material_id": m["material_id"],
                "name": m["name"],
                "required": m["required"],
                "is_key": m["is_key"],
                "received": m["material_id"] in received_material_ids,
            }
            for m in guide["materials"]
        ]
        if parties.get("agent_id_digest"):
            checklist = _authorisation_apply(checklist, received=authorisation_received)
        missing = [row for row in checklist if row["required"] and not row["received"]]
        today = timezone.localdate()
        due_date = working_days_after(today, item.promised_days)
        deferred_due = None
        if missing and (defer_missing and not any(row["is_key"] for row in missing)):
            status = Case.Status.AWAITING_MATERIALS
            deferred_due = min(
                working_days_after(today, settings.DEFERRED_MATERIALS_DAYS), due_date
            )
        elif missing:
            status = Case.Status.NOTIFIED
        else:
            status = _status_when_complete(item)
        case_initial_check(status)
        now = timezone.now()
        chain, step_hours = chain_for_item(item) if status == Case.Status.IN_REVIEW else ([], 0)
        case = record_create(
            Case,
            # The ticket's site (the window's: they are one site) and its agency.
            site_id=ticket.site_id,
            agency_id=ticket.agency_id,
            # One statement, no row lock on PostgreSQL (counters.services.number_take); an
            # intake refused before this line takes no number.
            number=_next_case_number(today),
            ticket=ticket,
            item=item,
            guide_snapshot=guide,
            risk_level=item.risk_level,
            applicant_name=applicant_name,
            applicant_id_encrypted=personal_data_encrypt(number),
            applicant_id_digest=digest,
            applicant_id_masked=id_number_mask(number),
            applicant_id_tail_digest=id_number_tail_digest(number),
            intake_token=intake_token,
            applicant_phone=applicant_phone,
            handler=clerk,
            review_chain=chain,
            step_hours=step_hours or 4,
            checklist=checklist,
            status=status,
            review_round=1 if status == Case.Status.IN_REVIEW else 0,
            current_step=1 if status == Case.Status.IN_REVIEW else 0,
            accepted_at=now,
            due_date=due_date,
            deferred_due=deferred_due,
            finished_at=now if status == Case.Status.FINISHED else None,
            **parties,
        )
        for scan in scans:
            case_document_store(case=case, scan=scan, clerk=clerk)
        audit_event_record(
            event_type="case.accepted",
            actor=clerk,
            obj=case,
            data={
                "item": item.code,
                "status": status,
                "missing": [row["name"] for row in missing],
                "ticket": ticket.pk,
                # Kinds only: no name or number of anyone goes into the log.
                "applicant_kind": parties["applicant_kind"],
                "agent": bool(parties.get("agent_id_digest")),
                "assisting_staff": parties.get("assisting_staff_id"),
            },
        )
        if parties.get("assisting_staff_id") is not None:
            _assisting_staff_watch(case=case, clerk=clerk)
        if status == Case.Status.IN_REVIEW:
            review_step_open(case=case, step=1)
        case_audit_schedule(case)
    return case


def _assisting_staff_watch(*, case: Case, clerk) -> None:
    """The staff member named as having helped (帮办代办) is left out of the case's draws,
    so naming someone who reviews or approves would take them out of the pool at the
    clerk's choice: allowed (they may truly have helped), but raised to the auditor."""
    roles = user_roles(case.assisting_staff) & {Role.REVIEWER, Role.APPROVER}
    if roles:
        finding_raise(
            rule="assisting_staff_drawable", severity="medium", key=f"case:{case.pk}",
            case=case, subject=clerk,
            evidence={"assisting_staff": case.assisting_staff_id, "roles": sorted(roles)},
        )  # fmt: skip


def case_correct(
    *,
    clerk,
    case_id: int,
    applicant_name: str,
    applicant_phone: str,
    received_material_ids: set[int],
    id_number: str = "",
    scans: list[VettedScan] = (),
) -> Case:
    """Correct a returned case before it is resubmitted: the applicant's name, mobile
    number and (when typed again) ID number, the materials ticked, and further scans (a
    newer scan of a material stands beside the earlier one). Any clerk but a recused one,
    only while the case is returned; what changed is recorded, the ID number masked."""
    applicant_name = name_clean(applicant_name, field=_("Applicant's name"))
    if not applicant_name:
        raise ValidationError(_("Enter the applicant's name."), code="applicant_name")
    applicant_phone = phone_number_validate(applicant_phone)
    number = id_number_validate(id_number) if (id_number or "").strip() else ""
    with transaction.atomic(durable=True):
        case = Case.objects.select_for_update().get(pk=case_id)
        case_clerk_check(clerk=clerk, case=case)
        if case.status != Case.Status.RETURNED:
            raise CaseStateError(
                _("Only a case returned for correction can be corrected."), code="not_returned"
            )
        changed: list[str] = []
        if applicant_name != case.applicant_name:
            case.applicant_name = applicant_name
            changed.append("applicant_name")
        if applicant_phone != case.applicant_phone:
            case.applicant_phone = applicant_phone
            changed.append("applicant_phone")
        data: dict = {}
        if number and id_number_digest(number) != case.applicant_id_digest:
            digest = id_number_digest(number)
            if conflict_of_interest(user=clerk, applicant_id_digest=digest):
                raise CaseRecused(
                    _("You may not handle your own application or a declared relative's.")
                )
            data["id_number"] = {"from": case.applicant_id_masked, "to": id_number_mask(number)}
            case.applicant_id_encrypted = personal_data_encrypt(number)
            case.applicant_id_digest = digest
            case.applicant_id_masked = id_number_mask(number)
            case.applicant_id_tail_digest = id_number_tail_digest(number)
            changed += [
                "applicant_id_encrypted",
                "applicant_id_digest",
                "applicant_id_masked",
                "applicant_id_tail_digest",
            ]
        ticked = {row["material_id"] for row in case.checklist if row["received"]}
        added, removed = received_material_ids - ticked, ticked - received_material_ids
        known = {row["material_id"] for row in case.checklist}
        if (added | removed) & known:
            for row in case.checklist:
                row["received"] = row["material_id"] in received_material_ids
            changed.append("checklist")
            data["materials"] = {"added": sorted(added & known), "removed": sorted(removed)}
        if not changed and not scans:
            raise ValidationError(_("Nothing was changed."), code="unchanged")
        if changed:
            case.save(update_fields=changed)
        for scan in scans:
            case_document_store(case=case, scan=scan, clerk=clerk)
        audit_event_record(
            event_type="case.corrected",
            actor=clerk,
            obj=case,
            data={
                "fields": [f for f in changed if not f.startswith("applicant_id_")]
                + (["id_number"] if "id_number" in data else []),
                "scans": len(scans),
                **data,
            },
        )
    return case


def case_resubmit(*, clerk, case_id: int) -> Case:
    """A clerk resubmits a returned case, once per return: a new round whose steps go
    back to the people who decided them where they still can (risk's pool rule), so a
    resubmission is never a fresh throw of the dice. Any clerk but a recused one; the
    draws leave out every clerk who worked on the case (the resubmitting one too: the
    draw reads the resubmission's own event, which waits in the batch, langzhong_si.batch)."""
    with transaction.atomic(durable=True), audit_writes_batched():
        case = Case.objects.select_for_update().get(pk=case_id)
        case_clerk_check(clerk=clerk, case=case)
        if case.status != Case.Status.RETURNED:
            raise CaseStateError(
                _("Only a case returned for correction can be resubmitted."), code="not_returned"
            )
        case.review_round += 1
        case.current_step = 1
        case_transition(
            case=case,
            to=Case.Status.IN_REVIEW,
            actor=clerk,
            fields=("review_round", "current_step"),
        )
        review_round_open(case=case, actor=clerk)
    return case


def case_opened(*, viewer, case: Case) -> None:
    """A clerk other than the handling one opened the case page: a personal-data access
    (the case's applicant, masked ID number and materials), recorded."""
    if viewer.pk == case.handler_id:
        return
    with transaction.atomic():
        audit_event_record(event_type="personal_data.case_opened", actor=viewer, obj=case)


def case_search(*, clerk, query: str) -> case_selectors.CaseSearch:
    """The counter's case search (case number, the ID number's last 4-6 characters,
    name). Every search is an event: what was searched, masked, and how many cases
    matched."""
    if not user_has_role(clerk, Role.CLERK):
        raise PermissionDenied(_("Only a clerk may search the cases."))
    result = case_selectors.cases_matching(query, user=clerk)
    if result.terms:
        with transaction.atomic():
            audit_event_record(
                event_type="case.searched",
                actor=clerk,
                data={"query": result.masked_terms, "results": len(result.cases)},
            )
    return result
