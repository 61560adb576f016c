"""Gallery search reads an index on both databases (migration 0009): a pg_trgm GIN index on the
folded prompt on PostgreSQL, an FTS5 trigram table kept by triggers on SQLite. The semantics
(every word, any order, case and accents aside) are test_views_gallery's, run on either."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.db.models import TextField, Value
from django.db.models.lookups import Contains

from tests.studio_helpers import make_task
from vidu_web.studio import queries, search
from vidu_web.studio.library import Comment, Project
from vidu_web.studio.models import Prompt
from vidu_web.studio.search import Folded

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.postgres
def test_postgres_answers_a_word_from_the_trigram_index(alice, team_a):
    if connection.vendor != "postgresql":
        pytest.fail("make test runs on PostgreSQL (TEST_DATABASE_URL)")
    make_task(team_a, alice, prompt="Un café crème à Paris")
    rows = Prompt.objects.filter(Contains(Folded("text"), Folded(Value("CAFÉ", output_field=TextField()))))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: make the planner show what it can use
        sql, params = rows.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "prompt_folded_trgm" in plan, plan
    assert [p.text for p in rows] == ["Un café crème à Paris"]


def test_the_gallery_search_uses_the_index_on_postgres(alice, team_a):
    """The gallery's own query folds the words into constants the index can use."""
    if connection.vendor != "postgresql":
        pytest.fail("make test runs on PostgreSQL (TEST_DATABASE_URL)")
    fox = make_task(team_a, alice, prompt="A red fox")
    rows = queries.gallery(alice, team_a, queries.GalleryFilters(q="FOX red"))
    sql, params = rows.query.sql_with_params()
    # Two words, each folded against the prompt, word and text; no project name or comment holds
    # either, so they are no alternative (an OR with a subquery would hide the index from the planner).
    assert sql.count("VIDU_FOLD") == 4 and "LIKE" in sql and "studio_comment" not in sql
    assert [row["uuid"] for row in rows] == [fox.uuid]


def test_project_names_and_comments_are_searched_through_their_trigram_indexes_on_postgres(alice, bob, team_a):
    """Migration 0014: each word is looked up once in the project and comment tables' indexes."""
    if connection.vendor != "postgresql":
        pytest.fail("make test runs on PostgreSQL (TEST_DATABASE_URL)")
    heist = Project.objects.create(team=team_a, creator=alice, name="Opération Heist")
    harbour = make_task(team_a, alice, prompt="A quiet harbour", project=heist)
    Comment.objects.create(task=harbour, author=bob, body="Lighthouse looks GREAT")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = search.hits_sql(["LIGHTHOUSE", "operation"], bob, 501)
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "project_folded_trgm" in plan and "comment_folded_trgm" in plan, plan
    rows = queries.gallery(bob, team_a, queries.GalleryFilters(q="LIGHTHOUSE operation"))
    assert [row["uuid"] for row in rows] == [harbour.uuid]


SQLITE_SCRIPT = r"""
import json
from django.db import connection
from django.contrib.auth import get_user_model
from vidu_web.studio import queries, search
from vidu_web.studio.models import GenerationTask, Prompt, State
from vidu_web.teams.models import Membership, Team

team = Team.objects.create(name="T")
user = get_user_model().objects.create_user("u")
Membership.objects.create(team=team, user=user)
def task(text):
    prompt = Prompt.objects.create(team=team, text=text)
    return GenerationTask.objects.create(team=team, creator=user, prompt=prompt, mode="text2video", model="viduq1",
                                         duration=5, resolution="720p", provider="sandbox", state=State.SUCCEEDED)
fox, cafe, pct = task("A red fox trots through the snow"), task("Un café crème"), task("100% of a_b")
def found(q):
    rows = queries.gallery(user, team, queries.GalleryFilters(q=q))
    return sorted(r["text"] for r in rows)
def fts():
    with connection.cursor() as c:
        c.execute("SELECT rowid, folded FROM studio_prompt_fts ORDER BY rowid")
        return c.fetchall()
out = {"indexed": fts()}
QUERIES = ["FOX snow", "snow fox", "fox owl", "CAFÉ crème", "cafe", "10", "a_b", "%", "tr"]
out.update({q: found(q) for q in QUERIES})
from vidu_web.studio import search
search.FEW = -1  # as if every word matched thousands (none too): the walk in gallery order, same answers
out["dense"] = {q: found(q) for q in QUERIES}
rows = queries.gallery(user, team, queries.GalleryFilters(q="fox snow"))
sql, params = rows.query.sql_with_params()
with connection.cursor() as c:
    c.execute("EXPLAIN QUERY PLAN " + sql, params)
    out["dense plan"] = " | ".join(str(r[-1]) for r in c.fetchall())
search.FEW = 300
from django.utils import timezone
now = timezone.now()
prompts = Prompt.objects.bulk_create(Prompt(team=team, text=f"filler {n}") for n in range(3000))
GenerationTask.objects.bulk_create(
    GenerationTask(team=team, creator=user, prompt=p, mode="text2video", model="viduq1", duration=5, resolution="720p",
                   provider="sandbox", state=State.SUCCEEDED, finished_at=now - timezone.timedelta(minutes=n))
    for n, p in enumerate(prompts))
with connection.cursor() as c:
    c.execute("ANALYZE")
rows = queries.gallery(user, team, queries.GalleryFilters())
deep = queries.after(rows, queries.cursor_of(rows[1000]))
sql, params = deep.query.sql_with_params()
with connection.cursor() as c:
    c.execute("EXPLAIN QUERY PLAN " + sql, params)
    out["cursor plan"] = " | ".join(str(r[-1]) for r in c.fetchall())
rows = queries.gallery(user, team, queries.GalleryFilters(q="fox snow"))
sql, params = rows.query.sql_with_params()
with connection.cursor() as c:
    c.execute("EXPLAIN QUERY PLAN " + sql, params)
    out["plan"] = " | ".join(str(r[-1]) for r in c.fetchall())
Prompt.objects.filter(pk=fox.prompt_id).update(text="A grey wolf")
out["after update"] = found("wolf"), found("fox")
GenerationTask.objects.filter(pk=cafe.pk).delete(); Prompt.objects.filter(pk=cafe.prompt_id).delete()
out["after delete"] = fts()
# Project names and comments (migration 0014): indexed too, and only what the searcher may read.
from vidu_web.studio.library import Comment, Project
other = get_user_model().objects.create_user("v")
Membership.objects.create(team=team, user=other)
heist = Project.objects.create(team=team, creator=user, name="Opération Heist", is_private=True)
harbour, vault = task("A quiet harbour"), task("A locked vault")
GenerationTask.objects.filter(pk=harbour.pk).update(project=heist)
GenerationTask.objects.filter(pk=vault.pk).update(is_private=True)
Comment.objects.create(task=harbour, author=other, body="Lighthouse looks GREAT")
Comment.objects.create(task=vault, author=user, body="zeppelin over it")
def found_by(who, q):
    return sorted(r["text"] for r in queries.gallery(who, team, queries.GalleryFilters(q=q)))
LIBRARY = ["heist", "harbour HEIST", "operation", "lighthouse", "harbour lighthouse", "zeppelin", "he"]
out["library"] = {f"{who.username} {q}": found_by(who, q) for who in (user, other) for q in LIBRARY}
search.FEW = -1
out["library dense"] = {f"{who.username} {q}": found_by(who, q) for who in (user, other) for q in LIBRARY}
search.FEW = 300
rows = queries.gallery(other, team, queries.GalleryFilters(q="lighthouse heist"))
sql, params = rows.query.sql_with_params()
with connection.cursor() as c:
    c.execute("EXPLAIN QUERY PLAN " + sql, params)
    out["library plan"] = " | ".join(str(r[-1]) for r in c.fetchall())
with connection.cursor() as c:
    c.execute("SELECT folded FROM studio_project_fts")
    out["projects indexed"] = [r[0] for r in c.fetchall()]
    c.execute("SELECT folded FROM studio_comment_fts ORDER BY rowid")
    out["comments indexed"] = [r[0] for r in c.fetchall()]
print(json.dumps(out))
"""


