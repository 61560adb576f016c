"""Gallery search: every word of the query must appear in the prompt, the project's name or a
comment, in any order, ignoring case and accents ("FOX snow" finds "A red fox trots through the
snow", "cafe" finds "café").

The folding happens in the database on both sides of the match, so the prompt and the words are
folded by the same function: PostgreSQL's ``vidu_fold`` (``unaccent(lower())`` declared
immutable, made by migration 0012 so that an index can hold it), and on SQLite a Python
function registered on each connection (``register``).

Indexes keep a search fast however large the library (migrations 0012 for prompts, 0014 for
project names and comments):
- PostgreSQL: pg_trgm GIN indexes on ``vidu_fold(prompt.text)``, ``vidu_fold(project.name)``
  and ``vidu_fold(comment.body)``; each word is a ``LIKE '%word%'`` on those expressions, which
  the indexes answer (words of three letters or more).
- SQLite: FTS5 tables with the trigram tokenizer over the same folded texts, kept by triggers;
  their MATCH narrows the rows, and the exact test below still decides (so short words, which a
  trigram index can't hold, match as before).

Each database's planner needs help to read them (``_matching_postgres``, ``_matching_sqlite``):
one short query first, so that a rare word starts from the index and a common one walks the
gallery's own order. Only text the searching user may read ever matches (``matching``).
"""

from __future__ import annotations

import json
import unicodedata

from django.db import connection
from django.db.models import Exists, F, Func, Lookup, OuterRef, Q, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.lookups import Contains

