# Gallery search folds accents with PostgreSQL's unaccent (see studio/search.py). On SQLite the
# operation does nothing: search.register gives each connection a Python unaccent instead.
from django.contrib.postgres.operations import UnaccentExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("studio", "0004_task_endpoint")]

    operations = [UnaccentExtension()]
