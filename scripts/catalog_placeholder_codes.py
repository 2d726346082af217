"""Fill the province-code columns of fixtures/catalog/items.csv with PLACEHOLDER codes.

The shipped catalog does not carry the province's 实施清单编码 and 业务办理项编码 (they come
from the province's published list, which an agency imports with load_catalog). So that
upward reporting has codes of the right shape to send in development and tests, this
script writes codes of the published shape that are NOT official: the implementing
agency's part is the made-up credit code below, never a real organisation's. Items that
share a 主项 (parent_name) share an implementation code; each item has its own business
item code (the implementation code and a two-digit number). Rows that already carry codes
keep them. Run: python scripts/catalog_placeholder_codes.py
"""

import csv
from pathlib import Path

ITEMS = Path(__file__).resolve().parent.parent / "fixtures" / "catalog" / "items.csv"
COLUMNS = ["implementation_code", "business_item_code"]
CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
# 机关 (11) in Langzhong (511381) with an organisation code that is a placeholder.
PLACEHOLDER_AGENCY_17 = "11511381MB0000000"


def credit_code(first17: str) -> str:
    total = sum(CHARS.index(char) * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return first17 + CHARS[(31 - total % 31) % 31]


def main() -> None:
    with ITEMS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
        header = list(rows[0].keys()) if rows else []
    header += [column for column in COLUMNS if column not in header]
    agency = credit_code(PLACEHOLDER_AGENCY_17)
    groups: dict[tuple[str, str], str] = {}
    members: dict[str, int] = {}
    for row in rows:
        if row.get("implementation_code") and row.get("business_item_code"):
            continue
        group = (row["category_code"], row["parent_name"] or row["code"])
        if group not in groups:
            basic = f"0007{int(row['category_order']):02d}{len(groups) + 1:03d}000"
            groups[group] = f"{agency}2{basic}"
        code = groups[group]
        members[code] = members.get(code, 0) + 1
        row["implementation_code"] = code
        row["business_item_code"] = f"{code}{members[code]:02d}"
    with ITEMS.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
