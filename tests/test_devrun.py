"""`make run`'s command, `manage.py devrun`, as a real process on its own SQLite database.

One devrun serves the checks of what a person sees under `make run` (its own error pages, a
readable console with no secrets in it, no 500 from numbers SQLite can't hold); two more are
stopped the ways people and make stop them: Ctrl-C twice, and SIGTERM to make's process group.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "manage.py")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A migrated SQLite database and a media folder of its own, and the environment to use them."""
    root = tmp_path_factory.mktemp("devrun")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VIDU_", "DJANGO_", "DATABASE_URL", "REDIS_URL", "PYTEST_", "PIPELINE_"))}
    env.update(DATABASE_URL=f"sqlite:///{root}/db.sqlite3", MEDIA_ROOT=str(root / "media"), DJANGO_DEBUG="1",
               DJANGO_SETTINGS_MODULE="vidu_web.settings", PYTHONUNBUFFERED="1")
    for command in (["migrate", "--noinput"], ["createcachetable"]):
        subprocess.run([*MANAGE, *command], cwd=ROOT, env=env, check=True, capture_output=True, timeout=180)
    return root, env


@pytest.fixture
def own_home(home, tmp_path):
    """``home``'s migrated database copied for one test: the module's running devrun (``app``) and
    its cluster keep writing to theirs, and a second devrun must not wait on their locks."""
    import shutil

    root, env = home
    shutil.copy(root / "db.sqlite3", tmp_path / "db.sqlite3")
    return tmp_path, {**env, "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", "MEDIA_ROOT": str(tmp_path / "media")}


class Devrun:
    def __init__(self, home, name):
        root, env = home
        self.port, self.sandbox_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / f"{name}.log"
        env = {**env, "PORT": str(self.port), "SANDBOX_PORT": str(self.sandbox_port)}
        with open(self.log, "wb") as out:
            # Its own process group, as under make: signals go to the group, like a terminal's Ctrl-C.
            self.proc = subprocess.Popen([*MANAGE, "devrun"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, "devrun did not start:\n" + self.output()
            try:
                if requests.get(self.url + "/accounts/login/", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.3)
        time.sleep(1.5)  # let the cluster finish starting its workers
        self.started = self.descendants()

    def output(self):
        return self.log.read_text(errors="replace")

    def descendants(self):
        parents = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        found, todo = [], [self.proc.pid]
        while todo:
            kids = parents.get(todo.pop(), [])
            found += kids
            todo += kids
        return found

    def signal(self, sig):
        os.killpg(self.proc.pid, sig)

    def stop(self):
        if self.proc.poll() is None:
            self.signal(signal.SIGINT)
            self.proc.wait(timeout=30)


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def app(home):
    run = Devrun(home, "app")
    yield run
    run.stop()


def signed_in(app):
    session = requests.Session()
    session.get(app.url + "/accounts/login/", timeout=10)
    response = session.post(app.url + "/accounts/login/", timeout=10, data={
        "username": "demo", "password": "demo", "csrfmiddlewaretoken": session.cookies["csrftoken"]})
    assert response.url.endswith("/create/"), response.url
    return session


def test_it_prints_the_url_and_the_demo_login(app):
    assert f"vidu_web is running at {app.url}/" in app.output()
    assert "Sign in as demo / demo" in app.output()
    assert len(app.started) >= 3  # sandbox, cluster (and its workers), web server


def test_a_mistyped_url_gets_our_404_not_the_list_of_urls(app):
    response = requests.get(app.url + "/adminn/", timeout=10)
    assert response.status_code == 404
    assert "Nothing here" in response.text and "Using the URLconf" not in response.text


def test_an_outsiders_guess_gets_our_404(app):
    response = signed_in(app).get(f"{app.url}/videos/{uuid.uuid4()}/", timeout=10)
    assert response.status_code == 404 and "Nothing here" in response.text


@pytest.mark.parametrize("after", ["0001-01-01T00:00:00+14:00_1", "9999-12-31T23:59:59-14:00_1", "2026-01-01T00:00:00+00:00_" + "9" * 30])
@pytest.mark.parametrize("htmx", [False, True])
def test_gallery_cursors_past_sqlites_range_are_no_500(app, after, htmx):
    response = signed_in(app).get(app.url + "/gallery/", params={"after": after}, timeout=10,
                                  headers={"HX-Request": "true"} if htmx else {})
    assert response.status_code == 200


def test_a_30_digit_team_id_is_no_500(app):
    session = signed_in(app)
    response = session.post(app.url + "/teams/switch/", data={"team": "9" * 30}, timeout=10,
                            headers={"X-CSRFToken": session.cookies["csrftoken"]})
    assert response.status_code == 404


def test_the_console_has_no_line_per_progress_poll_and_no_callback_secret(app):
    session = signed_in(app)
    for _ in range(5):
        assert session.get(f"{app.url}/tasks/progress/?ids={uuid.uuid4()}", timeout=10).status_code == 200
    secret = "dont-log-me-" + uuid.uuid4().hex
    assert requests.post(f"{app.url}/hooks/vidu/{uuid.uuid4()}/{secret}/", json={}, timeout=10).status_code == 403
    marker = f"/gallery/?q=marker-{uuid.uuid4().hex}"
    session.get(app.url + marker, timeout=10)
    deadline = time.monotonic() + 10
    while marker not in app.output():
        assert time.monotonic() < deadline, app.output()
        time.sleep(0.2)
    output = app.output()
    assert "/tasks/progress/" not in output and "/static/" not in output
    assert "/hooks/vidu/" in output and secret not in output


def test_a_new_task_shows_its_state_changes_but_no_queue_chatter(app):
    session = signed_in(app)
    response = session.post(app.url + "/create/", timeout=10, data={
        "mode": "text2video", "prompt": "a quiet console", "model": "viduq1",
        "csrfmiddlewaretoken": session.cookies["csrftoken"]})
    assert response.status_code == 200 and response.url.endswith("/create/")
    deadline = time.monotonic() + 30
    while not re.search(r"task #\d+ is (queued|processing)", app.output()):
        assert time.monotonic() < deadline, app.output()
        time.sleep(0.3)
    output = app.output()
    assert "task #" in output and " is submitting" in output
    assert "Enqueued" not in output and "processing [" not in output and "Processed" not in output


def stops_cleanly(run, output):
    assert run.proc.returncode == 0, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    left = [pid for pid in run.started if alive(pid)]
    assert not left, f"left running: {left}\n{output}"
    for port in (run.port, run.sandbox_port):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"


def test_ctrl_c_twice_stops_everything_quietly(own_home):
    run = Devrun(own_home, "ctrl-c")
    try:
        run.signal(signal.SIGINT)  # a terminal's Ctrl-C reaches the whole foreground group
        time.sleep(1)
        run.signal(signal.SIGINT)  # "it seems slow": again, a second later
        run.proc.wait(timeout=30)
    finally:
        run.stop()
    output = run.output()
    stops_cleanly(run, output)
    assert re.search(r"Stopping", output)


def test_sigterm_twice_at_once_stops_everything_quietly(own_home):
    """`kill -TERM -<make's pgid>`: make gets it, devrun gets it, and make passes one more on."""
    run = Devrun(own_home, "sigterm")
    try:
        run.signal(signal.SIGTERM)
        time.sleep(0.2)  # make's own, as it passes the signal on to its child while we stop
        run.proc.send_signal(signal.SIGTERM)
        run.proc.wait(timeout=30)
    finally:
        run.stop()
    stops_cleanly(run, run.output())
