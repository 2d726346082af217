"""Catalog currency: the items the 社会保险经办条例 (国务院令第765号, in force 2023-12-01)
governs cite its articles, in the shipped fixture and, by migration, in a database
loaded before it; an agency's own wording is kept and the change is in the row
history."""

import importlib

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from catalog.models import ServiceItem

MIGRATION = importlib.import_module(
    "catalog.migrations.0004_legal_bases_social_insurance_handling_regulation"
)
BEFORE = [("catalog", "0003_province_codes")]
AFTER = [("catalog", "0004_legal_bases_social_insurance_handling_regulation")]
REGULATION = "《社会保险经办条例》(国务院令第765号)"


@pytest.mark.django_db
def test_the_shipped_catalog_cites_the_regulation_exactly_where_it_applies():
    call_command("load_catalog", stdout=open("/dev/null", "w"))  # noqa: SIM115
    citing = set(
        ServiceItem.objects.filter(legal_basis__contains=REGULATION).values_list("code", flat=True)
    )
    assert citing == set(MIGRATION.CITATIONS)
    transfer = ServiceItem.objects.get(code="QYYL-013").legal_basis
    assert transfer.endswith(f"；{REGULATION} 第十二条、第十六条")
    assert "国办发〔2009〕66号" in transfer, "the earlier bases stay"
    pension = ServiceItem.objects.get(code="QYYL-008").legal_basis
    assert pension.endswith(f"{REGULATION} 第十八条")


@pytest.mark.django_db(transaction=True)
def test_a_database_loaded_before_gets_the_citations_by_migration_and_loses_them_on_reverse(
    database_at,
):
    executor = database_at(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    category = old.get_model("catalog", "InsuranceCategory").objects.create(code="YL", name="养老")
    Item = old.get_model("catalog", "ServiceItem")

    def item(code, legal_basis):
        return Item.objects.create(
            code=code, name=code, category=category, statutory_days=20, promised_days=10,
            legal_basis=legal_basis,
        )  # fmt: skip

    item("QYYL-013", "《中华人民共和国社会保险法》(主席令第三十五号)")
    item("QYYL-008", "本局自定依据")  # an agency's own wording
    item("QYYL-003", "《中华人民共和国社会保险法》(主席令第三十五号)")  # no article governs it
    item("SYBX-001", f"{REGULATION} 第二十四条")  # already cites it

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    bases = dict(ServiceItem.objects.values_list("code", "legal_basis"))
    law = "《中华人民共和国社会保险法》(主席令第三十五号)"
    assert bases == {
        "QYYL-013": f"{law}；{REGULATION} 第十二条、第十六条",
        "QYYL-008": f"本局自定依据；{REGULATION} 第十八条",
        "QYYL-003": "《中华人民共和国社会保险法》(主席令第三十五号)",
        "SYBX-001": f"{REGULATION} 第二十四条",
    }
    history = ServiceItem.history.filter(code="QYYL-008").latest("history_date")
    assert history.legal_basis == bases["QYYL-008"]
    assert "国务院令第765号" in history.history_change_reason

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    executor = MigrationExecutor(connection)
    restored = dict(
        executor.loader.project_state(BEFORE)
        .apps.get_model("catalog", "ServiceItem")
        .objects.values_list("code", "legal_basis")
    )
    assert restored["QYYL-008"] == "本局自定依据"
    assert restored["SYBX-001"] == f"{REGULATION} 第二十四条", "never appended, never removed"
