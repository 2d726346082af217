"""langzhong_si.sqltext: a statement written out in a .sql file names each table by its
model, a many-to-many's own table included."""

import pytest

from langzhong_si.sqltext import sql_text


def test_tables_are_named_by_their_models(tmp_path):
    path = tmp_path / "read.sql"
    path.write_text("SELECT 1 FROM {staff.StaffProfile} f JOIN {staff.StaffProfile_sites} w")
    assert sql_text(path) == "SELECT 1 FROM staff_staffprofile f JOIN staff_staffprofile_sites w"


def test_an_unknown_model_is_refused(tmp_path):
    path = tmp_path / "wrong.sql"
    path.write_text("SELECT 1 FROM {staff.NoSuchModel}")
    with pytest.raises(LookupError):
        sql_text(path)
