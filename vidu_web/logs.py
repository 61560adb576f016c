"""Log lines for operators: each names the process that wrote it after its host and carries the
id of the request it belongs to; with LOG_FORMAT=json, one JSON object a line.

``ContextFilter`` (on every handler, settings.LOGGING) adds ``worker``, ``host`` and
``request_id`` to each record; ``JsonFormatter`` writes them with the time, level, logger and
message. Secrets stay out as in plain lines: the handlers' ``RedactFilter`` rewrites message and
traceback first, and the formatter redacts what it writes once more (vidu_web/redact.py), so it
can't be configured without it.
"""

import json
import logging
import os
import socket
import sys
from datetime import UTC, datetime

from . import request_id
from .redact import redact

HOST = socket.gethostname()


def worker_name(argv=None) -> str:
    """``vidu_web@<host>`` for a cluster (its name in django-q2's results too, studio/cluster.py),
    ``web@<host>`` for the web server, ``<command>@<host>`` for other manage.py commands."""
    argv = sys.argv if argv is None else argv
    command = argv[1] if len(argv) > 1 and os.path.basename(argv[0]).startswith("manage") else ""
    if command == "qcluster":
        return f"{os.environ.get('Q_CLUSTER_NAME') or 'vidu_web'}@{HOST}"
    if not command or command in ("runserver", "devrun"):
        return f"web@{HOST}"
    return f"{command}@{HOST}"


class ContextFilter(logging.Filter):
    def __init__(self):
        super().__init__()
        self.worker = worker_name()

    def filter(self, record):
        record.worker, record.host = self.worker, HOST
        record.request_id = request_id.current.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "worker": getattr(record, "worker", ""),
            "host": getattr(record, "host", HOST),
            "pid": record.process,
        }
        if getattr(record, "request_id", ""):
            entry["request_id"] = record.request_id
        if isinstance(getattr(record, "status_code", None), int):
            entry["status"] = record.status_code
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = redact(record.exc_text)
        return json.dumps(entry, ensure_ascii=False, default=str)
