# 社会保险经办条例 (国务院令第765号, in force 2023-12-01) governs how an agency handles
# registration, relationship transfers, benefit determination and payment, and its
# service. Each item it governs gets the Regulation's articles appended to its legal
# basis, in existing databases as in fixtures/catalog/items.csv. Only articles read in
# the Regulation's text are cited; an item no article names is left as it was (the
# Regulation's general scope, art. 2, covers every item and is not repeated).
#
# An agency's own wording is kept: the citation is appended to whatever the item holds,
# once (an item already citing the Regulation is skipped), with a row-history entry
# giving the reason. Reversing removes exactly the appended text, from the items this
# migration changed.

from django.db import migrations
from django.utils import timezone

REGULATION = "《社会保险经办条例》(国务院令第765号)"
REASON = "法律依据更新：社会保险经办条例(国务院令第765号)"

# Item code → the Regulation's articles that govern it.
CITATIONS = {
    # Registration (art. 6: a person's registration within 10 working days, an
    # employer's together with its business registration; art. 9: changes reported and
    # checked; art. 10: changes and cancellations within 10 working days).
    "TY-001": "第六条",
    "TY-002": "第九条、第十条",
    "TY-003": "第十条",
    "TY-004": "第六条",
    "TY-005": "第九条",
    "TY-007": "第九条、第十条",
    "TY-008": "第九条、第十条",
    "TY-022": "第九条",
    "QYYL-001": "第六条",
    "JGYL-001": "第六条",
    "JGYL-002": "第九条、第十条",
    "JGYL-003": "第十条",
    "JGYL-004": "第六条",
    "JGYL-016": "第九条",
    "JGYL-019": "第九条、第十条",
    "JMYL-001": "第六条",
    "JMYL-002": "第六条",
    "JMYL-004": "第十条、第二十五条",
    "JMYL-005": "第十条",
    "JMYL-007": "第九条、第十条",
    "YLBX-001": "第六条",
    "YLBX-002": "第九条、第十条",
    "YLBX-003": "第六条",
    "YLBX-004": "第九条、第十条",
    "YLBX-005": "第六条",
    "YLBX-006": "第九条、第十条",
    "YLBX-037": "第六条",
    "GSBX-003": "第九条",
    # The social security card and the medical-insurance e-voucher (arts. 6, 7).
    "SBK-001": "第六条、第七条",
    **{f"SBK-{n:03d}": "第七条" for n in range(2, 19)},
    "YLBX-009": "第六条、第七条",
    # Free queries of contribution and benefit records (art. 32).
    **{
        code: "第三十二条"
        for code in (
            "TY-009", "TY-010", "TY-011", "TY-016", "TY-017", "TY-018", "TY-021",
            "QYYL-002", "QYYL-025", "JGYL-007", "JGYL-017", "JGYL-018", "JMYL-014",
            "SYBX-015", "SYBX-016", "YLBX-007", "YLBX-008", "YLBX-034", "YLBX-035",
        )
    },  # fmt: skip
    # Relationship transfers (arts. 12-14 by insurance, art. 16 time limits and notice,
    # art. 17 military insurance).
    "QYYL-013": "第十二条、第十六条",
    "QYYL-014": "第十二条、第十六条",
    "QYYL-016": "第十六条、第十七条",
    "QYYL-017": "第十六条、第十七条",
    "JGYL-013": "第十二条、第十六条",
    "JGYL-014": "第十二条、第十六条",
    "JMYL-008": "第十二条、第十六条",
    "YLBX-026": "第十三条、第十六条",
    "SYBX-010": "第十四条、第十六条",
    "SYBX-011": "第十四条、第十六条",
    # Benefits: basic pension within 20 working days (art. 18); funeral grant and
    # survivor pension (art. 19); medical and maternity (art. 20); work injury (arts.
    # 21, 22); care in another area (art. 23); unemployment (art. 24); stopping a
    # benefit (art. 25); checking entitlement (art. 26).
    "QYYL-008": "第十八条",
    "QYYL-009": "第十八条",
    "QYYL-010": "第十八条",
    "QYYL-028": "第十八条",
    "JGYL-011": "第十八条",
    "JMYL-003": "第十八条",
    "QYYL-006": "第十九条",
    "QYYL-007": "第十九条",
    "SYBX-002": "第十九条",
    "SYBX-003": "第十九条",
    "YLBX-015": "第二十条",
    "YLBX-017": "第二十条",
    "YLBX-018": "第二十条",
    "YLBX-019": "第二十条",
    "YLBX-020": "第二十条",
    "YLBX-032": "第二十条",
    "YLBX-033": "第二十条",
    "GSBX-008": "第二十一条",
    "GSBX-009": "第二十一条",
    "GSBX-011": "第二十一条",
    "GSBX-025": "第二十一条",
    "GSBX-012": "第二十二条",
    "GSBX-013": "第二十二条",
    "GSBX-014": "第二十二条",
    "YLBX-010": "第二十三条",
    "YLBX-011": "第二十三条",
    "YLBX-012": "第二十三条",
    "YLBX-013": "第二十三条",
    "YLBX-014": "第二十三条",
    "YLBX-038": "第二十三条",
    "GSBX-006": "第二十三条",
    "GSBX-007": "第二十三条",
    "SYBX-001": "第二十四条",
    "SYBX-005": "第二十四条",
    "SYBX-007": "第二十四条",
    "SYBX-017": "第二十四条",
    "QYYL-022": "第二十五条",
    "JMYL-012": "第二十五条",
    "SYBX-014": "第二十五条",
    "QYYL-020": "第二十六条",
    "QYYL-021": "第二十六条",
    "JMYL-011": "第二十六条",
    "GSBX-004": "第二十六条",
    "GSBX-005": "第二十六条",
    "SYBX-013": "第二十六条",
    "TY-024": "第二十六条、第四十二条",
    # Service agreements with medical institutions and pharmacies (arts. 33, 34), their
    # inspection (arts. 42, 43); recovering overpaid benefits (art. 46).
    "YLBX-027": "第三十三条、第三十四条",
    "YLBX-028": "第三十三条、第三十四条",
    "YLBX-029": "第三十三条、第三十四条",
    "YLBX-030": "第三十三条、第三十四条",
    "YLBX-031": "第三十三条、第三十四条",
    "GSBX-024": "第三十三条",
    "YLBX-040": "第四十二条、第四十三条",
    "TY-025": "第四十六条",
    "SYBX-018": "第四十六条",
    "JMYL-017": "第四十六条",
}


