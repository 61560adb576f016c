"""Sign-in throttling (django-axes): 5 wrong passwords for one username within 15 minutes lock
that username for 15 minutes, the right password too; one address may fail 30 times; the sign-in
form, the admin's and password change's old password all count; staff lift a lock in the admin;
a username's lock never stops another user. Runs on PostgreSQL and SQLite alike."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from tests.studio_helpers import csrf_post

OFFICE = "192.0.2.10"  # documentation addresses: REMOTE_ADDR only, nothing is sent anywhere
HOME = "198.51.100.7"


def sign_in(username, password, address=OFFICE, path="/accounts/login/", client=None):
    client = client or Client()
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(username, times, address=OFFICE, path="/accounts/login/"):
    return [sign_in(username, "wrong-password", address, path).status_code for _ in range(times)]


def locked_until(response):
    import re
    from datetime import datetime

    found = re.search(r'data-locked-until="([^"]+)"', response.content.decode())
    return datetime.fromisoformat(found.group(1)) if found else None


def age_attempts(**delta):
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(**delta))


def test_four_wrong_passwords_say_so_and_the_right_one_still_works(alice):
    assert fail("alice", 4) == [200] * 4
    assert sign_in("alice", "password-alice").status_code == 302


def test_the_fifth_wrong_password_locks_the_username_even_for_the_right_one(alice):
    assert fail("alice", 5) == [200] * 4 + [429]
    response = sign_in("alice", "password-alice")
    html = response.content.decode()
    assert response.status_code == 429 and "_auth_user_id" not in response.client.session
    assert "Too many wrong passwords" in html and "Try again after" in html and "in about 15 minutes" in html
    until = locked_until(response)
    assert abs(until - (timezone.now() + timedelta(minutes=15))) < timedelta(minutes=1)
    assert "password-alice" not in html


def test_a_lock_never_stops_other_users(alice, bob):
    fail("alice", 5)
    assert sign_in("bob", "password-bob").status_code == 302  # same address, another user
    assert sign_in("alice", "password-alice", address=HOME).status_code == 429  # the username is locked anywhere


def test_the_lock_ends_after_15_minutes(alice):
    fail("alice", 5)
    age_attempts(minutes=15, seconds=1)
    assert sign_in("alice", "password-alice").status_code == 302


def test_tries_while_locked_dont_stretch_the_lock(alice):
    fail("alice", 5)
    first = locked_until(sign_in("alice", "password-alice"))
    age_attempts(minutes=10)
    fail("alice", 3)
    assert AccessAttempt.objects.get().failures_since_start == 5
    age_attempts(minutes=15, seconds=1)
    assert first is not None and sign_in("alice", "password-alice").status_code == 302


def test_failures_older_than_15_minutes_dont_count(alice):
    fail("alice", 4)
    age_attempts(minutes=16)
    assert fail("alice", 1) == [200]
    assert sign_in("alice", "password-alice").status_code == 302


def test_one_address_may_fail_30_times(alice, bob, django_user_model):
    names = [f"user{n}" for n in range(10)]
    for name in names:
        django_user_model.objects.create_user(name, password="pw-" + name + "-long")
    for n in range(29):  # at most 3 per username: no username lock
        assert sign_in(names[n % 10], "wrong-password").status_code == 200
    assert sign_in("bob", "password-bob").status_code == 302  # an office keeps working
    assert sign_in("user9", "wrong-password").status_code == 429  # the 30th locks the address...
    assert sign_in("bob", "password-bob").status_code == 429
    assert sign_in("bob", "password-bob", address=HOME).status_code == 302  # ...and only it


def test_the_admins_sign_in_is_throttled_too(alice):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    assert fail("alice", 5, path="/admin/login/") == [200] * 4 + [429]
    assert sign_in("alice", "password-alice", path="/admin/login/").status_code == 429
    assert sign_in("alice", "password-alice").status_code == 429  # one count for both forms


def test_password_changes_old_password_is_throttled(alice_client, alice):
    def change(old):
        return csrf_post(alice_client, "/accounts/password_change/", {
            "old_password": old, "new_password1": "a-new-long-secret-94", "new_password2": "a-new-long-secret-94"},
            page="/accounts/password_change/", REMOTE_ADDR=OFFICE)

    codes = [change("wrong-password").status_code for _ in range(5)]
    assert codes == [200] * 4 + [429]
    assert change("password-alice").status_code == 429  # locked: not even the right one
    alice.refresh_from_db()
    assert alice.check_password("password-alice")
    assert sign_in("alice", "password-alice").status_code == 429  # the same lock as the sign-in form
    # what axes keeps of the failed requests has no password in it
    kept = " ".join(AccessAttempt.objects.values_list("post_data", flat=True))
    assert "wrong-password" not in kept and "a-new-long-secret" not in kept


def test_password_change_with_the_right_old_password_still_works(alice_client, alice):
    response = csrf_post(alice_client, "/accounts/password_change/", {
        "old_password": "password-alice", "new_password1": "a-new-long-secret-94",
        "new_password2": "a-new-long-secret-94"}, page="/accounts/password_change/")
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a-new-long-secret-94")


def test_staff_lift_a_lock_in_the_admin(alice, django_user_model):
    boss = django_user_model.objects.create_superuser("boss", "boss@example.org", "boss-password-long-1")
    fail("alice", 5)
    admin = Client()
    admin.force_login(boss)
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "alice" in listing.content.decode()
    attempt = AccessAttempt.objects.get(username="alice")
    response = admin.post("/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": [attempt.pk],
                                                          "post": "yes"})
    assert response.status_code == 302 and not AccessAttempt.objects.exists()
    assert sign_in("alice", "password-alice").status_code == 302


def test_a_clients_own_forwarded_for_is_ignored(alice, bob, settings):
    settings.BEHIND_PROXY = False
    client = Client()
    for n in range(30):
        client.post("/accounts/login/", {"username": f"nobody{n % 10}", "password": "x"}, REMOTE_ADDR=OFFICE,
                    HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {OFFICE}
    assert sign_in("bob", "password-bob").status_code == 429  # the address is what counted


def test_behind_our_proxy_the_address_it_appended_counts(alice, settings):
    settings.BEHIND_PROXY = True
    Client().post("/accounts/login/", {"username": "alice", "password": "x"}, REMOTE_ADDR="127.0.0.1",
                  HTTP_X_FORWARDED_FOR=f"203.0.113.99, {HOME}")
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [HOME]


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_the_locked_page_renders_for_a_signed_out_visitor(alice, path):
    fail("alice", 5, path=path)
    response = sign_in("alice", "password-alice", path=path)
    assert response.status_code == 429 and 'href="/accounts/login/"' in response.content.decode()
