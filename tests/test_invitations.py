"""Invitations: owners and admins invite by link (role, optional email, expiry, uses) and revoke;
/join/<token>/ signs a newcomer up or lets a signed-in user accept; nobody joins unasked; a user
works in the team they chose last."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from tests.studio_helpers import HTMX, csrf_post
from vidu_web.teams.models import AuditEvent, Invitation, Membership, Team

Role = Membership.Role
GOOD_PASSWORD = "quiet-harbour-lantern-83"


def post(client, url, data=None, page="/team/", **extra):
    return csrf_post(client, url, data, page=page, **extra)


def invite(client, **data):
    return post(client, "/team/invites/", {"role": "member", **data})


def make_invitation(team, by=None, **fields):
    return Invitation.objects.create(team=team, created_by=by, **fields)


def browser():
    return Client(enforce_csrf_checks=True)


def sign_up(client, token, username="dora", password=GOOD_PASSWORD, password2=None):
    return post(client, f"/join/{token}/", {"username": username, "password1": password,
                                            "password2": password if password2 is None else password2},
                page=f"/join/{token}/")


def actions(team):
    return list(AuditEvent.objects.filter(team=team).order_by("pk").values_list("action", "target"))


# --- making invitations ---------------------------------------------------------------------------


def test_an_owner_makes_a_link_with_the_defaults(alice_client, alice, team_a):
    response = invite(alice_client)
    assert response.status_code == 302 and response.url == "/team/"
    invitation = team_a.invitations.get()
    assert (invitation.role, invitation.max_uses, invitation.uses, invitation.created_by) == (Role.MEMBER, 1, 0, alice)
    assert abs(invitation.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)
    assert len(invitation.token) >= 32
    html = alice_client.get("/team/").content.decode()
    assert f'data-invite-url="http://testserver/join/{invitation.token}/"' in html
    assert f'action="/team/invites/{invitation.pk}/revoke/"' in html


def test_an_admin_invites_with_expiry_and_uses(bob_client, bob, team_a):
    Membership.objects.filter(user=bob).update(role=Role.ADMIN)
    invite(bob_client, role="viewer", days="2", uses="5")
    invitation = team_a.invitations.get()
    assert (invitation.role, invitation.max_uses) == (Role.VIEWER, 5)
    assert abs(invitation.expires_at - (timezone.now() + timedelta(days=2))) < timedelta(minutes=1)


def test_inviting_through_htmx_answers_the_page_body_with_the_link(alice_client, alice, team_a):
    html = post(alice_client, "/team/invites/", {"role": "member"}, **HTMX).content.decode()
    assert html.lstrip().startswith('<div id="team-body"') and "data-invite-url=" in html


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_members_and_viewers_cant_invite_or_revoke(bob_client, alice, bob, team_a, role):
    Membership.objects.filter(user=bob).update(role=role)
    invitation = make_invitation(team_a, alice)
    assert invite(bob_client).status_code == 403
    assert post(bob_client, f"/team/invites/{invitation.pk}/revoke/").status_code == 403
    assert team_a.invitations.count() == 1 and not Invitation.objects.get().revoked_at
    html = bob_client.get("/team/").content.decode()
    assert "data-invite-url" not in html and invitation.token not in html  # a link is a key


def test_an_admin_cant_invite_an_owner(bob_client, bob, team_a):
    Membership.objects.filter(user=bob).update(role=Role.ADMIN)
    html = invite(bob_client, role="owner").content.decode()
    assert "Only an owner can make someone an owner." in html
    assert not team_a.invitations.exists()


@pytest.mark.parametrize("data, message", [
    ({"role": "king"}, "Select a valid choice"),
    ({"email": "not-an-address"}, "Enter a valid email address"),
    ({"days": "0"}, "greater than or equal to 1"),
    ({"days": "31"}, "less than or equal to 30"),
    ({"uses": "101"}, "less than or equal to 100"),
    ({"uses": "99999999999999999999"}, "less than or equal to 100"),
    ({"days": "seven"}, "Enter a whole number"),
])
def test_bad_input_to_invite_says_why_and_makes_nothing(alice_client, alice, team_a, data, message):
    response = invite(alice_client, **data)
    assert response.status_code == 200 and message in response.content.decode()
    assert not Invitation.objects.exists() and not AuditEvent.objects.exists()


def test_inviting_the_email_of_someone_in_the_team_says_so(alice_client, alice, bob, team_a):
    html = invite(alice_client, email="BOB@example.org").content.decode()
    assert "Someone with BOB@example.org is already in Studio A." in html
    assert not Invitation.objects.exists()


def test_an_invitation_with_an_email_is_sent_when_email_works(alice_client, alice, team_a, settings, mailoutbox):
    settings.EMAIL_ENABLED = True
    response = invite(alice_client, email="dora@example.org", role="viewer")
    invitation = team_a.invitations.get()
    assert invitation.email == "dora@example.org"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["dora@example.org"]
    assert f"http://testserver/join/{invitation.token}/" in mailoutbox[0].body
    assert "Studio A" in mailoutbox[0].subject and "viewer" in mailoutbox[0].body
    assert "Invitation sent to dora@example.org" in alice_client.get(response.url).content.decode()


def test_without_email_the_link_is_only_shown(alice_client, alice, team_a, settings, mailoutbox):
    settings.EMAIL_ENABLED = False
    invite(alice_client, email="dora@example.org")
    assert mailoutbox == []
    html = alice_client.get("/team/").content.decode()
    assert "copy its link" in html and "data-invite-url=" in html


def test_a_mail_server_that_fails_leaves_the_link_to_copy(alice_client, alice, team_a, settings):
    settings.EMAIL_ENABLED = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    response = invite(alice_client, email="dora@example.org")
    assert response.status_code == 302
    html = alice_client.get("/team/").content.decode()
    assert "could not be sent" in html and "data-invite-url=" in html


def test_an_owner_revokes_an_invitation(alice_client, alice, team_a):
    invitation = make_invitation(team_a, alice)
    response = post(alice_client, f"/team/invites/{invitation.pk}/revoke/")
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert "data-invite-url" not in alice_client.get("/team/").content.decode()
    assert browser().get(f"/join/{invitation.token}/").status_code == 404


def test_another_teams_invitation_is_404_to_revoke(charlie_client, charlie, alice, team_a):
    invitation = make_invitation(team_a, alice)
    assert post(charlie_client, f"/team/invites/{invitation.pk}/revoke/").status_code == 404
    assert post(charlie_client, "/team/invites/99999999/revoke/").status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_inviting_needs_a_csrf_token(alice_client, alice, team_a):
    assert alice_client.post("/team/invites/", {"role": "member"}).status_code == 403
    assert not Invitation.objects.exists()


def test_invitations_are_recorded_for_the_audit_log(alice_client, alice, charlie, team_a):
    invite(alice_client, email="dora@example.org")
    post(alice_client, "/team/members/add/", {"username": "charlie", "role": "viewer"})
    post(alice_client, f"/team/invites/{team_a.invitations.get(email='dora@example.org').pk}/revoke/")
    assert actions(team_a) == [("invitation-made", "dora@example.org as member"),
                               ("invitation-made", "charlie as viewer"),
                               ("invitation-revoked", "dora@example.org as member")]
    event = AuditEvent.objects.filter(team=team_a).order_by("pk").first()
    assert event.actor == alice and event.ip == "127.0.0.1" and event.details["role"] == "member"


# --- joining ----------------------------------------------------------------------------------------


def test_a_signed_out_visitor_sees_the_team_and_role(alice, team_a):
    invitation = make_invitation(team_a, alice, role=Role.VIEWER)
    response = browser().get(f"/join/{invitation.token}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Studio A" in html and "alice invites you" in html and "<strong>viewer</strong>" in html
    for name in ("username", "password1", "password2"):
        assert f'name="{name}"' in html
    assert f'href="/accounts/login/?next=/join/{invitation.token}/"' in html


def test_a_newcomer_signs_up_and_lands_in_the_teams_gallery(alice, team_a):
    invitation = make_invitation(team_a, alice, role=Role.VIEWER, email="dora@example.org")
    client = browser()
    response = sign_up(client, invitation.token)
    assert response.status_code == 302 and response.url == "/gallery/"
    dora = get_user_model().objects.get(username="dora")
    assert dora.email == "dora@example.org" and dora.check_password(GOOD_PASSWORD)
    assert list(dora.memberships.values_list("team__name", "role")) == [("Studio A", Role.VIEWER)]  # no personal team
    page = client.get("/gallery/")
    assert page.status_code == 200 and page.context["request"].team == team_a
    assert "Welcome to Studio A, dora." in page.content.decode()
    invitation.refresh_from_db()
    assert invitation.uses == 1
    assert actions(team_a) == [("invitation-accepted", "dora@example.org as viewer"), ("member-added", "dora")]


@pytest.mark.parametrize("username, password, password2, message", [
    ("alice", GOOD_PASSWORD, None, "A user with that username already exists."),
    ("dora", "password", None, "This password is too common."),
    ("dora", "83927561", None, "This password is entirely numeric."),
    ("dora", "short", None, "This password is too short."),
    ("dora", GOOD_PASSWORD, GOOD_PASSWORD + "x", "The two password fields didn"),
    ("", GOOD_PASSWORD, None, "This field is required."),
    ("do ra!", GOOD_PASSWORD, None, "Enter a valid username."),
])
def test_a_bad_sign_up_says_why_beside_the_fields_and_makes_nothing(alice, team_a, username, password, password2,
                                                                     message):
    invitation = make_invitation(team_a, alice)
    users = get_user_model().objects.count()
    response = sign_up(browser(), invitation.token, username, password, password2)
    html = response.content.decode()
    assert response.status_code == 200 and message in html.replace("&#x27;", "'") and 'class="error"' in html
    assert get_user_model().objects.count() == users and team_a.memberships.count() == 1
    invitation.refresh_from_db()
    assert invitation.uses == 0 and not AuditEvent.objects.exists()


def test_a_signed_in_user_accepts_with_a_post(charlie_client, charlie, alice, team_a):
    invitation = make_invitation(team_a, alice, role=Role.MEMBER)
    page = charlie_client.get(f"/join/{invitation.token}/")
    assert page.status_code == 200 and "Join Studio A as charlie" in page.content.decode()
    assert not team_a.memberships.filter(user=charlie).exists()  # looking is not joining
    response = post(charlie_client, f"/join/{invitation.token}/", page=f"/join/{invitation.token}/")
    assert response.status_code == 302 and response.url == "/gallery/"
    assert team_a.memberships.get(user=charlie).role == Role.MEMBER
    assert charlie_client.get("/gallery/").context["request"].team == team_a


@pytest.mark.parametrize("state", ["unknown", "revoked", "expired", "used up"])
def test_a_link_that_doesnt_work_is_a_friendly_404(alice, charlie, charlie_client, team_a, state):
    invitation = make_invitation(team_a, alice)
    token = invitation.token
    if state == "unknown":
        token = "x" * 32
    elif state == "revoked":
        invitation.revoke()
    elif state == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        Invitation.objects.filter(pk=invitation.pk).update(uses=1)
    for client in (browser(), charlie_client):
        response = client.get(f"/join/{token}/")
        assert response.status_code == 404 and "This invitation doesn" in response.content.decode()
    assert sign_up(browser(), token).status_code == 404
    assert post(charlie_client, f"/join/{token}/", page="/gallery/").status_code == 404
    assert not get_user_model().objects.filter(username="dora").exists()
    assert not team_a.memberships.filter(user=charlie).exists()


def test_an_invitation_revoked_while_the_form_was_open_makes_no_account(alice, team_a):
    invitation = make_invitation(team_a, alice)
    client = browser()
    client.get(f"/join/{invitation.token}/")
    invitation.revoke()
    assert sign_up(client, invitation.token).status_code == 404
    assert not get_user_model().objects.filter(username="dora").exists()


def test_the_last_use_goes_to_one_person_only(alice, charlie, charlie_client, team_a):
    invitation = make_invitation(team_a, alice, max_uses=2)
    assert sign_up(browser(), invitation.token, "dora").status_code == 302
    assert post(charlie_client, f"/join/{invitation.token}/", page="/gallery/").status_code == 302
    assert sign_up(browser(), invitation.token, "ed").status_code == 404
    invitation.refresh_from_db()
    assert invitation.uses == 2 and sorted(team_a.memberships.values_list("user__username", flat=True)) == [
        "alice", "charlie", "dora"]


def test_an_accepting_member_is_told_and_uses_nothing(bob_client, bob, alice, team_a):
    invitation = make_invitation(team_a, alice, role=Role.ADMIN)
    response = post(bob_client, f"/join/{invitation.token}/", page="/gallery/")
    assert response.status_code == 302 and response.url == "/gallery/"
    assert "You&#x27;re already in Studio A." in bob_client.get("/gallery/").content.decode()
    invitation.refresh_from_db()
    assert invitation.uses == 0 and team_a.memberships.get(user=bob).role == Role.MEMBER


def test_joining_needs_a_csrf_token(charlie_client, alice, charlie, team_a):
    invitation = make_invitation(team_a, alice)
    assert charlie_client.post(f"/join/{invitation.token}/").status_code == 403
    assert browser().post(f"/join/{invitation.token}/", {"username": "dora", "password1": GOOD_PASSWORD,
                                                        "password2": GOOD_PASSWORD}).status_code == 403
    assert not team_a.memberships.filter(user=charlie).exists()


# --- "add by username" is an invitation ------------------------------------------------------------


def test_an_invitation_by_name_waits_for_the_user_after_sign_in(alice_client, alice, charlie, team_a):
    post(alice_client, "/team/members/add/", {"username": "charlie", "role": "viewer"})
    invitation = team_a.invitations.get()
    client = Client()  # signs in through the form, as a person does
    page = client.post("/accounts/login/", {"username": "charlie", "password": "password-charlie"}, follow=True)
    html = page.content.decode()
    assert "alice invites you to join Studio A as viewer." in html
    assert f'href="/join/{invitation.token}/"' in html
    assert not team_a.memberships.filter(user=charlie).exists()
    team_page = client.get("/team/").content.decode()  # and on the team page until answered
    assert f'data-invitation-for-me="{invitation.pk}"' in team_page


def test_an_invitation_by_name_is_theirs_alone(alice_client, alice, bob_client, bob, charlie, team_a, django_user_model):
    post(alice_client, "/team/members/add/", {"username": "charlie", "role": "member"})
    invitation = team_a.invitations.get()
    dora = django_user_model.objects.create_user("dora", password=GOOD_PASSWORD)
    dora_client = browser()
    dora_client.force_login(dora)
    assert dora_client.get(f"/join/{invitation.token}/").status_code == 404
    assert post(dora_client, f"/join/{invitation.token}/", page="/gallery/").status_code == 404
    anonymous = browser().get(f"/join/{invitation.token}/").content.decode()
    assert 'name="password1"' not in anonymous and "Sign in to accept it" in anonymous
    assert sign_up(browser(), invitation.token).status_code == 200  # no form to post to: nothing made
    assert not django_user_model.objects.filter(username="dora").exclude(pk=dora.pk).exists()
    assert not team_a.memberships.filter(user__in=[dora, charlie]).exists()


def test_inviting_someone_twice_by_name_says_so(alice_client, alice, charlie, team_a):
    post(alice_client, "/team/members/add/", {"username": "charlie", "role": "member"})
    html = post(alice_client, "/team/members/add/", {"username": "charlie", "role": "admin"}).content.decode()
    assert "charlie is invited already" in html and team_a.invitations.count() == 1


# --- the team a session starts in -----------------------------------------------------------------


def test_a_new_session_starts_in_the_team_chosen_last_not_the_first_by_name(alice, charlie, django_user_model):
    aaa = Team.objects.create(name="AAA first by name")
    Membership.objects.create(team=aaa, user=charlie, role=Role.VIEWER)
    assert sorted(charlie.teams.values_list("name", flat=True))[0] == "AAA first by name"
    client = browser()
    client.login(username="charlie", password="password-charlie")
    assert client.get("/gallery/").context["request"].team.name == "Outsiders"  # joined first
    client.get("/gallery/")
    post(client, "/teams/switch/", {"team": aaa.pk}, page="/gallery/")
    later = browser()
    later.login(username="charlie", password="password-charlie")
    assert later.get("/gallery/").context["request"].team == aaa  # chosen last


def test_joining_makes_the_team_the_one_chosen_last(alice, charlie, charlie_client, team_a):
    invitation = make_invitation(team_a, alice)
    post(charlie_client, f"/join/{invitation.token}/", page="/gallery/")
    later = browser()
    later.login(username="charlie", password="password-charlie")
    assert later.get("/gallery/").context["request"].team == team_a


# --- members removed are recorded ------------------------------------------------------------------


def test_members_removed_and_leaving_are_recorded(alice_client, bob_client, alice, bob, charlie, team_a):
    Membership.objects.create(team=team_a, user=charlie, role=Role.VIEWER)
    post(alice_client, f"/team/members/{team_a.memberships.get(user=charlie).pk}/remove/")
    post(bob_client, f"/team/members/{team_a.memberships.get(user=bob).pk}/remove/")
    assert actions(team_a) == [("member-removed", "charlie"), ("member-left", "bob")]