def citation(code: str) -> str:
    """The text appended to item `code`'s legal basis."""
    return f"{REGULATION} {CITATIONS[code]}"


def with_citation(legal_basis: str, code: str) -> str:
    """`legal_basis` with the Regulation's articles for `code` appended (once)."""
    if REGULATION in legal_basis:
        return legal_basis
    return f"{legal_basis}；{citation(code)}" if legal_basis else citation(code)


def _history(apps, item, reason: str) -> None:
    History = apps.get_model("catalog", "HistoricalServiceItem")
    values = {
        field.attname: getattr(item, field.attname)
        for field in item._meta.concrete_fields
        if field.attname not in {"id", "search_text"}
    }
    History.objects.create(
        id=item.pk,
        **values,
        history_date=timezone.now(),
        history_type="~",
        history_change_reason=reason[:100],
    )


def cite_the_regulation(apps, schema_editor):
    ServiceItem = apps.get_model("catalog", "ServiceItem")
    for item in ServiceItem.objects.filter(code__in=CITATIONS).order_by("code"):
        updated = with_citation(item.legal_basis, item.code)
        if updated != item.legal_basis:
            item.legal_basis = updated
            item.save(update_fields=["legal_basis"])
            _history(apps, item, REASON)


def uncite_the_regulation(apps, schema_editor):
    """Remove the citation from the items this migration changed (its history rows say
    which): an item that cited the Regulation before keeps it."""
    ServiceItem = apps.get_model("catalog", "ServiceItem")
    History = apps.get_model("catalog", "HistoricalServiceItem")
    changed = History.objects.filter(history_change_reason=REASON[:100]).values("id")
    for item in ServiceItem.objects.filter(code__in=CITATIONS, pk__in=changed).order_by("code"):
        for appended in (f"；{citation(item.code)}", citation(item.code)):
            if item.legal_basis.endswith(appended):
                item.legal_basis = item.legal_basis[: -len(appended)]
                item.save(update_fields=["legal_basis"])
                _history(apps, item, f"撤回：{REASON}")
                break


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_province_codes")]

    operations = [migrations.RunPython(cite_the_regulation, uncite_the_regulation)]
