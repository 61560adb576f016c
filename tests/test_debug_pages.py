"""With DEBUG on (as under `make run`): our own error pages, and Django's technical page keeps secrets.

The real `make run` process is checked in tests/test_devrun.py; here the same settings in-process.
"""

import secrets
import sys

import pytest
from django.http import Http404
from django.test import Client, RequestFactory
from django.urls import include, path
from django.views.debug import technical_500_response

from tests.studio_helpers import make_task


def boom(request):
    raise RuntimeError("the database is at postgres://vidu:hunter2@db.internal:5432/vidu")


def gone(request):
    raise Http404("No such thing")


urlpatterns = [path("boom/", boom), path("gone/", gone), path("", include("vidu_web.urls"))]


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    settings.ROOT_URLCONF = __name__
    return settings


@pytest.mark.parametrize("path", ["/no-such-page/", "/gone/", "/videos/00000000-0000-0000-0000-000000000000/"])
def test_a_missing_page_gets_our_404_not_the_url_list(debug, alice_client, path):
    response = alice_client.get(path)
    html = response.content.decode()
    assert response.status_code == 404
    assert "Nothing here" in html and "Using the URLconf" not in html and "admin/" not in html


def test_an_outsider_gets_our_404_for_a_teams_video(debug, charlie_client, team_a, alice, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    task = make_task(team_a, alice)
    response = charlie_client.get(f"/videos/{task.uuid}/")
    assert response.status_code == 404 and "Nothing here" in response.content.decode()


def test_a_signed_out_visitor_gets_our_404_too(debug, db):
    response = Client().get("/wp-login.php")
    assert response.status_code == 404 and "Nothing here" in response.content.decode()


def test_a_crash_gets_our_500_and_the_traceback_goes_to_the_log(debug, alice_client, caplog):
    alice_client.raise_request_exception = False
    response = alice_client.get("/boom/")
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in html and "Traceback" not in html and "hunter2" not in html
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info and "Internal Server Error: /boom/" in record.getMessage()


def test_a_forbidden_action_gets_our_403(debug, bob_client, team_a, alice, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    task = make_task(team_a, alice)
    response = bob_client.post(f"/videos/{task.uuid}/delete/")  # no CSRF token: our 403 page
    assert response.status_code == 403 and "This form has expired" in response.content.decode()


def test_a_missing_slash_still_redirects(debug, alice_client):
    response = alice_client.get("/gallery")
    assert response.status_code == 301 and response["Location"] == "/gallery/"


def test_pages_work_as_before(debug, alice_client):
    assert alice_client.get("/gallery/").status_code == 200


# --- the technical 500 page (what Django shows when our pages can't be: a crash in middleware) ---

# Made at random, so that the page's source excerpts of this very file can't contain them.
PASSWORDS = {name: secrets.token_hex(8) for name in ("db", "redis", "pg", "key")}
SECRETS = {
    "DATABASE_URL": f"postgres://vidu:{PASSWORDS['db']}@db.internal:5432/vidu",
    "REDIS_URL": f"redis://:{PASSWORDS['redis']}@cache.internal:6379/0",
    "VIDU_API_KEY": f"vda_{PASSWORDS['key']}",
}


def test_the_technical_500_page_hides_every_credential(settings, db):
    settings.DEBUG = True
    settings.DATABASE_URL = SECRETS["DATABASE_URL"]
    settings.REDIS_URL = SECRETS["REDIS_URL"]
    settings.VIDU_API_KEY = SECRETS["VIDU_API_KEY"]
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": SECRETS["REDIS_URL"]}
    settings.SOME_BACKUP_TARGET = SECRETS["DATABASE_URL"]  # any setting holding a URL with a password
    # runserver copies the whole environment into request.META
    request = RequestFactory().get("/create/", **SECRETS, PGPASSWORD=PASSWORDS["pg"],
                                   HTTP_AUTHORIZATION="Token " + SECRETS["VIDU_API_KEY"])
    api_key = SECRETS["VIDU_API_KEY"]  # noqa: F841 (locals a traceback shows)
    headers = {"Authorization": "Token " + SECRETS["VIDU_API_KEY"]}  # noqa: F841
    try:
        raise RuntimeError("can't connect to " + SECRETS["DATABASE_URL"])
    except RuntimeError:
        html = technical_500_response(request, *sys.exc_info()).content.decode()
    assert "DATABASE_URL" in html and "REDIS_URL" in html and "VIDU_API_KEY" in html  # shown, with values hidden
    for name, password in PASSWORDS.items():
        assert password not in html, name
    assert "db.internal" in html  # what isn't secret still helps
