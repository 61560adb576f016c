"""Response headers: a Content-Security-Policy with no inline script and no eval on every HTML
response, a Permissions-Policy, the older security headers kept; templates that need neither."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from prod_fixtures import ROOT, production_env

from tests.studio_helpers import make_task
from vidu_web.studio.models import State

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
PAGES = ["/create/", "/tasks/", "/gallery/", "/team/", "/accounts/password_change/", "/no-such-page/"]


def directives(response):
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def assert_strict(response):
    csp = directives(response)
    assert csp["script-src"] == ["'self'"], csp
    assert csp["style-src"] == ["'self'"], csp
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "camera=()" in response["Permissions-Policy"] and "fullscreen=(self)" in response["Permissions-Policy"]
    assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_a_strict_policy(alice_client, alice, team_a, path):
    make_task(team_a, alice, state=State.PROCESSING, progress=40)
    response = alice_client.get(path)
    assert response["Content-Type"].startswith("text/html")
    assert_strict(response)


def test_the_sign_in_page_the_admin_and_the_htmx_fragments_carry_it_too(client, admin_client, alice_client, alice,
                                                                         team_a):
    task = make_task(team_a, alice, state=State.PROCESSING, progress=40)
    assert_strict(client.get("/accounts/login/"))
    assert_strict(admin_client.get("/admin/"))
    assert_strict(alice_client.get(f"/tasks/progress/?ids={task.uuid}", HTTP_HX_REQUEST="true"))


def test_htmx_is_told_to_eval_nothing_and_inject_no_style(alice_client):
    html = alice_client.get("/create/").content.decode()
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', html)
    assert config, "no htmx-config meta"
    assert '"allowEval": false' in config[1] and '"includeIndicatorStyles": false' in config[1]
    assert html.index('name="htmx-config"') < html.index("htmx-2.min.js")  # read when htmx starts


def test_a_progress_bar_carries_its_width_as_data_not_as_style(alice_client, alice, team_a):
    make_task(team_a, alice, state=State.PROCESSING, progress=40)
    html = alice_client.get("/tasks/").content.decode()
    assert 'class="progress-fill" data-percent="40"' in html and "style=" not in html


def test_no_template_needs_inline_script_inline_style_or_eval():
    problems = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for pattern, why in [
            (r"\sstyle=", "an inline style attribute"),
            (r"<style", "a <style> element"),
            (r"<script(?![^>]*\bsrc=)", "an inline <script>"),
            (r"\son[a-z]+=", "an inline event handler"),
            (r"hx-on", "hx-on (evaluated code)"),
            (r"hx-vals=.\s*js:|hx-vars|javascript:", "evaluated hx-vals / a javascript: URL"),
            (r'hx-trigger="[^"]*\[', "a trigger filter (evaluated code)"),
        ]:
            if re.search(pattern, text):
                problems.append(f"{path.relative_to(TEMPLATES)}: {why}")
    assert not problems, problems


def test_each_response_gets_a_request_id_header(client):
    first, second = client.get("/accounts/login/"), client.get("/accounts/login/")
    assert re.fullmatch(r"[0-9a-f]{32}", first["X-Request-ID"]) and first["X-Request-ID"] != second["X-Request-ID"]


PROBE = ("import django, json; django.setup(); from django.conf import settings;"
         "print(json.dumps(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']))")


def test_media_on_s3_is_allowed_from_the_buckets_origin_only():
    import json

    def directives_with(**env):
        result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=production_env(**env), capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    local = directives_with()
    assert local["media-src"] == ["'self'"] and local["img-src"] == ["'self'", "blob:"]
    minio = directives_with(S3_BUCKET="vidu-media", S3_ENDPOINT_URL="https://minio.internal:9000/")
    assert minio["media-src"] == ["'self'", "https://minio.internal:9000"]
    aws = directives_with(S3_BUCKET="vidu-media", S3_REGION="eu-west-1")
    assert aws["media-src"] == ["'self'", "https://vidu-media.s3.amazonaws.com", "https://vidu-media.s3.eu-west-1.amazonaws.com"]
    assert aws["script-src"] == ["'self'"]
