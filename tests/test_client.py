"""The client library against the sandbox over real HTTP: creates, queries, cancels, path styles, auth, faults."""

import re
from datetime import datetime
from unittest import mock

import pytest
import requests
from sandbox_fixtures import client_for, image_uri, unique_key, wait_for
from urllib3.exceptions import ProtocolError

from vidu_web.vidu import ViduError

ID = re.compile(r"^\d{18}$")
FRAME = "https://example.com/frame.png"


def finished(client, task_id, timeout=5.0):
    return wait_for(lambda: (task := client.query(task_id)).is_final and task, timeout)


def test_text2video_runs_to_a_downloadable_video(sandbox):
    client = client_for(sandbox)
    created = client.text2video(model="viduq2", prompt="a fox in the snow", duration=5, payload="job-1")
    assert ID.match(created.task_id) and created.state == "created"
    assert isinstance(created.credits, int) and created.credits > 0 and created.seed > 0
    assert datetime.fromisoformat(created.created_at.replace("Z", "+00:00")).tzinfo is not None

    task = finished(client, created.task_id)
    assert (task.id, task.state, task.err_code, task.payload, task.progress) == (created.task_id, "success", "", "job-1", 100)
    [creation] = task.creations
    assert ID.match(creation.id) and creation.watermarked_url == ""
    video = requests.get(creation.url, timeout=5)
    assert video.status_code == 200 and video.headers["Content-Type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp" and len(video.content) == int(video.headers["Content-Length"]) > 5000
    cover = requests.get(creation.cover_url, timeout=5)
    assert cover.status_code == 200 and cover.content[:3] == b"\xff\xd8\xff"
    assert creation.video.width and creation.video.height and creation.video.duration > 0


def test_img2video_with_a_data_uri(sandbox):
    client = client_for(sandbox)
    created = client.img2video(model="viduq2-pro", images=[image_uri()], prompt="it starts to rain", duration=4)
    assert created.raw["duration"] == 4 and "aspect_ratio" not in created.raw
    assert finished(client, created.task_id).state == "success"


def test_start_end2video_with_two_frames(sandbox):
    client = client_for(sandbox)
    created = client.start_end2video(model="viduq3-turbo", images=[image_uri(), image_uri(color=(0, 0, 0))],
                                     resolution="1080p")
    assert created.raw["resolution"] == "1080p" and created.raw["audio"] is True  # q3 speaks by default
    assert finished(client, created.task_id).state == "success"


def test_reference2video_with_three_references_on_vidu2_0(sandbox):
    client = client_for(sandbox)
    created = client.reference2video(model="vidu2.0", images=[FRAME] * 3, prompt="the same cat, dancing",
                                     aspect_ratio="9:16", duration=8, resolution="720p")
    assert created.raw["aspect_ratio"] == "9:16"
    task = finished(client, created.task_id)
    video = task.creations[0].video
    assert video.height > video.width  # a portrait clip for a portrait request


def test_credits_follow_model_length_and_resolution(sandbox):
    client = client_for(sandbox)
    short = client.text2video(model="viduq2", prompt="x", duration=2, resolution="540p").credits
    long = client.text2video(model="viduq2", prompt="x", duration=8, resolution="540p").credits
    sharp = client.text2video(model="viduq2", prompt="x", duration=8, resolution="1080p").credits
    assert short < long < sharp


@pytest.mark.parametrize(("prefix", "scheme"), [("/ent/v2", "Token"), ("/ent/v2", "Bearer"), ("/v2", "Token"),
                                                ("/v2", "Bearer")])
def test_both_path_styles_and_auth_schemes(sandbox, prefix, scheme):
    key = unique_key()
    client = client_for(sandbox, key, prefix=prefix, scheme=scheme)
    created = client.text2video(model="viduq1", prompt="x", payload=f"{prefix}-{scheme}")
    # the other spelling reaches the same task: the key, not the scheme, owns it
    other = client_for(sandbox, key, prefix="/v2" if prefix == "/ent/v2" else "/ent/v2",
                       scheme="Bearer" if scheme == "Token" else "Token")
    assert other.query(created.task_id).payload == f"{prefix}-{scheme}"
    assert sandbox.counts() == {f"{prefix}-{scheme}": 1}


def test_another_key_does_not_see_the_task(sandbox):
    created = client_for(sandbox).text2video(model="viduq2", prompt="x")
    with pytest.raises(ViduError) as caught:
        client_for(sandbox).query(created.task_id)
    assert (caught.value.status, caught.value.reason, caught.value.retryable) == (404, "TaskNotFound", False)


def test_a_billing_model_name_is_sent_when_the_provider_spells_it_so(sandbox):
    client = client_for(sandbox, model_format="{model}-{resolution}-{duration}s")
    created = client.img2video(model="viduq2-turbo", images=[FRAME])  # length and resolution left to defaults
    assert created.raw["model"] == "viduq2-turbo-720p-5s"
    assert created.credits == 130  # the DataEyes example's price for that name
    explicit = client.img2video(model="viduq2-turbo", images=[FRAME], duration=3, resolution="1080p")
    assert explicit.raw["model"] == "viduq2-turbo-1080p-3s" and explicit.raw["duration"] == 3


def test_cancel_before_scheduling(sandbox):
    client = client_for(sandbox)
    created = client.text2video(model="viduq2", prompt="x", off_peak=True)
    client.cancel(created.task_id)
    task = finished(client, created.task_id)
    assert (task.state, task.err_code, task.credits, task.creations) == ("failed", "UserCancelled", created.credits, ())


def test_cancel_too_late_is_a_final_error(sandbox):
    client = client_for(sandbox)
    created = client.text2video(model="viduq2", prompt="x")
    wait_for(lambda: client.query(created.task_id).state in ("processing", "success"))
    with pytest.raises(ViduError) as caught:
        client.cancel(created.task_id)
    error = caught.value
    assert (error.status, error.message, error.retryable) == (400, "task state is scheduled, can not cancel", False)


def test_validation_errors_come_back_as_vidus_reasons(sandbox):
    client = client_for(sandbox)
    with pytest.raises(ViduError) as caught:
        client.img2video(model="viduq2", images=[FRAME])
    assert (caught.value.status, caught.value.reason) == (400, "FieldInvalid")
    assert "Vidu Q2" in caught.value.message
    with pytest.raises(ValueError):
        client.create("upscale", {"model": "viduq2"})


def test_a_failed_task_reports_its_err_code(sandbox):
    client = client_for(sandbox)
    created = client.text2video(model="viduq2", prompt="a fox [fail:CreationPolicyViolation]")
    task = finished(client, created.task_id)
    assert (task.state, task.err_code, task.creations) == ("failed", "CreationPolicyViolation", ())


# -- faults ----------------------------------------------------------------------------------


def test_connection_refused_is_retryable_and_nothing_was_sent():
    client = client_for(type("Nowhere", (), {"url": "http://127.0.0.1:9"})())
    with pytest.raises(ViduError) as caught:
        client.text2video(model="viduq2", prompt="x")
    error = caught.value
    assert (error.status, error.retryable, error.outcome_unknown) == (0, True, False)


def test_a_read_timeout_on_create_leaves_the_outcome_unknown(sandbox):
    sandbox.configure(fault_rate=1.0, fault_kinds=["hang"], hang_seconds=2.0)
    client = client_for(sandbox, timeout=(1.0, 0.4))
    with pytest.raises(ViduError) as caught:
        client.text2video(model="viduq2", prompt="x", payload="hang-1")
    error = caught.value
    assert (error.reason, error.retryable, error.outcome_unknown) == ("Timeout", True, True)
    assert sandbox.counts() == {"hang-1": 1}  # it was created: sending it again would make two


def test_a_read_timeout_on_query_is_retryable(sandbox):
    client = client_for(sandbox, timeout=(1.0, 0.4))
    created = client.text2video(model="viduq2", prompt="x")
    sandbox.configure(fault_rate=1.0, fault_kinds=["hang"], hang_seconds=2.0)
    with pytest.raises(ViduError) as caught:
        client.query(created.task_id)
    assert caught.value.retryable
    sandbox.configure(fault_rate=0)
    assert client.query(created.task_id).id == created.task_id


def test_broken_json_after_a_create_leaves_the_outcome_unknown(sandbox):
    sandbox.configure(fault_rate=1.0, fault_kinds=["badjson"])
    with pytest.raises(ViduError) as caught:
        client_for(sandbox).text2video(model="viduq2", prompt="x", payload="broken-1")
    assert caught.value.outcome_unknown and caught.value.retryable
    assert sandbox.counts() == {"broken-1": 1}


@pytest.mark.parametrize(("kind", "status", "reason", "retry_after"), [("429", 429, "TooManyRequests", 1.0),
                                                                       ("500", 500, "InternalServiceFailure", None)])
def test_429_and_500_come_before_anything_is_created(sandbox, kind, status, reason, retry_after):
    sandbox.configure(fault_rate=1.0, fault_kinds=[kind])
    with pytest.raises(ViduError) as caught:
        client_for(sandbox).text2video(model="viduq2", prompt="x", payload="p")
    error = caught.value
    assert (error.status, error.reason, error.retryable, error.outcome_unknown) == (status, reason, True, False)
    assert error.retry_after == retry_after
    assert sandbox.counts() == {}


# Faults the sandbox can't produce: patched at the one choke point, the session.

def _raising(exc):
    return mock.patch.object(requests.Session, "request", side_effect=exc)


def test_a_connect_timeout_is_retryable_and_nothing_was_sent(sandbox):
    with _raising(requests.ConnectTimeout("connect timed out")), pytest.raises(ViduError) as caught:
        client_for(sandbox).text2video(model="viduq2", prompt="x")
    assert (caught.value.retryable, caught.value.outcome_unknown) == (True, False)


def test_a_connection_dropped_mid_request_leaves_the_outcome_unknown(sandbox):
    dropped = requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))
    with _raising(dropped), pytest.raises(ViduError) as caught:
        client_for(sandbox).text2video(model="viduq2", prompt="x")
    assert (caught.value.retryable, caught.value.outcome_unknown) == (True, True)


