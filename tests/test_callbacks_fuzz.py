"""Any body at the callback URL, with the right secret and a valid signature: never a 500."""

import json

import pytest
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.studio_helpers import make_task
from vidu_web.studio.models import GenerationTask, State
from vidu_web.vidu import signing

KEY = "test-key"
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(10**400), 10**400),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20))
anything = st.recursive(scalars, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids,
                                                                                           max_size=3), max_leaves=20)
task_like = st.fixed_dictionaries({"id": st.just("111") | scalars, "state": st.sampled_from(
    ["processing", "queueing", "success", "failed", "weird"]) | scalars}, optional={
    name: anything for name in ("credits", "progress", "payload", "err_code", "creations", "bgm")})
bodies = st.one_of(
    task_like.map(lambda d: json.dumps(d).encode()),  # json.dumps writes inf as Infinity, which json reads back
    anything.map(lambda d: json.dumps(d).encode()),
    st.binary(max_size=200),
)


@pytest.fixture
def hooks(settings, monkeypatch):
    settings.VIDU_PROVIDER = "sandbox"
    settings.VIDU_API_KEY = KEY
    settings.VIDU_CALLBACK_BASE_URL = "http://testserver"
    monkeypatch.setattr("django_q.tasks.async_task", lambda *a, **k: None)
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def running(team_a, alice, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return make_task(team_a, alice, state=State.PROCESSING, with_video=False, upstream_id="111")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, signed=st.booleans())
@example(body=b'{"id": "111", "state": "processing", "credits": 1e400}', signed=True)
@example(body=b'{"id": "111", "state": "processing", "credits": 1e400}', signed=False)
@example(body=b'{"id": "111", "state": "processing", "progress": -1e400, "credits": ' + b"9" * 400 + b"}", signed=True)
@example(body=b"[" * 100000, signed=True)
@example(body=b'{"id": "111", "state": "success", "creations": [{"id": [], "url": "https://x/' + b"a" * 3000 + b'"}]}',
         signed=True)
def test_no_callback_body_gives_a_500(hooks, running, body, signed):
    GenerationTask.objects.filter(pk=running.pk).update(state=State.PROCESSING, upstream_id="111")
    url = running.callback_url()
    headers = signing.sign(KEY, url) if signed else {}
    response = hooks.post(url.removeprefix("http://testserver"), body, content_type="application/json", headers=headers)
    assert response.status_code in (200, 403)
    assert response.status_code == 200 or not signed
