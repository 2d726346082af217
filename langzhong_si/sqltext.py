"""Statements written out in .sql files beside the code that runs them (where building
one through the ORM cost more CPU than running it), each table named by its model:
`{staff.PasswordRecord}`, or `{auth.User_groups}` for a many-to-many's own table."""

import re
from functools import cache
from pathlib import Path

from django.apps import apps

_TABLE = re.compile(r"\{(\w+)\.(\w+)\}")


@cache
def sql_text(path: Path) -> str:
    """The statement in `path`, its tables named as their models' tables are."""
    text = Path(path).read_text()
    return _TABLE.sub(lambda name: apps.get_model(name[1], name[2])._meta.db_table, text)
