from django.db import migrations, models


class Migration(migrations.Migration):
    """The relay no longer marks a message sent (a commit per message): the task marks it
    done in its own transaction, and the sweep records when it published. Rows marked sent
    before are taken as done, as the old relay took them."""

    dependencies = [
        ("outbox", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="outboxmessage", name="outbox_unsent_idx"),
        migrations.RenameField(model_name="outboxmessage", old_name="sent_at", new_name="done_at"),
        migrations.AlterField(
            model_name="outboxmessage",
            name="done_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="done at"),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="published_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="published at"),
        ),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(
                condition=models.Q(("done_at__isnull", True)),
                fields=["created_at"],
                name="outbox_not_done_idx",
            ),
        ),
    ]
