"""On PostgreSQL, per-day numbers (queue numbers, case numbers) come from a SEQUENCE per
day and key, made by the day's first taker: `counters_number_next(day, key)` (see
counters.services.number_take). Elsewhere the NumberSequence row serves, as before."""

from django.db import migrations

# A day's sequence starts after any number its NumberSequence row already gave (a day
# begun before this migration). Made IF NOT EXISTS in a block of its own: a concurrent
# first taker's sequence stands. The maker also drops its key's sequences of a week ago
# and earlier, which nothing takes from any more.
NUMBER_NEXT = r"""
CREATE OR REPLACE FUNCTION counters_number_next(p_day date, p_key text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    name text := 'counters_number_' || to_char(p_day, 'YYYYMMDD') || '_' || p_key;
    first_number bigint;
    old text;
BEGIN
    IF to_regclass(quote_ident(name)) IS NULL THEN
        SELECT COALESCE(MAX(s.last), 0) + 1 INTO first_number
          FROM counters_numbersequence s WHERE s.day = p_day AND s.key = p_key;
        BEGIN
            EXECUTE format('CREATE SEQUENCE %I START WITH %s', name, first_number);
            FOR old IN
                SELECT c.relname FROM pg_class c
                 WHERE c.relkind = 'S'
                   AND c.relname LIKE 'counters\_number\_%'
                   AND right(c.relname, length(p_key) + 1) = '_' || p_key
                   AND c.relname < 'counters_number_' || to_char(p_day - 7, 'YYYYMMDD')
            LOOP
                EXECUTE format('DROP SEQUENCE IF EXISTS %I', old);
            END LOOP;
        EXCEPTION WHEN unique_violation OR duplicate_table THEN
            NULL;  -- made meanwhile by a concurrent first taker
        END;
    END IF;
    RETURN nextval(quote_ident(name)::regclass);
END
$$;
"""

SECURITY_DEFINER = r"""
DO $$ BEGIN
    EXECUTE format(
        'ALTER FUNCTION counters_number_next(date, text) SECURITY DEFINER '
        'SET search_path = %I, pg_temp', current_schema());
END $$;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NUMBER_NEXT, params=None)  # its % are not placeholders
        # The application's role may not create objects (audit.database_roles): the
        # function makes the day's sequence as its owner, the role that migrates, with a
        # search path fixed to the project's schema.
        schema_editor.execute(SECURITY_DEFINER, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS counters_number_next(date, text)")


class Migration(migrations.Migration):
    dependencies = [("counters", "0014_windows_tickets_cases_at_sites")]

    operations = [migrations.RunPython(forward, backward)]
