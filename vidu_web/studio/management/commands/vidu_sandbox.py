"""`manage.py vidu_sandbox`: run the local Vidu sandbox (vidu_web.sandbox) until Ctrl-C or SIGTERM."""

import os
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from vidu_web.sandbox import SandboxApp, SandboxServer

# option -> environment variable read when the option isn't given on the command line
ENV = {"port": "SANDBOX_PORT", "host": "SANDBOX_HOST", "step": "SANDBOX_STEP", "fault_rate": "SANDBOX_FAULT_RATE",
       "fault_kinds": "SANDBOX_FAULT_KINDS", "fault_seed": "SANDBOX_FAULT_SEED", "hang_seconds": "SANDBOX_HANG_SECONDS",
       "url_ttl": "SANDBOX_URL_TTL", "cover_ttl": "SANDBOX_COVER_TTL"}
SANDBOX_OPTIONS = ("step", "fault_rate", "fault_kinds", "fault_seed", "hang_seconds", "url_ttl", "cover_ttl")


class Command(BaseCommand):
    help = "Run the local Vidu sandbox (a fake Vidu API with real HTTP, see vidu_web/sandbox/server.py)."

    def add_arguments(self, parser):
        parser.add_argument("--host", help="address to listen on (default 127.0.0.1; env SANDBOX_HOST)")
        parser.add_argument("--port", type=int, help="port (default 8765; env SANDBOX_PORT)")
        parser.add_argument("--step", type=float, help="seconds per task stage (default 2.0; env SANDBOX_STEP)")
        parser.add_argument("--fault-rate", type=float, help="share of API requests that fail, 0..1 (env SANDBOX_FAULT_RATE)")
        parser.add_argument("--fault-kinds", help="comma-separated from 429,500,hang,badjson (env SANDBOX_FAULT_KINDS)")
        parser.add_argument("--fault-seed", type=int, help="seed of the fault draws (env SANDBOX_FAULT_SEED)")
        parser.add_argument("--hang-seconds", type=float, help="how long a 'hang' fault hangs (default 35)")
        parser.add_argument("--url-ttl", type=int, help="seconds a video URL stays valid (default 86400)")
        parser.add_argument("--cover-ttl", type=int, help="seconds a cover URL stays valid (default 3600)")
        parser.add_argument("--log-requests", action="store_true", help="log every request to stderr")

    def handle(self, *args, **options):
        values = {name: self._value(name, options) for name in ENV}
        host, port = values.pop("host") or "127.0.0.1", int(values.pop("port") or 8765)
        try:
            app = SandboxApp(**{k: v for k, v in values.items() if v is not None})
            server = SandboxServer(app, host, port, quiet=not options["log_requests"])
        except ValueError as exc:
            raise CommandError(f"bad sandbox option: {exc}") from None
        except OSError as exc:
            raise CommandError(f"can't listen on {host}:{port}: {exc}") from None
        self._serve(server, app)

    def _value(self, name, options):
        given = options.get(name)
        return given if given is not None else os.environ.get(ENV[name]) or None

    def _serve(self, server, app):
        """Serve from a thread and wait for a signal: shutdown() can't be called from serve_forever's thread."""
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        server.start()
        settings = ", ".join(f"{k}={v}" for k, v in app.config.to_json().items() if k in SANDBOX_OPTIONS)
        self.stdout.write(f"Vidu sandbox on {server.url} (/ent/v2 and /v2; {settings}). Ctrl-C stops it.")
        self.stdout.flush()
        while not stop.wait(0.5):
            pass
        server.stop()
        self.stdout.write("Vidu sandbox stopped.")
