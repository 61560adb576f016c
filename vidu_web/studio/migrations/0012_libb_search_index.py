"""An index for gallery search (studio/search.py), on each database its own kind.

PostgreSQL: ``vidu_fold(text)``, unaccent(lower()) declared IMMUTABLE (unaccent itself is only
STABLE, since its dictionary could change, so no index may call it directly; naming the
dictionary makes the result fixed), and a pg_trgm GIN index on ``vidu_fold(studio_prompt.text)``.

SQLite: an FTS5 table with the trigram tokenizer holding each prompt folded (``vidu_fold`` is
the Python function search.register gives every connection), kept by triggers on studio_prompt.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

POSTGRES = [
    """CREATE OR REPLACE FUNCTION vidu_fold(text) RETURNS text
       LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
       AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, lower($1)) $$""",
    "CREATE INDEX prompt_folded_trgm ON studio_prompt USING gin (vidu_fold(text) gin_trgm_ops)",
]
POSTGRES_BACK = ["DROP INDEX IF EXISTS prompt_folded_trgm", "DROP FUNCTION IF EXISTS vidu_fold(text)"]

SQLITE = [
    "CREATE VIRTUAL TABLE studio_prompt_fts USING fts5(folded, tokenize='trigram')",
    "INSERT INTO studio_prompt_fts(rowid, folded) SELECT id, vidu_fold(text) FROM studio_prompt",
    """CREATE TRIGGER studio_prompt_fts_insert AFTER INSERT ON studio_prompt BEGIN
         INSERT INTO studio_prompt_fts(rowid, folded) VALUES (new.id, vidu_fold(new.text));
       END""",
    """CREATE TRIGGER studio_prompt_fts_update AFTER UPDATE OF text ON studio_prompt BEGIN
         UPDATE studio_prompt_fts SET folded = vidu_fold(new.text) WHERE rowid = old.id;
       END""",
    """CREATE TRIGGER studio_prompt_fts_delete AFTER DELETE ON studio_prompt BEGIN
         DELETE FROM studio_prompt_fts WHERE rowid = old.id;
       END""",
]
SQLITE_BACK = ["DROP TRIGGER IF EXISTS studio_prompt_fts_insert", "DROP TRIGGER IF EXISTS studio_prompt_fts_update",
               "DROP TRIGGER IF EXISTS studio_prompt_fts_delete", "DROP TABLE IF EXISTS studio_prompt_fts"]


def forwards(apps, schema_editor):
    statements = {"postgresql": POSTGRES, "sqlite": SQLITE}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    statements = {"postgresql": POSTGRES_BACK, "sqlite": SQLITE_BACK}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("studio", "0011_libb_share_links")]

    operations = [TrigramExtension(), migrations.RunPython(forwards, backwards)]
