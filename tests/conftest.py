"""Shared fixtures: the sandbox on a free port, and the house cast of Alice, Bob and Charlie.

Alice owns team "Studio A", Bob is a member of it, Charlie is an outsider with his own team.
"""

import pytest
from django.test import Client

from vidu_web.sandbox.testing import running_sandbox


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Passwords made and checked in the tests use a fast hash: production's PBKDF2 takes about
    0.4 s a hash here, by design, and the cast of three users is made for most tests (the
    throttling tests alone sign in wrongly some 60 times). No test hashes a password for a
    process of its own to check (servers and clusters the tests start get sessions, not
    passwords; ``make run``'s demo user is made by that process), and production settings are
    untouched: they are tested as they are (test_settings, check --deploy)."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _fresh_progress_memo():
    """Each test starts with no remembered usual times (progress.py keeps them a minute per
    process; on SQLite a rolled-back team's id comes back in the next test)."""
    from vidu_web.studio import progress

    progress.forget()


@pytest.fixture
def sandbox():
    """The Vidu sandbox, over real HTTP, running fast (0.2 s per stage)."""
    with running_sandbox(step=0.2) as sb:
        yield sb


@pytest.fixture
def vidu_settings(settings, sandbox):
    """Point the app's Vidu client at the test sandbox."""
    settings.VIDU_PROVIDER = "sandbox"
    settings.VIDU_BASE_URL = sandbox.url
    settings.VIDU_PATH_PREFIX = ""
    settings.VIDU_AUTH_SCHEME = ""
    settings.VIDU_API_KEY = "test-key"
    return settings


@pytest.fixture
def cluster_settings(vidu_settings, settings, tmp_path):
    """Settings a qcluster subprocess inherits (tests/cluster.py): fast cadences, own media."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a cluster subprocess shares the test database only on PostgreSQL (make test uses it)")
    settings.PIPELINE_FAST = True
    settings.VIDU_TIMEOUT = 2
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VIDU_CALLBACK_BASE_URL = ""
    return settings


@pytest.fixture
def team_a(db):
    from vidu_web.teams.models import Team

    return Team.objects.create(name="Studio A")


@pytest.fixture
def alice(db, team_a, django_user_model):
    from vidu_web.teams.models import Membership

    user = django_user_model.objects.create_user("alice", "alice@example.org", "password-alice")
    Membership.objects.create(team=team_a, user=user, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def bob(db, team_a, django_user_model):
    from vidu_web.teams.models import Membership

    user = django_user_model.objects.create_user("bob", "bob@example.org", "password-bob")
    Membership.objects.create(team=team_a, user=user, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def charlie(db, django_user_model):
    from vidu_web.teams.models import Membership, Team

    user = django_user_model.objects.create_user("charlie", "charlie@example.org", "password-charlie")
    Membership.objects.create(team=Team.objects.create(name="Outsiders"), user=user, role=Membership.Role.OWNER)
    return user


def _client_for(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(alice):
    """Signed in as Alice; enforces CSRF like a browser would."""
    return _client_for(alice)


@pytest.fixture
def bob_client(bob):
    return _client_for(bob)


@pytest.fixture
def charlie_client(charlie):
    return _client_for(charlie)
