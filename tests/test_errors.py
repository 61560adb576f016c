"""Vidu's errors (vidu-api.md §6) as ViduError: reason, retryable, Retry-After; and the API key never shows."""

import logging
import traceback

import pytest
from sandbox_fixtures import client_for

from vidu_web.vidu import ViduError
from vidu_web.vidu.errors import friendly

# vidu-api.md §6, row by row: (status, reason, retryable)
ROWS = [
    *[(400, reason, False) for reason in (
        "BadRequest", "FieldLacking", "FieldUnwanted", "FieldInvalid", "FieldItemCountOutOfRange", "ImageFormatInvalid",
        "ImageDownloadFailure", "CreditInsufficient", "CreationPolicyViolation", "TaskPromptPolicyViolation",
        "AuditSubmitIllegal", "ModelUnavailable", "OperationInProcess")],
    (401, "Unauthorized", False),
    (403, "Forbidden", False),
    (404, "TaskNotFound", False),
    (404, "CreationNotFound", False),
    (409, "Conflict", False),
    *[(429, reason, True) for reason in ("QuotaExceeded", "TooManyRequests", "SystemThrottling")],
    (500, "InternalServiceFailure", True),
    (502, "InternalServiceFailure", True),
    (503, "InternalServiceFailure", True),
]
SECRET = "vda-SECRET-KEY-0123456789abcdef"


def error_body(status, reason, message="something went wrong"):
    return {"code": status, "reason": reason, "message": message, "metadata": {"trace_id": "trace-77"}}


@pytest.mark.parametrize(("status", "reason", "retryable"), ROWS)
def test_every_row_maps_to_its_reason_and_retry_rule(status, reason, retryable):
    error = ViduError.from_response(status, error_body(status, reason))
    assert (error.status, error.reason, error.retryable) == (status, reason, retryable)
    assert error.trace_id == "trace-77" and error.message == "something went wrong"
    assert not error.outcome_unknown
    assert reason in str(error) and "trace-77" in str(error)


@pytest.mark.parametrize(("status", "retryable"), [(400, False), (401, False), (403, False), (404, False), (409, False),
                                                   (429, True), (500, True), (504, True)])
def test_a_body_that_is_not_vidus_still_gets_a_reason(status, retryable):
    error = ViduError.from_response(status, "<html>Bad Gateway</html>")
    assert error.reason and error.retryable is retryable


@pytest.mark.parametrize(("header", "expected"), [("1", 1.0), ("2.5", 2.5), ("0", 0.0), ("-3", 0.0), (None, None),
                                                  ("Wed, 21 Oct 2015 07:28:00 GMT", None), ("soon", None)])
def test_retry_after(header, expected):
    assert ViduError.from_response(429, error_body(429, "TooManyRequests"), header).retry_after == expected


def test_no_answer_at_all_is_retryable():
    assert ViduError(0, "ConnectionError", "refused").retryable


def test_long_messages_are_cut():
    assert len(ViduError.from_response(400, error_body(400, "BadRequest", "x" * 5000)).message) == 500


@pytest.mark.parametrize(("reason", "words"), [("CreditInsufficient", "out of credits"), ("Unauthorized", "VIDU_API_KEY"),
                                               ("UserCancelled", "Cancelled"), ("NewThing", "NewThing")])
def test_friendly_words_for_creators(reason, words):
    assert words in friendly(reason)


def test_friendly_keeps_vidus_message_for_field_errors():
    assert "duration: bad" in ViduError(400, "FieldInvalid", "duration: bad").friendly


@pytest.mark.parametrize(("status", "reason", "retryable"), ROWS[:-2])  # 502/503 are the same reason as 500
def test_every_row_over_http(sandbox, status, reason, retryable):
    client = client_for(sandbox)
    with pytest.raises(ViduError) as caught:
        client.text2video(model="viduq2", prompt=f"a fox [reject:{reason}]")
    error = caught.value
    assert (error.status, error.reason, error.retryable, error.outcome_unknown) == (status, reason, retryable, False)
    assert error.trace_id
    if status == 429:
        assert error.retry_after == 1.0
    assert sandbox.counts() == {}  # refused creates create nothing


def test_the_api_key_never_shows(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    client = client_for(sandbox, SECRET, timeout=(1.0, 0.5))
    errors = []

    def collect(call, *args, **kwargs):
        with pytest.raises(ViduError) as caught:
            call(*args, **kwargs)
        errors.append(caught.value)

    collect(client.text2video, model="viduq2", prompt="")  # 400 from validation
    collect(client.text2video, model="viduq2", prompt="x [reject:Unauthorized]")
    collect(client.query, "123456789012345678")  # 404
    collect(client.cancel, "123456789012345678")
    task_id = client.text2video(model="viduq2", prompt="x").task_id
    sandbox.configure(fault_rate=1.0, fault_kinds=["badjson"])
    collect(client.query, task_id)  # unreadable 200, logged
    sandbox.configure(fault_kinds=["hang"], hang_seconds=1.5)
    collect(client.text2video, model="viduq2", prompt="x")  # read timeout
    sandbox.configure(fault_kinds=["500"])
    collect(client.text2video, model="viduq2", prompt="x")
    closed = client_for(_Closed(), SECRET)
    collect(closed.query, "1")  # connection refused

    assert len(errors) == 8 and any("isn't JSON" in r.getMessage() for r in caplog.records)
    texts = [caplog.text, repr(client), str(client.__dict__), repr(closed)]
    for error in errors:
        texts += [str(error), repr(error), error.message, error.friendly, "".join(traceback.format_exception(error))]
    leaks = [text for text in texts if SECRET in text]
    assert leaks == []


class _Closed:
    """A base URL where nothing listens."""

    url = "http://127.0.0.1:9"


def test_the_api_key_is_not_on_the_debug_page_of_a_vidu_error(sandbox):
    # Django's error page (and its error mails) print every frame's local variables.
    from django.views.debug import ExceptionReporter

    client = client_for(sandbox, SECRET, timeout=(1.0, 0.5))
    for call, args in ((client.query, ("123456789012345678",)), (client.cancel, ("123456789012345678",))):
        with pytest.raises(ViduError) as caught:
            call(*args)
        error = caught.value
        page = ExceptionReporter(None, type(error), error, error.__traceback__).get_traceback_html()
        assert "_call" in page and SECRET not in page
