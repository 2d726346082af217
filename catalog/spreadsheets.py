"""Reading and writing the catalog's exchange format: a sheet of items and a sheet of
materials, as one .xlsx workbook (sheets "items" and "materials") or as a folder with
items.csv and materials.csv. Values are read as text; catalog.services checks them."""

import csv
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook, load_workbook

ITEM_COLUMNS = [
    "code",
    "name",
    "category_code",
    "category_name",
    "category_order",
    "parent_name",
    "at_counter",
    "risk_level",
    "handling_type",
    "statutory_days",
    "promised_days",
    "visits_required",
    "fee",
    "legal_basis",
    "conditions",
    "steps",
    "result",
    "retention",
    "source",
    "estimated_fields",
    "enabled",
]
# The province's codes: optional when reading (a file without them leaves the stored codes
# as they are), always written.
OFFICIAL_CODE_COLUMNS = ["implementation_code", "business_item_code"]
MATERIAL_COLUMNS = ["item_code", "name", "form", "copies", "required", "is_key", "notes"]


class CatalogFileError(Exception):
    """The file cannot be read as a catalog at all (missing sheet or column)."""


@dataclass
class CatalogSheets:
    items: list[dict] = field(default_factory=list)
    materials: list[dict] = field(default_factory=list)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _check_columns(sheet: str, header: list[str], wanted: list[str]) -> None:
    missing = [column for column in wanted if column not in header]
    if missing:
        raise CatalogFileError(f"sheet {sheet!r} lacks columns: {', '.join(missing)}")


def _rows(sheet: str, header: list[str], body, wanted: list[str]) -> list[dict]:
    header = [_text(name) for name in header]
    _check_columns(sheet, header, wanted)
    rows = []
    for values in body:
        row = {name: _text(value) for name, value in zip(header, values, strict=False)}
        if any(row.values()):
            rows.append(row)
    return rows


def catalog_file_read(path: Path) -> CatalogSheets:
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        workbook = load_workbook(path, read_only=True, data_only=True)
        sheets = {}
        for name, columns in (("items", ITEM_COLUMNS), ("materials", MATERIAL_COLUMNS)):
            if name not in workbook.sheetnames:
                raise CatalogFileError(f"the workbook has no sheet named {name!r}")
            rows = list(workbook[name].iter_rows(values_only=True))
            if not rows:
                raise CatalogFileError(f"sheet {name!r} is empty")
            sheets[name] = _rows(name, list(rows[0]), rows[1:], columns)
        return CatalogSheets(items=sheets["items"], materials=sheets["materials"])
    folder = path if path.is_dir() else path.parent
    sheets = {}
    for name, columns in (("items", ITEM_COLUMNS), ("materials", MATERIAL_COLUMNS)):
        csv_path = folder / f"{name}.csv"
        if not csv_path.exists():
            raise CatalogFileError(f"{csv_path} does not exist")
        with csv_path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            sheets[name] = _rows(name, header, reader, columns)
    return CatalogSheets(items=sheets["items"], materials=sheets["materials"])


def catalog_file_write(path: Path, sheets: CatalogSheets) -> None:
    path = Path(path)
    tables = (
        ("items", ITEM_COLUMNS + OFFICIAL_CODE_COLUMNS, sheets.items),
        ("materials", MATERIAL_COLUMNS, sheets.materials),
    )
    if path.suffix.lower() == ".xlsx":
        workbook = Workbook()
        workbook.remove(workbook.active)
        for name, columns, rows in tables:
            sheet = workbook.create_sheet(name)
            sheet.append(columns)
            for row in rows:
                sheet.append([row.get(column, "") for column in columns])
        workbook.save(path)
        return
    path.mkdir(parents=True, exist_ok=True)
    for name, columns, rows in tables:
        with (path / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
