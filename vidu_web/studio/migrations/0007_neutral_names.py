"""Names that belong to any provider are neutral: the provider's id and state for a task, and
its id for each video (Vidu's own field names stay in the Vidu adapter)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("studio", "0006_task_typical_index")]

    operations = [
        migrations.RemoveConstraint(model_name="creation", name="one_row_per_vidu_creation"),
        migrations.RenameField(model_name="generationtask", old_name="vidu_task_id", new_name="upstream_id"),
        migrations.RenameField(model_name="generationtask", old_name="vidu_state", new_name="upstream_state"),
        migrations.RenameField(model_name="taskevent", old_name="vidu_state", new_name="upstream_state"),
        migrations.RenameField(model_name="creation", old_name="vidu_id", new_name="upstream_id"),
        migrations.AlterField(
            model_name="generationtask", name="progress",
            field=models.PositiveSmallIntegerField(blank=True, help_text="The provider's progress, when it gives one.",
                                                   null=True),
        ),
        migrations.AddConstraint(
            model_name="creation",
            constraint=models.UniqueConstraint(
                fields=("task", "upstream_id"), name="one_row_per_upstream_creation"),
        ),
    ]
