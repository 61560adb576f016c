"""Gallery search: every word of the query must appear in the prompt, in any order, ignoring case
and accents ("FOX snow" finds "A red fox trots through the snow", "cafe" finds "café").

The folding happens in the database on both sides of the match, so the prompt and the words are
folded by the same function: PostgreSQL's ``vidu_fold`` (``unaccent(lower())`` declared
immutable, made by migration 0009 so that an index can hold it), and on SQLite a Python
function registered on each connection (``register``).

An index keeps a search fast however large the library (migration 0009):
- PostgreSQL: a pg_trgm GIN index on ``vidu_fold(prompt.text)``; each word is a ``LIKE
  '%word%'`` on that expression, which the index answers (words of three letters or more).
- SQLite: an FTS5 table with the trigram tokenizer over the folded prompts, kept by triggers;
  its MATCH narrows the rows, and the exact test below still decides (so short words, which a
  trigram index can't hold, match as before).
"""

from __future__ import annotations

import json
import unicodedata

from django.db import connection
from django.db.models import Exists, Func, OuterRef, Q, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import StrIndex
from django.db.models.lookups import Contains, GreaterThan

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
    decomposed = unicodedata.normalize("NFKD", str(text).translate(_EXTRA))
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


def matching(queryset, query: str):
    """``queryset`` (of tasks) narrowed to those whose searchable text holds every word of
    ``query``, case and accents aside; a word is matched as typed (% and _ are no wildcards).

    Where each word may be found is ``_word_sources``: the prompt, the project's name and the
    comments, each one more alternative per word, so that "fox approved" finds a fox whose
    comment says "approved"."""
    found = words(query)
    if connection.vendor == "sqlite":
        return _matching_sqlite(queryset, found)
    return queryset.filter(*[_word_sources(word) for word in found])


def _word_sources(word: str) -> Q:
    """Where ``word`` may appear for a task to match: its prompt, its project's name or one of
    its comments (an EXISTS, so that a task with many comments is still one row)."""
    from .library import Comment

    in_comment = Comment.objects.filter(Q(task=OuterRef("pk")) & _contains("body", word))
    return _contains("prompt__text", word) | _contains("project__name", word) | Q(Exists(in_comment))


def _contains(field: str, word: str):
    """``field`` holds ``word``, both folded. On PostgreSQL a LIKE the trigram index answers
    (its pattern is a constant once planned: vidu_fold is immutable, the escaping too); on
    SQLite INSTR (see ``_matching_sqlite`` for its index)."""
    needle = Folded(Value(word, output_field=TextField()))
    if connection.vendor == "postgresql":
        return Q(Contains(Folded(field), needle))
    return Q(GreaterThan(StrIndex(Folded(field), needle), 0))


# Three characters: the shortest word a trigram index holds.
TRIGRAM = 3
# Up to this many prompts found by the FTS table, a search starts from them and sorts them (a
# rare search; SQLite computes each sorted row's tile columns, about 10 us a row); beyond it
# matches are dense, and walking the gallery's own order with the exact test fills a page
# sooner (about 25 x library / matches rows read, a few us each).
FEW = 300


def _matching_sqlite(queryset, found):
    """SQLite's planner can't weigh an FTS5 match against the gallery's ordered index, so we
    ask the FTS table first (one short query) and choose. When project names and comments join
    ``_word_sources``, their text goes into the FTS table too (one row per task's searchable
    text), or this narrowing would drop tasks matched only through them.

    The FTS table holds prompts only; a task whose words come partly from its project's name or
    its comments is found as a candidate through those (small tables, scanned: a team has far
    fewer projects and comments than videos), and every word is then tested exactly."""
    from .library import Comment, Project

    long_words = [word for word in found if len(fold(word)) >= TRIGRAM]
    if long_words:
        ids = _fts_ids(long_words, FEW + 1)
        if len(ids) <= FEW:
            ids_sql = RawSQL("SELECT value FROM json_each(%s)", [json.dumps(ids)])  # one parameter, never empty
            any_word = Q()
            for word in long_words:
                any_word |= _contains("name", word)
            in_projects = Project.objects.filter(any_word).values("pk")
            any_word = Q()
            for word in long_words:
                any_word |= _contains("body", word)
            commented = Comment.objects.filter(any_word).values("task_id")
            candidates = Q(prompt_id__in=ids_sql) | Q(project_id__in=in_projects) | Q(pk__in=commented)
            return queryset.filter(candidates, *[_word_sources(word) for word in found])
    return queryset.filter(*[_word_sources(word) for word in found])


def _fts_ids(long_words, limit):
    """Ids of prompts holding every one of ``long_words`` (folded), at most ``limit``."""
    expression = " AND ".join('"' + fold(word).replace('"', '""') + '"' for word in long_words)
    with connection.cursor() as cursor:
        cursor.execute("SELECT rowid FROM studio_prompt_fts WHERE studio_prompt_fts MATCH %s LIMIT %s",
                       [expression, limit])
        return [row[0] for row in cursor.fetchall()]
