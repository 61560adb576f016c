"""/team/: the current team's members, roles, this month's credits and budget, and who may
change them."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tests.studio_helpers import HTMX, csrf_post, make_task
from vidu_web.teams import queries
from vidu_web.teams.models import Membership, Team

Role = Membership.Role


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def post(client, url, data=None, **extra):
    return csrf_post(client, url, data, page="/team/", **extra)


def membership(team, user):
    return Membership.objects.get(team=team, user=user)


def test_the_page_lists_members_with_roles(bob_client, alice, bob, team_a):
    response = bob_client.get("/team/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Studio A" in html
    assert f'data-member-id="{membership(team_a, alice).pk}" data-role="owner"' in html
    assert f'data-member-id="{membership(team_a, bob).pk}" data-role="member"' in html


def test_the_header_links_to_the_team_page(alice_client, alice):
    html = alice_client.get("/gallery/").content.decode()
    assert 'class="team-link" href="/team/"' in html


def test_it_sums_this_months_credits_per_member_and_for_the_team(alice_client, alice, bob, charlie, team_a):
    make_task(team_a, alice, credits=10)
    make_task(team_a, alice, credits=5)
    make_task(team_a, bob, credits=7)
    make_task(team_a, bob, credits=None)  # not charged (yet)
    make_task(team_a, bob, credits=100, deleted_at=timezone.now())  # paid for: deleting hides nothing
    make_task(team_a, bob, credits=1000, created_at=queries.month_bounds()[0] - timedelta(seconds=1))
    make_task(charlie.teams.get(), charlie, credits=500)
    page = alice_client.get("/team/")
    rows = {m.user.username: m.spent for m in page.context["rows"]}
    assert rows == {"alice": 15, "bob": 107}
    assert page.context["spend"].total == 122
    assert "<td class=\"num\" data-total>122</td>" in page.content.decode()


def test_a_former_members_credits_still_count_for_the_team(alice_client, alice, team_a, django_user_model):
    gone = django_user_model.objects.create_user("gone")
    make_task(team_a, gone, credits=9)
    make_task(team_a, alice, credits=1)
    spend = alice_client.get("/team/").context["spend"]
    assert (spend.total, spend.by_others) == (10, 9)


def test_the_month_starts_at_midnight_utc_on_the_first():
    start, end = queries.month_bounds(datetime(2024, 12, 31, 23, 59, tzinfo=UTC))
    assert (start, end) == (datetime(2024, 12, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    start, _ = queries.month_bounds(datetime(2025, 3, 1, 0, 30, tzinfo=timezone.get_fixed_timezone(60)))
    assert start == datetime(2025, 2, 1, tzinfo=UTC)  # 00:30 at UTC+1 is still February in UTC


def test_it_shows_how_much_of_the_budget_is_left(bob_client, alice, bob, team_a):
    Team.objects.filter(pk=team_a.pk).update(credit_budget=100)
    make_task(team_a, bob, credits=30)
    html = bob_client.get("/team/").content.decode()
    assert 'data-left="70"' in html and "70 credits left this month" in html


def test_it_says_when_the_team_is_over_budget(alice_client, alice, team_a):
    Team.objects.filter(pk=team_a.pk).update(credit_budget=20)
    make_task(team_a, alice, credits=25)
    assert "Over budget by 5 credits" in alice_client.get("/team/").content.decode()


def test_no_budget_shows_no_remainder(alice_client, alice, team_a):
    make_task(team_a, alice, credits=25)
    html = alice_client.get("/team/").content.decode()
    assert "No budget is set" in html and "data-left" not in html


@pytest.mark.parametrize("size", [2, 8])
def test_the_page_runs_a_fixed_number_of_queries(alice_client, alice, team_a, size, django_user_model,
                                                 django_assert_num_queries):
    users = [alice]
    for n in range(size - 1):
        user = django_user_model.objects.create_user(f"user{n}")
        Membership.objects.create(team=team_a, user=user)
        users.append(user)
    for n, user in enumerate(users * 2):
        make_task(team_a, user, credits=n, with_video=False)
    alice_client.get("/team/")  # warm the session
    # session, user, current membership, the header's team list, the members, the credits, the
    # open invitations (the team's and mine)
    with django_assert_num_queries(7):
        response = alice_client.get("/team/")
    assert len(response.context["rows"]) == size


# --- who sees the forms ------------------------------------------------------------------------


def test_owners_see_every_form(alice_client, alice):
    html = alice_client.get("/team/").content.decode()
    assert 'action="/team/members/add/"' in html and 'action="/team/budget/"' in html


def test_admins_manage_members_but_not_the_budget(bob_client, bob, team_a):
    Membership.objects.filter(user=bob).update(role=Role.ADMIN)
    html = bob_client.get("/team/").content.decode()
    assert 'action="/team/members/add/"' in html and 'action="/team/budget/"' not in html
    assert '<option value="owner"' not in html


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_members_and_viewers_see_the_page_read_only(bob_client, alice, bob, team_a, role):
    Membership.objects.filter(user=bob).update(role=role)
    html = bob_client.get("/team/").content.decode()
    assert "/team/members/add/" not in html and "/team/budget/" not in html and "/role/" not in html
    assert f'action="/team/members/{membership(team_a, alice).pk}/remove/"' not in html
    assert f'action="/team/members/{membership(team_a, bob).pk}/remove/"' in html  # leaving is theirs


# --- adding ------------------------------------------------------------------------------------


def test_adding_by_username_only_invites_them(alice_client, alice, charlie, team_a):
    response = post(alice_client, "/team/members/add/", {"username": "charlie", "role": "viewer"})
    assert response.status_code == 302 and response.url == "/team/"
    assert not team_a.memberships.filter(user=charlie).exists()  # nobody joins without accepting
    invitation = team_a.invitations.get()
    assert (invitation.invitee, invitation.role, invitation.max_uses) == (charlie, Role.VIEWER, 1)


def test_adding_through_htmx_answers_the_page_body(alice_client, alice, charlie, team_a):
    response = post(alice_client, "/team/members/add/", {"username": "charlie", "role": "member"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div id="team-body"')
    assert "charlie is invited as member" in html and "<html" not in html


def test_adding_an_unknown_user_says_so_beside_the_field(alice_client, alice, team_a):
    response = post(alice_client, "/team/members/add/", {"username": "nobody", "role": "member"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<p class="error" id="username-error">No one is signed up as “nobody”' in html
    assert team_a.memberships.count() == 1


def test_an_inactive_user_reads_like_an_unknown_one(alice_client, alice, charlie, team_a):
    charlie.is_active = False
    charlie.save()
    html = post(alice_client, "/team/members/add/", {"username": "charlie", "role": "member"}).content.decode()
    assert "No one is signed up as “charlie”" in html
    assert not team_a.memberships.filter(user=charlie).exists()


def test_adding_a_member_twice_says_they_are_in(alice_client, alice, bob, team_a):
    html = post(alice_client, "/team/members/add/", {"username": "bob", "role": "admin"}).content.decode()
    assert "bob is already in Studio A." in html
    assert membership(team_a, bob).role == Role.MEMBER


@pytest.mark.parametrize("data", [
    {},
    {"username": "", "role": "member"},
    {"username": "charlie", "role": "king"},
    {"username": "char\x00lie", "role": "member"},
    {"username": "x" * 151, "role": "member"},
])
def test_bad_input_to_add_changes_nothing(alice_client, alice, charlie, team_a, data):
    response = post(alice_client, "/team/members/add/", data)
    assert response.status_code == 200 and 'class="error"' in response.content.decode()
    assert team_a.memberships.count() == 1


def test_an_admin_cant_add_an_owner(bob_client, bob, charlie, team_a):
    Membership.objects.filter(user=bob).update(role=Role.ADMIN)
    html = post(bob_client, "/team/members/add/", {"username": "charlie", "role": "owner"}).content.decode()
    assert "Only an owner can make someone an owner." in html
    assert not team_a.memberships.filter(user=charlie).exists()


# --- roles -------------------------------------------------------------------------------------


def test_an_admin_changes_a_members_role(alice_client, bob_client, alice, bob, charlie, team_a):
    Membership.objects.filter(user=bob).update(role=Role.ADMIN)
    carol = Membership.objects.create(team=team_a, user=charlie, role=Role.MEMBER)
    response = post(bob_client, f"/team/members/{carol.pk}/role/", {"role": "viewer"})
    assert response.status_code == 302
    carol.refresh_from_db()
    assert carol.role == Role.VIEWER


def test_an_owner_makes_another_owner(alice_client, alice, bob, team_a):
    post(alice_client, f"/team/members/{membership(team_a, bob).pk}/role/", {"role": "owner"})
    assert membership(team_a, bob).role == Role.OWNER


@pytest.mark.parametrize("start, wanted", [(Role.MEMBER, Role.OWNER), (Role.OWNER, Role.MEMBER)])
def test_only_an_owner_makes_or_unmakes_owners(bob_client, alice, bob, charlie, team_a, start, wanted):
    Membership.objects.filter(user=bob).update(role=Role.ADMIN)
    target = Membership.objects.create(team=team_a, user=charlie, role=start)
    html = post(bob_client, f"/team/members/{target.pk}/role/", {"role": wanted}).content.decode()
    assert "Only an owner can make or unmake owners." in html
    target.refresh_from_db()
    assert target.role == start


def test_the_last_owner_cant_step_down(alice_client, alice, team_a):
    me = membership(team_a, alice)
    response = post(alice_client, f"/team/members/{me.pk}/role/", {"role": "admin"})
    assert f'id="role-{me.pk}-error">The last owner stays an owner' in response.content.decode()
    me.refresh_from_db()
    assert me.role == Role.OWNER


def test_an_owner_steps_down_when_another_owner_remains(alice_client, alice, bob, team_a):
    Membership.objects.filter(user=bob).update(role=Role.OWNER)
    me = membership(team_a, alice)
    post(alice_client, f"/team/members/{me.pk}/role/", {"role": "admin"})
    me.refresh_from_db()
    assert me.role == Role.ADMIN


@pytest.mark.parametrize("data", [{}, {"role": "king"}, {"role": "\x00"}])
def test_a_bad_role_changes_nothing(alice_client, alice, bob, team_a, data):
    target = membership(team_a, bob)
    response = post(alice_client, f"/team/members/{target.pk}/role/", data)
    assert response.status_code == 200 and f'id="role-{target.pk}-error"' in response.content.decode()
    target.refresh_from_db()
    assert target.role == Role.MEMBER


# --- removing and leaving ------------------------------------------------------------------------


def test_an_owner_removes_a_member(alice_client, alice, bob, team_a):
    response = post(alice_client, f"/team/members/{membership(team_a, bob).pk}/remove/")
    assert response.status_code == 302
    assert not team_a.memberships.filter(user=bob).exists()


def test_an_admin_cant_remove_an_owner(bob_client, alice, bob, team_a):
    Membership.objects.filter(user=bob).update(role=Role.ADMIN)
    owner = membership(team_a, alice)
    html = post(bob_client, f"/team/members/{owner.pk}/remove/").content.decode()
    assert "Only an owner can remove an owner." in html
    assert team_a.memberships.filter(pk=owner.pk).exists()


def test_a_member_leaves_the_team(bob_client, bob, team_a):
    response = post(bob_client, f"/team/members/{membership(team_a, bob).pk}/remove/")
    assert response.status_code == 302 and response.url == "/gallery/"
    assert not team_a.memberships.filter(user=bob).exists()
    # the header falls back to another team of theirs (a personal one if none)
    assert bob_client.get("/gallery/").status_code == 200


def test_leaving_through_htmx_redirects_the_browser(bob_client, bob, team_a):
    response = post(bob_client, f"/team/members/{membership(team_a, bob).pk}/remove/", **HTMX)
    assert response.headers["HX-Redirect"] == "/gallery/"


def test_the_last_owner_cant_leave(alice_client, alice, bob, team_a):
    me = membership(team_a, alice)
    html = post(alice_client, f"/team/members/{me.pk}/remove/").content.decode()
    assert "You are the last owner" in html
    assert team_a.memberships.filter(pk=me.pk).exists()


def test_an_owner_leaves_when_another_owner_remains(alice_client, alice, bob, team_a):
    Membership.objects.filter(user=bob).update(role=Role.OWNER)
    post(alice_client, f"/team/members/{membership(team_a, alice).pk}/remove/")
    assert list(team_a.memberships.values_list("user__username", flat=True)) == ["bob"]


# --- budget ------------------------------------------------------------------------------------


def test_an_owner_sets_the_budget(alice_client, alice, team_a):
    response = post(alice_client, "/team/budget/", {"credit_budget": "500"})
    assert response.status_code == 302
    team_a.refresh_from_db()
    assert team_a.credit_budget == 500
    post(alice_client, "/team/budget/", {"credit_budget": "0"})
    team_a.refresh_from_db()
    assert team_a.credit_budget == 0


@pytest.mark.parametrize("value", ["", "-1", "ten", "1e3", str(2**31), "\x00"])
def test_a_bad_budget_changes_nothing(alice_client, alice, team_a, value):
    Team.objects.filter(pk=team_a.pk).update(credit_budget=50)
    response = post(alice_client, "/team/budget/", {"credit_budget": value})
    assert response.status_code == 200 and 'id="credit_budget-error"' in response.content.decode()
    team_a.refresh_from_db()
    assert team_a.credit_budget == 50


def test_an_admin_cant_set_the_budget(bob_client, bob, team_a):
    Membership.objects.filter(user=bob).update(role=Role.ADMIN)
    assert post(bob_client, "/team/budget/", {"credit_budget": "10"}).status_code == 403
    team_a.refresh_from_db()
    assert team_a.credit_budget == 0


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_members_and_viewers_get_403_for_every_change(bob_client, alice, bob, charlie, team_a, role):
    Membership.objects.filter(user=bob).update(role=role)
    owner = membership(team_a, alice)
    for url, data in [
        ("/team/members/add/", {"username": "charlie", "role": "viewer"}),
        (f"/team/members/{owner.pk}/role/", {"role": "viewer"}),
        (f"/team/members/{membership(team_a, bob).pk}/role/", {"role": "admin"}),
        (f"/team/members/{owner.pk}/remove/", {}),
        ("/team/budget/", {"credit_budget": "10"}),
    ]:
        assert post(bob_client, url, data).status_code == 403, url
    assert sorted(team_a.memberships.values_list("user__username", "role")) == [("alice", "owner"), ("bob", role)]


def test_another_teams_memberships_are_404(charlie_client, alice, bob, charlie, team_a):
    for m in team_a.memberships.all():
        assert post(charlie_client, f"/team/members/{m.pk}/role/", {"role": "owner"}).status_code == 404
        assert post(charlie_client, f"/team/members/{m.pk}/remove/").status_code == 404
        assert post(charlie_client, f"/team/members/{m.pk}/remove/", **HTMX).status_code == 404
    assert sorted(team_a.memberships.values_list("user__username", "role")) == [("alice", "owner"), ("bob", "member")]


def test_a_member_gets_404_not_403_for_another_teams_membership(bob_client, bob, charlie):
    theirs = membership(charlie.teams.get(), charlie)
    assert post(bob_client, f"/team/members/{theirs.pk}/role/", {"role": "viewer"}).status_code == 404
    assert post(bob_client, f"/team/members/{theirs.pk}/remove/").status_code == 404


def test_a_membership_of_a_team_im_not_working_in_now_is_404(alice_client, alice, charlie, team_a):
    # Alice owns another team too, but the page acts on the current team only.
    other = charlie.teams.get()
    Membership.objects.create(team=other, user=alice, role=Role.OWNER)
    post(alice_client, "/teams/switch/", {"team": team_a.pk, "next": "/team/"})
    theirs = membership(other, charlie)
    assert post(alice_client, f"/team/members/{theirs.pk}/remove/").status_code == 404
    assert other.memberships.filter(pk=theirs.pk).exists()


def test_the_page_is_the_current_teams(alice_client, alice, charlie):
    other = charlie.teams.get()
    Membership.objects.create(team=other, user=alice, role=Role.VIEWER)
    post(alice_client, "/teams/switch/", {"team": other.pk, "next": "/team/"})
    html = alice_client.get("/team/").content.decode()
    assert "Outsiders" in html and "charlie" in html and "/team/members/add/" not in html


def test_changes_need_a_csrf_token(alice, bob, team_a):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(f"/team/members/{membership(team_a, bob).pk}/remove/").status_code == 403
    assert team_a.memberships.filter(user=bob).exists()


def test_reading_the_page_needs_a_sign_in(client):
    response = client.get("/team/")
    assert response.status_code == 302 and "/accounts/login/" in response.url