# Letters NFKD leaves alone but unaccent folds; kept close to PostgreSQL's rules so that a search
# finds the same videos on SQLite (make run) as on PostgreSQL.
_EXTRA = str.maketrans({"æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "ß": "ss", "đ": "d",
                        "Đ": "D", "ł": "l", "Ł": "L", "ı": "i", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D"})
MAX_WORDS = 8


def fold(text):
    """SQLite's stand-in for PostgreSQL's unaccent(lower()): drop combining marks, fold a few
    letters, lower-case (SQLite's own lower() knows only ASCII)."""
    if text is None:
        return None
    text = str(text)
    if text.isascii():  # most prompts: nothing to decompose or fold, and ten times faster
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.translate(_EXTRA))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def register(sender, connection, **kwargs):
    """``connection_created`` receiver: give SQLite the folding function (see Folded)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("vidu_fold", 1, fold, deterministic=True)


class Folded(Func):
    """``expression`` lower-cased and without accents, in the database."""

    template = "VIDU_FOLD(%(expressions)s)"
    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="VIDU_FOLD(%(expressions)s)", **extra_context)


def words(query: str) -> list[str]:
    """The distinct words of a search, at most MAX_WORDS (each one is a condition)."""
    return list(dict.fromkeys(query.split()))[:MAX_WORDS]


def matching(queryset, query: str, user):
    """``queryset`` (of tasks ``user`` may see) narrowed to those whose searchable text holds
    every word of ``query``, case and accents aside; a word is matched as typed (% and _ are no
    wildcards).

    Where each word may be found is ``_word_sources``: the prompt, the project's name and the
    comments, each one more alternative per word, so that "fox approved" finds a fox whose
    comment says "approved". Only text ``user`` may read counts: a project's name only if
    the project is visible to them (a video of someone else's private project is theirs to
    see, its project's name is not), a comment only on a video they see (``queryset``)."""
    found = words(query)
    if connection.vendor == "sqlite":
        return _matching_sqlite(queryset, found, user)
    return _matching_postgres(queryset, found, user)


def _visible_project(user, prefix="project__") -> Q:
    """The project (through ``prefix``) is one ``user`` may see: the team's, or their own private one."""
    return Q(**{prefix + "is_private": False}) | Q(**{prefix + "creator": user})


# At most this many project and comment hits (all words together) are put in the gallery's
# query as lists of ids; beyond, each word's lookups stay subqueries in it.
FEW_HITS = 500


def _matching_postgres(queryset, found, user):
    """PostgreSQL's planner can't estimate an OR with a subquery in it (it guesses half the rows
    match), so a rare word would walk the whole gallery instead of reading the prompt index.
    One short query (``hits_sql``, through the project and comment trigram indexes) says which
    projects and commented tasks hold each word; the gallery's query then names them as lists
    of ids, or leaves those alternatives out when there are none, the common case."""
    long_words = [word for word in found if len(fold(word)) >= TRIGRAM]
    hits = {}
    if long_words:
        sql, params = hits_sql(long_words, user, FEW_HITS + 1)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            hits = _hits(cursor.fetchall(), long_words)
    return queryset.filter(*[_word_sources(word, user, hits.get(word)) for word in found])


def _hits(rows, long_words):
    """``hits_sql``'s rows as {word: (project ids, commented task ids)}; none (each word's
    lookups then stay subqueries) when there were too many to list."""
    if len(rows) > FEW_HITS:
        return {}
    hits = {word: ([], []) for word in long_words}
    for index, kind, pk in rows:
        hits[long_words[index]][kind].append(pk)
    return hits


def hits_sql(long_words, user, limit):
    """SQL (and parameters) of rows (word's index, 0 for a project / 1 for a commented task, id):
    the projects ``user`` may see named with each word, the tasks with a comment holding it."""
    from .library import Comment, Project

    parts, params = [], []
    for index, word in enumerate(long_words):
        in_name, name_params = _holds("name", word, "studio_project_fts")
        in_body, body_params = _holds("body", word, "studio_comment_fts")
        parts.append(f"SELECT {index}, 0, id FROM {Project._meta.db_table} WHERE {in_name} "
                     "AND (NOT is_private OR creator_id = %s)")
        parts.append(f"SELECT {index}, 1, task_id FROM {Comment._meta.db_table} WHERE {in_body}")
        params += [*name_params, user.pk, *body_params]
    return " UNION ALL ".join(parts) + " LIMIT %s", [*params, limit]


def _word_sources(word: str, user, hits=None) -> Q:
    """Where ``word`` may appear for a task to match: its prompt, its project's name (a project
    ``user`` may see) or one of its comments.

    A word the trigram indexes hold (three letters or more) is looked up in the project and
    comment tables' own indexes, once per search: ``project IN (projects named so)`` and ``id IN
    (tasks commented so)`` (PostgreSQL's hashed subplans, SQLite's materialised lists), not a
    test repeated on every row. A shorter one is tested on each row (a join for the project, an
    EXISTS for the comments, so that a task with many comments is still one row)."""
    from .library import Comment

    if hits is not None:  # the ids of the projects and commented tasks holding the word (hits_sql)
        projects, tasks = hits
        where = _contains("prompt__text", word)
        if projects:
            where |= Q(project_id__in=projects)
        if tasks:
            where |= Q(pk__in=tasks)
        return where
    if len(fold(word)) >= TRIGRAM:
        return (_contains("prompt__text", word) | Q(project_id__in=_projects_holding([word], user))
                | Q(pk__in=_commented_with([word])))
    in_comment = Comment.objects.filter(Q(task=OuterRef("pk")) & _contains("body", word))
    in_project = _contains("project__name", word) & _visible_project(user)
    return _contains("prompt__text", word) | in_project | Q(Exists(in_comment))


# The two lookups below are written in SQL: as querysets they cost more to build and compile
# (about 1 ms a search word) than the database takes to answer them. Each one reads its
# table's trigram index: PostgreSQL's GIN on the folded text, SQLite's FTS5 table.


def _holds(column: str, word: str, fts_table: str):
    """SQL (and its parameters) saying that ``column`` holds ``word``, both folded, for a word
    of three letters or more; ``fts_table`` is the table's FTS5 table on SQLite."""
    if connection.vendor == "postgresql":
        # % and _ are no wildcards here; vidu_fold leaves the backslashes that escape them.
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"VIDU_FOLD({column}) LIKE '%%' || VIDU_FOLD(%s) || '%%'", [escaped]
    return (f"id IN (SELECT rowid FROM {fts_table} WHERE {fts_table} MATCH %s) "
            f"AND INSTR(VIDU_FOLD({column}), VIDU_FOLD(%s)) > 0", [_phrase(word), word])


def _projects_holding(found, user) -> RawSQL:
    """Ids of the projects ``user`` may see whose name holds one of ``found``."""
    from .library import Project

    conditions, params = _any_of("name", found, "studio_project_fts")
    return RawSQL(f"SELECT id FROM {Project._meta.db_table} WHERE ({conditions}) "
                  "AND (NOT is_private OR creator_id = %s)", [*params, user.pk])


def _commented_with(found) -> RawSQL:
    """Ids of the tasks with a comment holding one of ``found``."""
    from .library import Comment

    conditions, params = _any_of("body", found, "studio_comment_fts")
    return RawSQL(f"SELECT task_id FROM {Comment._meta.db_table} WHERE {conditions}", params)


def _any_of(column, found, fts_table):
    parts = [_holds(column, word, fts_table) for word in found]
    return " OR ".join(f"({sql})" for sql, _ in parts), [param for _, params in parts for param in params]


def _contains(field: str, word: str):
    """``field`` holds ``word``, both folded. On PostgreSQL a LIKE the trigram index answers
    (its pattern is a constant once planned: vidu_fold is immutable, the escaping too); on
    SQLite INSTR (see ``_matching_sqlite`` for its index)."""
    if connection.vendor == "postgresql":
        return Q(Contains(Folded(field), Folded(Value(word, output_field=TextField()))))
    return Q(_Holds(F(field), word))


class _Holds(Lookup):
    """SQLite: ``INSTR(VIDU_FOLD(lhs), VIDU_FOLD(word)) > 0``, the word a parameter, as one
    lookup: built of StrIndex, Folded, Value and GreaterThan, the same SQL cost 0.25 M
    instructions more a two-word search (callgrind: 37.7 -> 37.5 M; the trivial page is 13.1 M)."""

    lookup_name = "vidu_holds"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"INSTR(VIDU_FOLD({lhs}), VIDU_FOLD(%s)) > 0", [*params, self.rhs]


def _phrase(word: str) -> str:
    """``word`` folded, as one FTS5 phrase (quotes doubled: no operator can slip in)."""
    return '"' + fold(word).replace('"', '""') + '"'


# Three characters: the shortest word a trigram index holds.
TRIGRAM = 3
# Up to this many prompts found by the FTS table, a search starts from them and sorts them (a
# rare search; SQLite computes each sorted row's tile columns, about 10 us a row); beyond it
# matches are dense, and walking the gallery's own order with the exact test fills a page
# sooner (about 25 x library / matches rows read, a few us each).
FEW = 300


def _matching_sqlite(queryset, found, user):
    """SQLite's planner can't weigh an FTS5 match against the gallery's ordered index, so we
    ask the FTS tables first (one short query) and choose: up to FEW prompts hold every word,
    the search starts from their tasks and those found through project names and comments
    (``_candidates``: looked up by id, then sorted); beyond, matches are dense and the gallery's
    own order is walked, each row tested exactly (``_word_sources``). The same query names the
    projects and commented tasks holding each word (``hits_sql``), so that the walk tests each
    row against lists of ids, or against the prompt alone when there are none."""
    long_words = [word for word in found if len(fold(word)) >= TRIGRAM]
    if not long_words:
        return queryset.filter(*[_word_sources(word, user) for word in found])
    hits, hit_params = hits_sql(long_words, user, FEW_HITS + 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 0, 2, rowid FROM (SELECT rowid FROM studio_prompt_fts WHERE studio_prompt_fts MATCH %s "
            f"LIMIT %s) UNION ALL SELECT * FROM ({hits})",
            [" AND ".join(_phrase(word) for word in long_words), FEW + 1, *hit_params])
        rows = cursor.fetchall()
    prompt_ids = [pk for _, kind, pk in rows if kind == 2]
    hits = _hits([row for row in rows if row[1] != 2], long_words)
    sources = [_word_sources(word, user, hits.get(word)) for word in found]
    if len(prompt_ids) <= FEW:
        return queryset.filter(Q(pk__in=_candidates(prompt_ids, long_words, user)), *sources)
    return queryset.filter(*sources)


def _candidates(prompt_ids, long_words, user) -> RawSQL:
    """Ids of the tasks that may hold every one of ``long_words``: those of ``prompt_ids``, those
    in a project (that ``user`` may see) named with one of them, those with a comment holding
    one. A list SQLite reads by id, so that the search starts from it."""
    from .models import GenerationTask

    tasks = GenerationTask._meta.db_table
    projects, commented = _projects_holding(long_words, user), _commented_with(long_words)
    return RawSQL(
        f"SELECT id FROM {tasks} WHERE prompt_id IN (SELECT value FROM json_each(%s)) "
        # CROSS JOIN keeps this order (projects, then their tasks by the index of filed tasks,
        # migration 0014), where SQLite's statistics could have it read every task.
        f"UNION ALL SELECT t.id FROM ({projects.sql}) p CROSS JOIN {tasks} t ON t.project_id = p.id "
        f"UNION ALL {commented.sql}",
        [json.dumps(prompt_ids), *projects.params, *commented.params])  # json: one parameter, never empty