def test_sqlite_keeps_an_fts5_trigram_index_and_pages_through_its_indexes(tmp_path):
    """On its own SQLite database (make run's), through migrations and the ORM, in a process."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/search.sqlite3", "DJANGO_DEBUG": "1",
           "DJANGO_SETTINGS_MODULE": "vidu_web.settings"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=180)
    done = subprocess.run([*manage, "shell", "-c", SQLITE_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert [text for _, text in out["indexed"]] == ["a red fox trots through the snow", "un cafe creme", "100% of a_b"]
    assert out["FOX snow"] == out["snow fox"] == ["A red fox trots through the snow"]
    assert out["fox owl"] == []
    assert out["CAFÉ crème"] == out["cafe"] == ["Un café crème"]
    assert out["10"] == out["a_b"] == out["%"] == ["100% of a_b"]  # as typed, no wildcards; short words too
    assert out["tr"] == ["A red fox trots through the snow"]  # under three letters: no index, same answer
    # A rare search starts from the FTS tables' candidates, looked up by id (not a walk of the team).
    assert out["plan"].startswith("SEARCH studio_generationtask USING INTEGER PRIMARY KEY"), out["plan"]
    assert "json_each" in out["plan"], out["plan"]
    assert out["dense"] == {q: out[q] for q in out["dense"]}
    assert "USING INDEX task_gallery" in out["dense plan"], out["dense plan"]
    # A page far down walks the index from the cursor, not an OR of two scans sorted afterwards.
    assert "task_gallery" in out["cursor plan"] and "MULTI-INDEX OR" not in out["cursor plan"], out["cursor plan"]
    assert out["after update"] == [["A grey wolf"], []]
    assert [text for _, text in out["after delete"]][:3] == ["a grey wolf", "100% of a_b", "filler 0"]
    assert out["projects indexed"] == ["operation heist"]
    assert out["comments indexed"] == ["lighthouse looks great", "zeppelin over it"]
    harbour = ["A quiet harbour"]
    expected = {
        # u made the private project: its name finds the video for u, never for v (who sees the video).
        "u heist": harbour, "u harbour HEIST": harbour, "u operation": harbour, "v heist": [],
        "v harbour HEIST": [], "v operation": [],
        # A comment is seen with its video: by both on the harbour, by u alone on u's private vault.
        "u lighthouse": harbour, "v lighthouse": harbour, "u harbour lighthouse": harbour,
        "v harbour lighthouse": harbour, "u zeppelin": ["A locked vault"], "v zeppelin": [],
    }
    assert {key: out["library"][key] for key in expected} == expected
    assert out["library dense"] == out["library"]  # the walk in gallery order answers the same
    assert "harbour" not in str(out["library"]["v he"]) and "A quiet harbour" in out["library"]["u he"]
    # Project names and comments are found through their FTS tables, not a scan of each row.
    assert "studio_project_fts" in out["library plan"] and "studio_comment_fts" in out["library plan"], out["library plan"]
