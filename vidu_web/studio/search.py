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

import unicodedata

from django.db import connection
from django.db.models import Func, Q, TextField, Value
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

    Where each word may be found is ``_word_sources``: the prompt today. Project names and
    comments (issue 10, items 1-2) join there, each as one more alternative per word, so that
    "fox approved" can find a fox whose comment says "approved"."""
    conditions = [_word_sources(word) for word in words(query)]
    if connection.vendor == "sqlite":
        narrowed = _fts_prefilter(words(query))
        if narrowed is not None:
            conditions.append(narrowed)
    return queryset.filter(*conditions)


def _word_sources(word: str) -> Q:
    """Where ``word`` may appear for a task to match: OR one Q per source here (project name,
    comments) when they exist."""
    return _contains("prompt__text", word)


def _contains(field: str, word: str):
    """``field`` holds ``word``, both folded. On PostgreSQL a LIKE the trigram index answers
    (its pattern is a constant once planned: vidu_fold is immutable, the escaping too); on
    SQLite INSTR, narrowed beforehand by the FTS5 table (``_fts_prefilter``)."""
    needle = Folded(Value(word, output_field=TextField()))
    if connection.vendor == "postgresql":
        return Q(Contains(Folded(field), needle))
    return Q(GreaterThan(StrIndex(Folded(field), needle), 0))


# Three characters: the shortest word a trigram index holds.
TRIGRAM = 3


def _fts_prefilter(query_words):
    """On SQLite, the prompts whose folded text contains every word of three letters or more,
    from the FTS5 trigram table (None when no word is that long). When project names and
    comments join ``_word_sources``, their text goes into this table too (one row per task's
    searchable text), or this narrowing would drop tasks matched only through them."""
    long_words = [fold(word) for word in query_words if len(fold(word)) >= TRIGRAM]
    if not long_words:
        return None
    expression = " AND ".join('"' + word.replace('"', '""') + '"' for word in long_words)
    return Q(prompt_id__in=RawSQL("SELECT rowid FROM studio_prompt_fts WHERE studio_prompt_fts MATCH %s", [expression]))
