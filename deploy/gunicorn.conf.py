"""gunicorn's configuration for `make serve` (gunicorn -c deploy/gunicorn.conf.py vidu_web.wsgi).

Worker class: gthread. Every open page polls /tasks/progress/ every 2 s and a video may stream
for minutes; with sync workers each of those holds a whole process (three slow downloads froze
three sync workers). A gthread worker serves many requests at once on its threads, parks idle
keep-alive connections off them, and keeps beating to the arbiter while a long download runs,
so a download costs one thread, not a process. Processes give CPU parallelism (the GIL),
threads cover waiting on the database and on slow clients.

Sizes: WEB_CONCURRENCY processes (default: cores + 1; the host also runs a cluster) times
WEB_THREADS threads (default 8). On 2 cores: 3 x 8 = 24 requests in flight. Media is best
kept off the threads altogether: S3 answers with a presigned redirect, and on the filesystem
nginx sends files itself when MEDIA_ACCEL_PREFIX is set (see README, "Deploy").

Binds 127.0.0.1:$PORT: nginx on the same host is the public face. Override with gunicorn's own
GUNICORN_CMD_ARGS="--bind 0.0.0.0:8000" if a load balancer talks to gunicorn directly.
"""

import os
import sys


def _number(name, default, lowest, highest):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or not lowest <= int(value) <= highest:
        # Before anything else starts: the operator sees the variable's name, not a traceback.
        sys.stderr.write(f"{name} must be a whole number between {lowest} and {highest}, not {value!r}\n")
        sys.exit(2)
    return int(value)


bind = [f"127.0.0.1:{_number('PORT', 8000, 1, 65535)}"]
worker_class = "gthread"
workers = _number("WEB_CONCURRENCY", (os.cpu_count() or 1) + 1, 1, 64)
threads = _number("WEB_THREADS", 8, 1, 128)
# Load Django (and its settings) once in the master: a bad setting stops start-up at once, with
# its name, instead of in every worker over and over; the workers share the loaded code.
preload_app = True
# A gthread worker beats between requests, so this only catches a truly stuck process; a long
# download is not "stuck".
timeout = 60
graceful_timeout = 30
# Behind nginx the proxy holds client connections; a short keep-alive frees sockets sooner.
keepalive = 5
# The heartbeat file on tmpfs: a slow disk must not make the arbiter kill healthy workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# No access log here: nginx writes it (with the callback secret masked, deploy/nginx.conf).
# Errors and Django's own log lines go to stderr, for journald.
accesslog = None
errorlog = "-"
proc_name = "vidu_web"
# gunicorn would otherwise turn X-Forwarded-Proto from 127.0.0.1 into https by itself; whether
# that header is trusted is Django's decision alone (DJANGO_BEHIND_PROXY, settings.py).
secure_scheme_headers = {}
