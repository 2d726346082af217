from django.conf import settings
from django.db import migrations, models

# Events are chained after their commit by the sequencer (audit/chain.py): the trigger
# that refuses UPDATE and DELETE on the log now lets exactly one UPDATE through per row:
# setting its chain fields (position, prev_hash, hash, chained_at) while the row has
# none, changing nothing else. Every other UPDATE, every DELETE and TRUNCATE are refused
# as before, to every session. The application's role gets UPDATE on those four columns
# only (manage.py db_roles).
FORWARD = """
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger AS $$
DECLARE
    chain_columns CONSTANT text[] := ARRAY['position', 'prev_hash', 'hash', 'chained_at'];
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.position IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL
       AND OLD.chained_at IS NULL
       AND NEW.position IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL
       AND NEW.chained_at IS NOT NULL
       AND (to_jsonb(NEW) - chain_columns) = (to_jsonb(OLD) - chain_columns)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_auditevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""
# The function as 0005 left it.
BACKWARD = """
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_auditevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


def _run(schema_editor, sql):
    # A plain cursor without parameters, so the % in the PL/pgSQL message stays literal.
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)


def trigger_forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def trigger_backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


def sequencer_start(apps, schema_editor):
    """Every event so far is chained: the sequencer accounts for keys after the last."""
    last = apps.get_model("audit", "AuditEvent").objects.aggregate(top=models.Max("id"))["top"]
    if last is not None:
        apps.get_model("audit", "ChainSequencer").objects.create(pk=1, scanned_through=last)


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0005_trigger_refuses_every_session'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ChainSequencer',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scanned_through', models.BigIntegerField(blank=True, null=True, verbose_name='keys scanned through')),
                ('pending_keys', models.JSONField(blank=True, default=list, verbose_name='keys not yet seen')),
                ('ran_at', models.DateTimeField(blank=True, null=True, verbose_name='last run')),
            ],
            options={
                'verbose_name': 'audit chain sequencer',
                'verbose_name_plural': 'audit chain sequencer',
            },
        ),
        migrations.AlterModelOptions(
            name='auditevent',
            options={'ordering': ['id'], 'verbose_name': 'audit event', 'verbose_name_plural': 'audit events'},
        ),
        migrations.AddField(
            model_name='auditevent',
            name='chained_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='chained at'),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='hash',
            field=models.CharField(blank=True, max_length=64, null=True, verbose_name='hash'),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='position',
            field=models.BigIntegerField(blank=True, null=True, unique=True, verbose_name='position'),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='prev_hash',
            field=models.CharField(blank=True, max_length=64, null=True, verbose_name='previous hash'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(condition=models.Q(('position__isnull', True)), fields=['id'], name='audit_event_waiting_idx'),
        ),
        migrations.RunPython(sequencer_start, migrations.RunPython.noop),
        migrations.RunPython(trigger_forward, trigger_backward),
    ]
