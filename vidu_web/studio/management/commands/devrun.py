"""`make run`: the sandbox (when there is no VIDU_API_KEY), a django-q2 cluster and the web server.

Ctrl-C (or SIGTERM) stops all three and waits for them, so no process is left behind. If any
of them dies, the others are stopped too, and the command exits non-zero.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.core.management import BaseCommand, CommandError, call_command


class Command(BaseCommand):
    help = "Run the app locally: sandbox (without VIDU_API_KEY), qcluster and the web server."

    def handle(self, *args, **options):
        port = os.environ.get("PORT", "8000")
        sandbox_port = os.environ.get("SANDBOX_PORT", "8765")
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        use_sandbox = settings.SANDBOX_MODE and not os.environ.get("VIDU_API_KEY")

        call_command("ensure_demo")
        self.children: list[subprocess.Popen] = []
        # Also for SIGINT: a shell starts background jobs with SIGINT ignored, and Python keeps that.
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            if use_sandbox:
                self._start("sandbox", [*manage, "vidu_sandbox", "--port", sandbox_port])
                self._wait_for(f"http://127.0.0.1:{sandbox_port}/_sandbox/health")
            self._start("cluster", [*manage, "qcluster"])
            self._start("web", [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"])
            self.stdout.write(self.style.SUCCESS(f"\nvidu_web is running at http://127.0.0.1:{port}/"))
            if settings.SANDBOX_MODE and settings.DEBUG:
                self.stdout.write("Sign in as demo / demo.  Admin: /admin/.  Ctrl-C stops everything.\n")
            self._watch()
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            self._stop_all()

    def _on_signal(self, signum, frame):
        raise KeyboardInterrupt

    def _start(self, name, argv):
        # Each child in its own session: Ctrl-C reaches us once, and we stop them in order.
        child = subprocess.Popen(argv, start_new_session=True)
        child.name = name
        self.children.append(child)

    def _wait_for(self, url, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=1):
                    return
            except OSError:
                if any(c.poll() is not None for c in self.children):
                    break
                time.sleep(0.2)
        raise CommandError(f"the sandbox did not start at {url}")

    def _watch(self):
        while True:
            for child in self.children:
                if child.poll() is not None:
                    raise CommandError(f"{child.name} exited with code {child.returncode}; stopping the rest")
            time.sleep(0.5)

    def _stop_all(self):
        for child in reversed(self.children):
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        # The pipeline survives a SIGKILL by design, so a slow-to-stop cluster is not waited for long.
        deadline = time.monotonic() + 8
        for child in self.children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
