"""`make run`: the sandbox (when there is no VIDU_API_KEY), a django-q2 cluster and the web server.

Ctrl-C, SIGTERM or SIGHUP stops all three and waits for them, so no process is left behind,
however many signals arrive: a second Ctrl-C while stopping, or make passing its own SIGTERM on
to us after the one its process group got, changes nothing and prints no traceback. A cluster
still busy after 8 s is killed (the pipeline survives that by design). If any of the three
dies, the others are stopped too and the command exits non-zero.

Error pages: `make run` runs with DEBUG on (the demo user exists only in sandbox mode with
DEBUG on), and vidu_web.error_pages makes DEBUG answer with the app's own 404 and 500 pages,
not Django's technical ones, which list every URL and show settings to anyone who can reach
the port. Tracebacks go to this console.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.core.management import BaseCommand, CommandError, call_command

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_SECONDS = 8


class Command(BaseCommand):
    help = "Run the app locally: sandbox (without VIDU_API_KEY), qcluster and the web server."

    def handle(self, *args, **options):
        self.children: list[subprocess.Popen] = []
        self.signals = 0
        # A signal only counts; the loops below look at the count. Nothing is raised from a
        # signal handler, so a signal can't land half-way through starting or stopping a child.
        # Also for SIGINT: a shell starts background jobs with SIGINT ignored, and Python keeps that.
        for sig in SIGNALS:
            signal.signal(sig, self._on_signal)
        try:
            self._run()
        finally:
            self._stop_all()
            # Stopped: later signals change nothing. Ignored rather than counted, because Python
            # puts its own handlers back to the default while it exits, and a Ctrl-C landing
            # then (the second of two, say) would end the process by the signal, not with 0.
            for sig in SIGNALS:
                signal.signal(sig, signal.SIG_IGN)

    def _on_signal(self, signum, frame):
        self.signals += 1

    def _run(self):
        port = os.environ.get("PORT", "8000")
        sandbox_port = os.environ.get("SANDBOX_PORT", "8765")
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        use_sandbox = settings.SANDBOX_MODE and not os.environ.get("VIDU_API_KEY")

        call_command("ensure_demo")
        if use_sandbox and not self.signals:
            self._start("sandbox", [*manage, "vidu_sandbox", "--port", sandbox_port])
            self._wait_for(f"http://127.0.0.1:{sandbox_port}/_sandbox/health")
        for name, argv in (("cluster", [*manage, "qcluster"]),
                           ("web", [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"])):
            if not self.signals:
                self._start(name, argv)
        if self.signals:
            return
        self.stdout.write(self.style.SUCCESS(f"\nvidu_web is running at http://127.0.0.1:{port}/"))
        if settings.SANDBOX_MODE and settings.DEBUG:
            self.stdout.write("Sign in as demo / demo.  Admin: /admin/ (see README).  Ctrl-C stops everything.\n")
        self.stdout.flush()
        self._watch()

    def _start(self, name, argv):
        # Each child in its own session: Ctrl-C reaches us once, and we stop them in order.
        child = subprocess.Popen(argv, start_new_session=True)
        child.name = name
        self.children.append(child)

    def _wait_for(self, url, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.signals:
            try:
                with urllib.request.urlopen(url, timeout=1):
                    return
            except OSError:
                if any(c.poll() is not None for c in self.children):
                    break
                time.sleep(0.2)
        if not self.signals:
            raise CommandError(f"the sandbox did not start at {url}")

    def _watch(self):
        while not self.signals:
            for child in self.children:
                if child.poll() is not None:
                    raise CommandError(f"{child.name} exited with code {child.returncode}; stopping the rest")
            time.sleep(0.5)

    def _stop_all(self):
        if not self.children:
            return
        if self.signals:
            self.stdout.write("\nStopping… (the sandbox, the cluster and the web server)")
            self.stdout.flush()
        for child in reversed(self.children):
            if child.poll() is None:
                self._kill(child, signal.SIGTERM)
        # The pipeline survives a SIGKILL by design, so a slow-to-stop cluster is not waited for long.
        deadline = time.monotonic() + STOP_SECONDS
        for child in self.children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._kill(child, signal.SIGKILL)
                child.wait()
        # qcluster's workers are in its session: make sure none outlives it.
        for child in self.children:
            self._kill(child, signal.SIGKILL)

    def _kill(self, child, sig):
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:  # the whole group is gone already
            pass
