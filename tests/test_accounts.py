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
