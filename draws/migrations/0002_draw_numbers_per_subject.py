# Draw numbers count per subject from now on, instead of per day. Every draw already
# stored keeps its number and is marked as numbered in its day's one series (the column
# is added with that default, then new rows default to the subject's series); its
# uniqueness is kept for that series. The day's counter is dropped: nothing draws from
# it any more (the auditor's page counts a day's draws).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("draws", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="draw",
            name="numbering",
            field=models.PositiveSmallIntegerField(
                choices=[(1, "one series for the day"), (2, "one series per subject")],
                default=1,
                verbose_name="numbering",
            ),
        ),
        migrations.AlterField(
            model_name="draw",
            name="numbering",
            field=models.PositiveSmallIntegerField(
                choices=[(1, "one series for the day"), (2, "one series per subject")],
                default=2,
                verbose_name="numbering",
            ),
        ),
        migrations.AlterField(
            model_name="draw",
            name="number",
            field=models.PositiveIntegerField(verbose_name="number within its series"),
        ),
        migrations.RemoveConstraint(
            model_name="draw",
            name="risk_draw_unique_number",
        ),
        migrations.AddConstraint(
            model_name="draw",
            constraint=models.UniqueConstraint(
                condition=models.Q(("numbering", 1)),
                fields=("day", "number"),
                name="risk_draw_unique_number",
            ),
        ),
        migrations.AddConstraint(
            model_name="draw",
            constraint=models.UniqueConstraint(
                condition=models.Q(("numbering", 2)),
                fields=("day", "subject", "number"),
                name="draw_unique_number_per_subject",
            ),
        ),
        migrations.RemoveField(
            model_name="dailyseed",
            name="next_number",
        ),
    ]
