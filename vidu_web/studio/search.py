"""Gallery search: every word of the query must appear in the prompt, in any order, ignoring case
and accents ("FOX snow" finds "A red fox trots through the snow", "cafe" finds "café").

The folding happens in the database on both sides of the match, so the prompt and the words are
folded by the same function: PostgreSQL's ``unaccent(lower())`` (the extension is made by
migration 0004), and on SQLite a Python function registered on each connection (``register``).
"""

from __future__ import annotations

import unicodedata

from django.db.models import Func, TextField, Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan

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

    template = "UNACCENT(LOWER(%(expressions)s))"
    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="VIDU_FOLD(%(expressions)s)", **extra_context)


def words(query: str) -> list[str]:
    """The distinct words of a search, at most MAX_WORDS (each one is a condition)."""
    return list(dict.fromkeys(query.split()))[:MAX_WORDS]


def matching(queryset, field: str, query: str):
    """``queryset`` narrowed to rows whose ``field`` holds every word of ``query``, case and
    accents aside. STRPOS/INSTR rather than LIKE: a word with % or _ in it is matched as typed."""
    haystack = Folded(field)
    conditions = [GreaterThan(StrIndex(haystack, Folded(Value(word, output_field=TextField()))), 0)
                  for word in words(query)]
    return queryset.filter(*conditions)
