"""Run by tests/test_create_memory.py in a fresh process: POST bodies to /create/ through
Django's WSGI handler and print, as JSON, each answer and how far the peak RSS rose above the
RSS before the last body (the one measured). The body is streamed from a file, as a web server
would hand it over, so only what the app itself holds counts.

usage: create_memory_probe.py COOKIE CSRF_TOKEN CONTENT_TYPE BODY [BODY ...]
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vidu_web.settings")

import django  # noqa: E402

django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402


def status_kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def post(app, path, cookie, token, content_type):
    with open(path, "rb") as body:
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/create/", "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": body, "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": False,
            "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.version": (1, 0),
            "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(os.path.getsize(path)),
            "HTTP_COOKIE": cookie, "HTTP_X_CSRFTOKEN": token,
        }
        answer = []
        chunks = app(environ, lambda status, headers, exc_info=None: answer.append(status))
        b"".join(chunks)
        getattr(chunks, "close", lambda: None)()
    return answer[0]


def main():
    cookie, token, content_type, *bodies = sys.argv[1:]
    app = WSGIHandler()
    statuses = [post(app, path, cookie, token, content_type) for path in bodies[:-1]]  # warm-up
    before = status_kb("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # restart the peak (VmHWM) from now
    except OSError:
        pass
    statuses.append(post(app, bodies[-1], cookie, token, content_type))
    peak = status_kb("VmHWM")
    print(json.dumps({"statuses": statuses, "before_kb": before, "peak_kb": peak, "growth_mb": (peak - before) / 1024}))


if __name__ == "__main__":
    main()