def _answer(status, body):
    response = requests.Response()
    response.status_code, response._content = status, body
    return mock.patch.object(requests.Session, "request", return_value=response)


def test_a_create_that_answers_failed_is_a_failure(sandbox):
    body = b'{"task_id": "123456789012345678", "state": "failed", "err_code": "ModelUnavailable"}'
    with _answer(200, body), pytest.raises(ViduError) as caught:
        client_for(sandbox).text2video(model="viduq2", prompt="x")
    assert (caught.value.reason, caught.value.retryable) == ("ModelUnavailable", False)


def test_a_create_answer_without_task_id_leaves_the_outcome_unknown(sandbox):
    with _answer(200, b'{"state": "created"}'), pytest.raises(ViduError) as caught:
        client_for(sandbox).text2video(model="viduq2", prompt="x")
    assert caught.value.outcome_unknown


def test_every_request_has_a_timeout_and_json_headers(sandbox):
    client = client_for(sandbox, timeout=(1.5, 4.0))
    with mock.patch.object(requests.Session, "request", wraps=client.session.request) as spy:
        client.text2video(model="viduq2", prompt="x")
    kwargs = spy.call_args.kwargs
    assert kwargs["timeout"] == (1.5, 4.0)
    assert kwargs["headers"]["Content-Type"] == "application/json"
    assert kwargs["headers"]["Authorization"].startswith("Token ")


