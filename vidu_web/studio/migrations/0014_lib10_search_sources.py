"""Indexes for the rest of gallery search's text (studio/search.py): project names and comments,
as migration 0012 did for prompts.

PostgreSQL: pg_trgm GIN indexes on ``vidu_fold(studio_project.name)`` and
``vidu_fold(studio_comment.body)`` (``vidu_fold`` is 0012's immutable unaccent(lower())).

SQLite: one FTS5 trigram table each, holding the folded text under the row's id, kept by
triggers (``vidu_fold`` is the Python function search.register gives every connection).
"""

from django.db import migrations

POSTGRES = [
    "CREATE INDEX project_folded_trgm ON studio_project USING gin (vidu_fold(name) gin_trgm_ops)",
    "CREATE INDEX comment_folded_trgm ON studio_comment USING gin (vidu_fold(body) gin_trgm_ops)",
]
POSTGRES_BACK = ["DROP INDEX IF EXISTS project_folded_trgm", "DROP INDEX IF EXISTS comment_folded_trgm"]


def _sqlite(table, column):
    """An FTS5 trigram table over ``vidu_fold(table.column)`` and the triggers that keep it."""
    fts = f"{table}_fts"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5(folded, tokenize='trigram')",
        f"INSERT INTO {fts}(rowid, folded) SELECT id, vidu_fold({column}) FROM {table}",
        f"""CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN
              INSERT INTO {fts}(rowid, folded) VALUES (new.id, vidu_fold(new.{column}));
            END""",
        f"""CREATE TRIGGER {fts}_update AFTER UPDATE OF {column} ON {table} BEGIN
              UPDATE {fts} SET folded = vidu_fold(new.{column}) WHERE rowid = old.id;
            END""",
        f"""CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN
              DELETE FROM {fts} WHERE rowid = old.id;
            END""",
    ]


def _sqlite_back(table):
    fts = f"{table}_fts"
    return [f"DROP TRIGGER IF EXISTS {fts}_insert", f"DROP TRIGGER IF EXISTS {fts}_update",
            f"DROP TRIGGER IF EXISTS {fts}_delete", f"DROP TABLE IF EXISTS {fts}"]


# The tasks filed in a project: search.py's candidates go from a project to its tasks by it. The
# plain index on project_id can't serve there once ANALYZE has seen most tasks in no project (it
# counts all those NULLs as one value shared by every task); this one holds only filed tasks.
SQLITE_TASKS_IN_PROJECT = ("CREATE INDEX studio_task_in_project ON studio_generationtask(project_id) "
                           "WHERE project_id IS NOT NULL")
SQLITE = [*_sqlite("studio_project", "name"), *_sqlite("studio_comment", "body"), SQLITE_TASKS_IN_PROJECT]
SQLITE_BACK = [*_sqlite_back("studio_project"), *_sqlite_back("studio_comment"),
               "DROP INDEX IF EXISTS studio_task_in_project"]


def forwards(apps, schema_editor):
    statements = {"postgresql": POSTGRES, "sqlite": SQLITE}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    statements = {"postgresql": POSTGRES_BACK, "sqlite": SQLITE_BACK}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("studio", "0013_libc_project_shares")]

    operations = [migrations.RunPython(forwards, backwards)]
