"""Teams: a personal team on first sign-in, and the current team follows the session."""

import pytest
from django.test import Client

from vidu_web.studio import providers
from vidu_web.teams.models import Membership, Team


def test_a_user_without_team_gets_a_personal_team_on_first_sign_in(django_user_model, db):
    user = django_user_model.objects.create_user("dora", password="pw-dora-123")
    assert Client().login(username="dora", password="pw-dora-123")
    membership = Membership.objects.get(user=user)
    assert membership.team.personal and membership.role == Membership.Role.OWNER
    assert Client().login(username="dora", password="pw-dora-123")
    assert Membership.objects.filter(user=user).count() == 1  # not a second one


def test_a_team_member_gets_no_personal_team(alice):
    assert Client().login(username="alice", password="password-alice")
    assert list(Team.objects.filter(members=alice).values_list("name", flat=True)) == ["Studio A"]


def test_team_slugs_stay_unique(db):
    first, second = Team.objects.create(name="Acme"), Team.objects.create(name="Acme")
    assert first.slug == "acme" and second.slug == "acme-2"


@pytest.mark.parametrize(
    "preset, overrides, url",
    [
        ("vidu", {}, "https://api.vidu.com/ent/v2/tasks/1/creations"),
        ("vidu-cn", {}, "https://api.vidu.cn/ent/v2/tasks/1/creations"),
        ("dataeyes", {}, "https://api.dataeyes.ai/v2/tasks/1/creations"),
        ("dataeyes", {"VIDU_BASE_URL": "https://gw.example/", "VIDU_PATH_PREFIX": "/vidu"}, "https://gw.example/vidu/tasks/1/creations"),
    ],
)
def test_the_provider_is_the_preset_with_overrides(settings, preset, overrides, url):
    settings.VIDU_PROVIDER, settings.VIDU_BASE_URL, settings.VIDU_PATH_PREFIX, settings.VIDU_AUTH_SCHEME = preset, "", "", ""
    for name, value in overrides.items():
        setattr(settings, name, value)
    adapter = providers.adapter(preset, providers.current().endpoint)
    assert adapter.client.provider.url("tasks/1/creations") == url


def test_the_auth_scheme_override(settings):
    settings.VIDU_PROVIDER, settings.VIDU_AUTH_SCHEME = "vidu", "Bearer"
    assert providers.adapter("vidu", providers.current().endpoint).client.provider.auth_scheme == "Bearer"
