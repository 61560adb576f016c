"""The callback signature of vidu-api.md §5: signing, verifying, and every way a forgery must fail."""

import base64
import hashlib
import hmac
import time
from email.utils import formatdate

import pytest

from vidu_web.vidu.signing import NonceCache, SignatureError, sign, signing_string, verify

KEY = "vda_test_0123456789abcdef"
URL = "https://studio.example.com/vidu/callback/3f2a/s3cret?team=7&x=1"


def test_the_signature_is_hmac_sha256_of_the_documented_lines():
    now = 1_733_658_613.0
    headers = sign(KEY, URL, now=now, nonce="abc123")
    date = formatdate(now, usegmt=True)
    text = f"POST\n/vidu/callback/3f2a/s3cret\nteam=7&x=1\nvidu\n{date}\nDate:{date}\nx-request-nonce:abc123\n"
    expected = base64.b64encode(hmac.new(KEY.encode(), text.encode(), hashlib.sha256).digest()).decode()
    assert headers == {
        "Date": date,
        "x-request-nonce": "abc123",
        "X-HMAC-SIGNED-HEADERS": "Date;x-request-nonce",
        "X-HMAC-SIGNATURE": expected,
        "X-HMAC-ALGORITHM": "hmac-sha256",
        "X-HMAC-ACCESS-KEY": "vidu",
    }


def test_an_empty_path_signs_as_slash_and_an_empty_query_as_an_empty_line():
    text = signing_string("post", "https://example.com", "D", {"Date": "D"}, ["Date"])
    assert text == "POST\n/\n\nvidu\nD\nDate:D\n"


def test_it_verifies_its_own_signature():
    verify(KEY, URL, sign(KEY, URL))


def test_header_names_are_case_insensitive():
    headers = {k.upper(): v for k, v in sign(KEY, URL).items()}
    verify(KEY, URL, headers)


def test_nonces_are_fresh_each_time():
    assert sign(KEY, URL)["x-request-nonce"] != sign(KEY, URL)["x-request-nonce"]


def test_a_signature_made_with_another_key_is_refused():
    with pytest.raises(SignatureError, match="bad signature"):
        verify(KEY, URL, sign("someone-else", URL))


def test_a_forged_signature_is_refused():
    headers = sign(KEY, URL)
    headers["X-HMAC-SIGNATURE"] = base64.b64encode(b"x" * 32).decode()
    with pytest.raises(SignatureError, match="bad signature"):
        verify(KEY, URL, headers)


@pytest.mark.parametrize("other", [
    "https://studio.example.com/vidu/callback/3f2a/other?team=7&x=1",  # path
    "https://studio.example.com/vidu/callback/3f2a/s3cret?team=8&x=1",  # query
    "https://studio.example.com/vidu/callback/3f2a/s3cret",  # query dropped
])
def test_a_tampered_url_is_refused(other):
    with pytest.raises(SignatureError, match="bad signature"):
        verify(KEY, other, sign(KEY, URL))


def test_a_tampered_nonce_or_date_is_refused():
    headers = sign(KEY, URL)
    with pytest.raises(SignatureError, match="bad signature"):
        verify(KEY, URL, {**headers, "x-request-nonce": "0" * 32})
    with pytest.raises(SignatureError, match="bad signature"):
        verify(KEY, URL, {**headers, "Date": formatdate(time.time() + 1, usegmt=True)})


@pytest.mark.parametrize("skew", [-301, 301, 3600])
def test_a_stale_date_is_refused(skew):
    now = time.time()
    with pytest.raises(SignatureError, match="stale"):
        verify(KEY, URL, sign(KEY, URL, now=now + skew), now=now)


def test_a_date_within_the_allowed_skew_is_accepted():
    now = time.time()
    verify(KEY, URL, sign(KEY, URL, now=now - 200), now=now)


def test_a_replayed_callback_is_refused():
    nonces = NonceCache()
    headers = sign(KEY, URL)
    verify(KEY, URL, headers, nonces=nonces)
    with pytest.raises(SignatureError, match="replayed"):
        verify(KEY, URL, headers, nonces=nonces)
    verify(KEY, URL, sign(KEY, URL), nonces=nonces)  # a new nonce is fine


def test_a_refused_signature_does_not_use_up_the_nonce():
    nonces = NonceCache()
    headers = sign(KEY, URL)
    with pytest.raises(SignatureError):
        verify("wrong-key", URL, headers, nonces=nonces)
    verify(KEY, URL, headers, nonces=nonces)


def test_the_nonce_cache_forgets_after_its_ttl():
    nonces = NonceCache(ttl=10)
    assert nonces.add("n", now=100) and not nonces.add("n", now=105)
    assert nonces.add("other", now=120) and nonces.add("n", now=121)


@pytest.mark.parametrize("missing", ["Date", "x-request-nonce", "X-HMAC-SIGNATURE"])
def test_missing_headers_are_refused(missing):
    headers = sign(KEY, URL)
    del headers[missing]
    with pytest.raises(SignatureError, match="missing"):
        verify(KEY, URL, headers)


def test_date_and_nonce_must_be_among_the_signed_headers():
    headers = sign(KEY, URL)
    headers["X-HMAC-SIGNED-HEADERS"] = "Date"
    with pytest.raises(SignatureError, match="must be signed"):
        verify(KEY, URL, headers)


def test_other_algorithms_and_unreadable_dates_are_refused():
    with pytest.raises(SignatureError, match="algorithm"):
        verify(KEY, URL, {**sign(KEY, URL), "X-HMAC-ALGORITHM": "hmac-md5"})
    with pytest.raises(SignatureError, match="Date"):
        verify(KEY, URL, {**sign(KEY, URL), "Date": "yesterday"})


def test_the_method_is_signed():
    with pytest.raises(SignatureError, match="bad signature"):
        verify(KEY, URL, sign(KEY, URL, method="GET"))
