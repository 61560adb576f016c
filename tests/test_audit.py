"""The audit log: changes to roles, budgets, caps and members, and videos made private or
deleted, with who, when and from where; /team/audit/ for owners and admins, and the admin."""

import pytest

from tests.studio_helpers import HTMX, csrf_post, make_task
from vidu_web.teams import audit
from vidu_web.teams.models import AuditEvent, Membership, Team


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def events(team):
    return list(AuditEvent.objects.filter(team=team).values_list("actor__username", "action", "target"))


def member(team, user):
    return Membership.objects.get(team=team, user=user)


def test_a_budget_change_is_recorded_with_who_what_and_where(alice_client, alice, team_a):
    csrf_post(alice_client, "/team/budget/", {"credit_budget": "900"}, page="/team/", REMOTE_ADDR="203.0.113.9")
    event = AuditEvent.objects.get(team=team_a)
    assert (event.actor, event.action, event.details, event.ip) == (alice, "budget-changed", {"old": 0, "new": 900},
                                                                    "203.0.113.9")


def test_role_and_cap_changes_and_removals_are_recorded(alice_client, alice, bob, team_a):
    bob_id = member(team_a, bob).pk
    csrf_post(alice_client, f"/team/members/{bob_id}/role/", {"role": "admin"}, page="/team/", **HTMX)
    csrf_post(alice_client, f"/team/members/{bob_id}/cap/", {"credit_cap": "300"}, page="/team/", **HTMX)
    csrf_post(alice_client, f"/team/members/{bob_id}/remove/", {}, page="/team/", **HTMX)
    assert sorted(events(team_a)) == [("alice", "cap-changed", "bob"), ("alice", "member-removed", "bob"),
                                      ("alice", "role-changed", "bob")]
    role = AuditEvent.objects.get(action="role-changed")
    assert role.details == {"old": "member", "new": "admin"}


def test_a_refused_change_records_nothing(bob_client, alice, bob, team_a):
    csrf_post(bob_client, "/team/budget/", {"credit_budget": "1"}, page="/team/")
    csrf_post(bob_client, f"/team/members/{member(team_a, alice).pk}/role/", {"role": "member"}, page="/team/")
    assert events(team_a) == []


def test_videos_made_private_and_deleted_are_recorded(alice_client, bob_client, alice, bob, team_a):
    mine = make_task(team_a, bob, prompt="a lighthouse at night")
    csrf_post(bob_client, f"/videos/{mine.uuid}/privacy/", {"private": "1"}, page="/gallery/")
    csrf_post(alice_client, f"/videos/{make_task(team_a, bob, prompt='storm').uuid}/delete/", {}, page="/gallery/")
    assert sorted((who, action) for who, action, _ in events(team_a)) == [("alice", "video-deleted"),
                                                                          ("bob", "video-private")]
    private = AuditEvent.objects.get(action="video-private")
    assert "a lighthouse at night" in private.target and private.details == {"task": str(mine.uuid)}


def test_owners_and_admins_read_the_log(alice_client, bob_client, alice, bob, team_a):
    audit.record(team_a, alice, "budget-changed", "Studio A", old=0, new=10)
    page = alice_client.get("/team/audit/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-audit-action="budget-changed"' in html and "changed the monthly budget" in html and "0 → 10" in html
    assert bob_client.get("/team/audit/").status_code == 403
    Membership.objects.filter(team=team_a, user=bob).update(role="admin")
    assert bob_client.get("/team/audit/").status_code == 200


def test_an_outsider_sees_only_his_own_teams_log(charlie_client, alice, charlie, team_a):
    audit.record(team_a, alice, "budget-changed", "Studio A secret", old=0, new=10)
    audit.record(charlie.teams.get(), charlie, "role-changed", "someone")
    html = charlie_client.get("/team/audit/").content.decode()
    assert "Studio A secret" not in html and 'data-audit-action="role-changed"' in html


def test_the_log_pages_and_takes_a_bad_page_calmly(alice_client, alice, team_a):
    for n in range(55):
        audit.record(team_a, alice, "cap-changed", f"member {n}")
    assert alice_client.get("/team/audit/").content.decode().count("data-audit-action") == 50
    assert alice_client.get("/team/audit/?page=2").content.decode().count("data-audit-action") == 5
    assert alice_client.get("/team/audit/?page=%00zz").status_code == 200


def test_an_address_that_isnt_one_is_left_out(rf, team_a, alice):
    request = rf.get("/", REMOTE_ADDR="not-an-address")
    assert audit.record(team_a, alice, "budget-changed", request=request).ip is None


def test_staff_read_the_log_in_the_admin_and_cannot_edit_it(admin_client, team_a, alice):
    event = audit.record(team_a, alice, "budget-changed", "Studio A")
    assert admin_client.get("/admin/teams/auditevent/").status_code == 200
    assert admin_client.get("/admin/teams/auditevent/add/").status_code == 403
    page = admin_client.get(f"/admin/teams/auditevent/{event.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()


def test_the_log_outlives_the_actors_account(alice, team_a):
    event = audit.record(team_a, alice, "budget-changed")
    alice.delete()
    event.refresh_from_db()
    assert event.actor is None and Team.objects.filter(pk=team_a.pk).exists()