@pytest.mark.parametrize(("prefix", "scheme"), [("/ent/v2", "Token"), ("/v2", "Bearer")])
def test_typed_requests_for_extend_upscale_and_keyframes(sandbox, prefix, scheme):
    from vidu_web.vidu import ExtendRequest, KeyFrame, MultiframeRequest, UpscaleRequest

    client = client_for(sandbox, prefix=prefix, scheme=scheme)
    source = client.create("text2video", {"model": "viduq3-turbo", "prompt": "a fox", "duration": 5, "is_rec": True})
    assert source.prompt and source.prompt != "a fox", "the create answer carries the prompt Vidu wrote"
    done = wait_for(lambda: (r := client.query(source.task_id)).state == "success" and r, timeout=15)
    assert done.prompt == source.prompt
    creation = done.creations[0].id
    extended = client.extend(ExtendRequest(model="viduq2-pro", duration=2, resolution="540p",
                                           video_creation_id=creation, end_frame=image_uri()))
    upscaled = client.upscale(UpscaleRequest("4K", video_creation_id=creation))
    keys = (KeyFrame(image_uri(), "first", 2), KeyFrame(image_uri(), "second", 3))
    keyed = client.multiframe(MultiframeRequest(model="viduq2-turbo", start_image=image_uri(), keys=keys))
    for created, seconds in ((extended, 7), (upscaled, 5), (keyed, 5)):
        final = wait_for(lambda c=created: (r := client.query(c.task_id)).state == "success" and r, timeout=15)
        assert final.creations[0].video.duration == seconds
    with pytest.raises(ViduError) as refused:
        client.upscale(UpscaleRequest("2K", video_creation_id=upscaled.task_id))
    assert refused.value.status in (400, 404) and not refused.value.retryable
