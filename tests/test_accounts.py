"""Accounts: which passwords are accepted, and that password reset exists only with email."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse


def test_an_all_digit_password_is_refused(db):
    with pytest.raises(ValidationError) as caught:
        validate_password("83927561")
    assert "entirely numeric" in " ".join(caught.value.messages)


@pytest.mark.parametrize("password, reason", [("short1", "too short"), ("password", "too common")])
def test_the_other_validators_still_apply(db, password, reason):
    with pytest.raises(ValidationError) as caught:
        validate_password(password)
    assert reason in " ".join(caught.value.messages)


def test_a_good_password_passes(db):
    validate_password("quiet-harbour-lantern-83")


@pytest.mark.parametrize("path", ["/accounts/password_reset/", "/accounts/password_reset/done/", "/accounts/reset/done/",
                                  "/accounts/reset/MQ/set-password/"])
def test_password_reset_urls_answer_404_without_email(client, db, settings, mailoutbox, path):
    settings.EMAIL_ENABLED = False
    assert client.get(path).status_code == 404
    assert client.post(path, {"email": "alice@example.org"}).status_code == 404
    assert mailoutbox == []


def test_sign_in_pages_offer_no_reset_without_email(client, db, settings):
    settings.EMAIL_ENABLED = False
    for path in ("/accounts/login/", "/admin/login/"):
        html = client.get(path).content.decode()
        assert "reset" not in html.lower() and "forgot" not in html.lower()


def test_sign_in_and_password_change_still_work(alice_client):
    assert alice_client.get(reverse("password_change")).status_code == 200
    assert reverse("login") == "/accounts/login/" and reverse("logout") == "/accounts/logout/"


def test_the_readmes_admin_recipe_makes_a_user_who_can_open_the_admin(db, client, settings, monkeypatch):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    readme = (settings.BASE_DIR / "README.md").read_text()
    assert "manage.py createsuperuser" in readme
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "quiet-harbour-lantern-83")
    call_command("createsuperuser", interactive=False, username="boss", email="boss@example.org", verbosity=0)
    assert client.login(username="boss", password="quiet-harbour-lantern-83")
    assert client.get("/admin/").status_code == 200
    # ...while the demo user is not staff, which is why the README says so
    settings.DEBUG, settings.SANDBOX_MODE = True, True
    call_command("ensure_demo", verbosity=0)
    assert not get_user_model().objects.get(username="demo").is_staff


# --- password reset, when email is configured ---------------------------------------------------


@pytest.fixture
def with_email(settings):
    settings.EMAIL_ENABLED = True
    return settings


def reset(client, email, address="192.0.2.10"):
    from tests.studio_helpers import csrf_post

    return csrf_post(client, "/accounts/password_reset/", {"email": email}, page="/accounts/password_reset/",
                     REMOTE_ADDR=address)


def test_the_sign_in_page_offers_a_reset_with_email(client, db, with_email):
    assert 'href="/accounts/password_reset/"' in client.get("/accounts/login/").content.decode()


def test_a_reset_mails_a_link_that_sets_a_new_password(alice, with_email, mailoutbox):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = reset(client, "alice@example.org")
    assert response.status_code == 302 and response.url == "/accounts/password_reset/done/"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["alice@example.org"]
    link = next(line for line in mailoutbox[0].body.splitlines() if "/accounts/reset/" in line).strip()
    form = client.get(link.removeprefix("http://testserver"), follow=True)
    assert form.status_code == 200 and 'name="new_password1"' in form.content.decode()
    from tests.studio_helpers import csrf_post

    done = csrf_post(client, form.redirect_chain[-1][0], {"new_password1": "quiet-harbour-lantern-83",
                                                          "new_password2": "quiet-harbour-lantern-83"})
    assert done.status_code == 302 and done.url == "/accounts/reset/done/"
    alice.refresh_from_db()
    assert alice.check_password("quiet-harbour-lantern-83")


def test_an_unknown_address_reads_the_same_and_sends_nothing(client, db, with_email, mailoutbox):
    response = reset(client, "nobody@example.org")
    assert response.status_code == 302 and response.url == "/accounts/password_reset/done/"
    assert mailoutbox == []


def test_resets_are_throttled_per_address_typed(alice, client, with_email, mailoutbox):
    codes = [reset(client, "ALICE@example.org", address=f"192.0.2.{n}").status_code for n in range(4)]
    assert codes == [302, 302, 302, 429]
    assert len(mailoutbox) == 3
    assert "Too many reset requests" in reset(client, "alice@example.org", address="192.0.2.99").content.decode()


def test_resets_are_throttled_per_client(db, client, with_email, mailoutbox):
    codes = [reset(client, f"someone{n}@example.org").status_code for n in range(11)]
    assert codes == [302] * 10 + [429]
    assert reset(client, "fresh@example.org", address="198.51.100.7").status_code == 302  # another client


def test_a_bad_reset_link_says_so(client, db, with_email):
    html = client.get("/accounts/reset/MQ/bad-token/", follow=True).content.decode()
    assert "This link doesn" in html
