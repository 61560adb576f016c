"""The pipeline in one process, over real HTTP to the sandbox: submit, sweep, archive."""

import logging
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image
from pipeline_helpers import pipeline, reload, state_of, sweep_until, text_task  # noqa: F401

from vidu_web.studio import archive, providers, services, submission
from vidu_web.studio.models import OUTCOME_UNKNOWN, OUTCOME_UNKNOWN_TEXT, Creation, GenerationTask, State, TaskEvent
from vidu_web.studio.providers.vidu import answer
from vidu_web.vidu.types import Creation as VideoCreation
from vidu_web.vidu.types import TaskResult

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("pipeline")]


def png(width=256, height=256, fmt="PNG"):
    import io

    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 140, 90)).save(out, fmt)
    return out.getvalue()


def test_a_task_goes_from_pending_to_an_archived_video(sandbox, team_a, alice):
    task = text_task(team_a, alice)
    task = reload(task)
    assert task.state == State.QUEUED
    assert task.upstream_id and task.credits is not None
    sweep_until(lambda: state_of(task) == State.SUCCEEDED)

    task = reload(task)
    creation = task.creations.get()
    assert creation.video and creation.cover and creation.archived_at
    with default_storage.open(creation.video.name) as f:
        assert f.read(12)[4:8] == b"ftyp"
    with default_storage.open(creation.cover.name) as f:
        assert f.read(3) == b"\xff\xd8\xff"
    assert creation.video_bytes == default_storage.size(creation.video.name)
    assert creation.width and creation.fps
    assert task.progress == 100
    states = list(task.events.values_list("state", flat=True))
    assert states == ["pending", "submitting", "queued", "processing", "archiving", "succeeded"]
    assert task.submitted_at and task.started_at and task.finished_at
    assert sandbox.counts() == {str(task.uuid): 1}


def test_an_image_task_sends_its_images_as_data_uris(sandbox, team_a, alice):
    task = services.create_task(team_a, alice, "img2video", {"model": "viduq2-turbo", "prompt": "it wakes"}, [png()])
    sweep_until(lambda: state_of(task) == State.SUCCEEDED)
    assert sandbox.counts() == {str(task.uuid): 1}


def test_a_large_image_is_scaled_down_to_fit_the_body_limit(team_a, alice):
    import io

    noisy = Image.effect_noise((3000, 3000), 80).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "PNG")
    assert len(out.getvalue()) > 6 * 2**20
    task = services.create_task(team_a, alice, "reference2video", {"model": "viduq2", "prompt": "p"},
                                [out.getvalue()] * 3)
    task = reload(task)
    body = providers.for_task(task).build_request(task, [submission._read(i) for i in task.images.all()], "")
    assert sum(len(uri) for uri in body["images"]) < 20 * 2**20
    assert all(uri.startswith("data:image/") for uri in body["images"])


def test_a_failure_marker_ends_it_failed_with_the_reason(sandbox, team_a, alice):
    task = text_task(team_a, alice, prompt="a storm [fail:CreationPolicyViolation]")
    sweep_until(lambda: state_of(task) == State.FAILED)
    task = reload(task)
    assert task.err_code == "CreationPolicyViolation"
    assert task.error == "The video was blocked by Vidu's content policy."
    assert task.finished_at and not task.creations.exists()


def test_a_refused_create_fails_at_once_in_plain_words(sandbox, team_a, alice):
    task = reload(text_task(team_a, alice, prompt="x [reject:CreditInsufficient]"))
    assert task.state == State.FAILED
    assert task.err_code == "CreditInsufficient"
    assert "out of credits" in task.error
    assert task.attempts == 1


def test_a_throttled_create_backs_off_and_gives_up_after_bounded_attempts(sandbox, team_a, alice,
                                                                       settings):
    settings.PIPELINE_SUBMIT_ATTEMPTS = 3
    task = text_task(team_a, alice, prompt="x [reject:QuotaExceeded]")
    first = reload(task)
    assert first.state == State.PENDING and first.attempts == 1 and first.err_code == "QuotaExceeded"
    assert first.next_attempt_at > timezone.now()  # backing off, honouring Retry-After
    sweep_until(lambda: state_of(task) == State.FAILED, timeout=20)
    task = reload(task)
    assert task.attempts == 3
    assert "We tried 3 times" in task.error
    assert sandbox.total_creates() == 0


def test_retryable_create_errors_are_retried_until_it_goes_through(sandbox, team_a, alice):
    sandbox.configure(fault_rate=1.0, fault_kinds=["500"])
    task = text_task(team_a, alice)
    assert state_of(task) == State.PENDING
    sandbox.configure(fault_rate=0.0)
    sweep_until(lambda: state_of(task) == State.SUCCEEDED)
    assert reload(task).attempts == 2
    assert sandbox.counts() == {str(task.uuid): 1}


@pytest.mark.parametrize("kind", ["badjson", "hang"])
def test_a_create_with_an_unknown_outcome_is_never_sent_again(sandbox, team_a, alice, kind, monkeypatch):
    sandbox.configure(fault_rate=1.0, fault_kinds=[kind], hang_seconds=2)
    task = text_task(team_a, alice)
    sandbox.configure(fault_rate=0.0)
    task = reload(task)
    assert task.state == State.FAILED
    assert task.err_code == OUTCOME_UNKNOWN
    assert task.error == OUTCOME_UNKNOWN_TEXT
    # Nothing brings it back: the sweep's chores leave it alone. They do run meanwhile: they
    # send a task whose submission message was lost, and follow it to the end.
    lost = unsent_task(team_a, alice, monkeypatch)
    GenerationTask.objects.filter(pk=lost.pk).update(next_attempt_at=timezone.now())
    sweep_until(lambda: state_of(lost) == State.SUCCEEDED)
    assert sandbox.counts() == {str(task.uuid): 1, str(lost.uuid): 1}
    assert state_of(task) == State.FAILED


def unsent_task(team, user, monkeypatch):
    """A task whose submission message was lost."""
    with monkeypatch.context() as m:
        m.setattr("vidu_web.studio.jobs.submit", lambda task_id: None)
        return text_task(team, user)


def test_a_worker_that_died_before_sending_is_replaced(sandbox, team_a, alice, monkeypatch):
    task = unsent_task(team_a, alice, monkeypatch)
    # As a worker killed between its claim and the request leaves it:
    GenerationTask.objects.filter(pk=task.pk).update(state=State.SUBMITTING, lease_until=timezone.now(),
                                                     next_attempt_at=None)
    sweep_until(lambda: state_of(task) == State.SUCCEEDED)
    assert sandbox.counts() == {str(task.uuid): 1}


def test_a_worker_that_died_after_sending_is_not_resent(sandbox, team_a, alice, monkeypatch):
    task = unsent_task(team_a, alice, monkeypatch)
    GenerationTask.objects.filter(pk=task.pk).update(state=State.SUBMITTING, lease_until=timezone.now(),
                                                     create_sent_at=timezone.now(), next_attempt_at=None)
    sweep_until(lambda: state_of(task) == State.FAILED)
    assert reload(task).err_code == OUTCOME_UNKNOWN
    assert sandbox.total_creates() == 0


def test_a_lost_submission_message_is_enqueued_again(sandbox, team_a, alice, monkeypatch):
    task = unsent_task(team_a, alice, monkeypatch)
    assert state_of(task) == State.PENDING
    GenerationTask.objects.filter(pk=task.pk).update(next_attempt_at=timezone.now())
    sweep_until(lambda: state_of(task) == State.SUCCEEDED)


def test_malformed_json_while_polling_is_retried_and_the_sweep_lives_on(sandbox, team_a, alice, caplog):
    task = text_task(team_a, alice)
    sandbox.configure(fault_rate=1.0, fault_kinds=["badjson"])
    with caplog.at_level(logging.WARNING):
        sweep_until(lambda: reload(task).poll_failures >= 2)
    assert "isn't JSON" in caplog.text
    assert state_of(task) == State.QUEUED
    sandbox.configure(fault_rate=0.0)
    sweep_until(lambda: state_of(task) == State.SUCCEEDED)
    assert reload(task).poll_failures == 0


def test_a_429_slows_the_whole_sweep_down(sandbox, team_a, alice):
    tasks = [text_task(team_a, alice) for _ in range(3)]
    sandbox.configure(fault_rate=1.0, fault_kinds=["429"])
    GenerationTask.objects.update(next_attempt_at=timezone.now())
    sweep = sweep_until(lambda: GenerationTask.objects.filter(api_calls__gte=2).exists())
    assert sweep.paused_until > 0 and sweep.throttle_level >= 1
    # While paused, it claims nothing.
    sweep.paused_until = float("inf")
    assert sweep.idle_time() <= 1.0
    from concurrent.futures import ThreadPoolExecutor

    calls = sum(GenerationTask.objects.values_list("api_calls", flat=True))
    with ThreadPoolExecutor(2) as pool:
        sweep.dispatch(pool)
    assert not sweep.inflight
    assert sum(GenerationTask.objects.values_list("api_calls", flat=True)) == calls
    assert all(state_of(t) == State.QUEUED for t in tasks)


def test_an_unknown_vidu_state_is_logged_and_treated_as_running(team_a, alice, caplog, monkeypatch):
    task = unsent_task(team_a, alice, monkeypatch)
    GenerationTask.objects.filter(pk=task.pk).update(state=State.PROCESSING, upstream_id="123")
    task = reload(task)
    with caplog.at_level(logging.WARNING):
        task.apply_answer(answer(TaskResult(id="123", state="rendering", payload=str(task.uuid))))
    assert "unknown state 'rendering'" in caplog.text
    task = reload(task)
    assert task.state == State.PROCESSING and task.upstream_state == "rendering"
    assert task.next_attempt_at > timezone.now()


def test_an_answer_about_another_task_changes_nothing(team_a, alice, caplog, monkeypatch):
    task = unsent_task(team_a, alice, monkeypatch)
    GenerationTask.objects.filter(pk=task.pk).update(state=State.PROCESSING, upstream_id="123")
    # A whole success, with a video: were the payload not checked, this would archive it.
    video = VideoCreation(id="c-1", url="https://example.com/v.mp4", cover_url="https://example.com/c.jpg")
    with caplog.at_level(logging.ERROR):
        reload(task).apply_answer(answer(TaskResult(id="123", state="success", payload="someone-else",
                                                    progress=100, creations=(video,))))
    task = reload(task)
    assert (task.state, task.progress, task.upstream_state) == (State.PROCESSING, None, "")
    assert not Creation.objects.filter(task=task).exists()
    assert "not ours; ignored" in caplog.text


def test_expired_urls_are_refreshed_before_the_copy(sandbox, team_a, alice, monkeypatch):
    sandbox.configure(url_ttl=1, cover_ttl=1)
    with monkeypatch.context() as m:
        m.setattr("vidu_web.studio.jobs.archive", lambda task_id: None)
        task = text_task(team_a, alice)
        sweep_until(lambda: state_of(task) == State.ARCHIVING)
    stale = Creation.objects.get(task=task)
    wait = (stale.urls_expire_at - timezone.now()).total_seconds() + 1.1
    import time

    time.sleep(max(0, wait))  # the sandbox signs with whole seconds: let them run out
    calls = reload(task).api_calls
    archive.archive(task.pk)
    task = reload(task)
    assert task.state == State.SUCCEEDED
    assert task.api_calls == calls + 1  # one query for fresh URLs
    assert Creation.objects.get(task=task).url != stale.url


def test_a_copy_refused_as_expired_queries_for_fresh_urls(sandbox, team_a, alice, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr("vidu_web.studio.jobs.archive", lambda task_id: None)
        task = text_task(team_a, alice)
        sweep_until(lambda: state_of(task) == State.ARCHIVING)
    # A URL whose signature no longer matches answers 403, like an expired S3 link.
    creation = Creation.objects.get(task=task)
    Creation.objects.filter(pk=creation.pk).update(url=creation.url.replace("Signature=", "Signature=0"),
                                                   urls_expire_at=timezone.now() + timedelta(hours=1))
    archive.archive(task.pk)
    assert state_of(task) == State.SUCCEEDED


def test_a_video_over_the_size_cap_is_refused(sandbox, team_a, alice, settings):
    settings.PIPELINE_ARCHIVE_MAX_BYTES = 2 * 2**20
    task = text_task(team_a, alice, prompt="long [bigvideo:3]")
    sweep_until(lambda: state_of(task) == State.FAILED)
    task = reload(task)
    assert task.err_code == "ArchiveFailed"
    assert "over our limit of 2 MB" in task.error
    assert not Creation.objects.get(task=task).video


def test_a_file_that_is_not_a_video_is_refused(sandbox, team_a, alice, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr("vidu_web.studio.jobs.archive", lambda task_id: None)
        task = text_task(team_a, alice)
        sweep_until(lambda: state_of(task) == State.ARCHIVING)
    creation = Creation.objects.get(task=task)
    Creation.objects.filter(pk=creation.pk).update(url=creation.cover_url)  # a JPEG where the MP4 should be
    archive.archive(task.pk)
    task = reload(task)
    assert task.state == State.FAILED and "not a file of the expected type" in task.error
    assert not Creation.objects.get(task=task).video
    assert stored_files("videos") == []  # nothing kept, in any videos/%Y/%m/ folder


def stored_files(folder):
    """Every file under ``folder`` in the default storage, however deep."""
    if not default_storage.exists(folder):
        return []
    dirs, files = default_storage.listdir(folder)
    return [f"{folder}/{name}" for name in files] + [path for d in dirs for path in stored_files(f"{folder}/{d}")]


def test_a_failed_copy_is_retried_with_backoff(sandbox, team_a, alice, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr("vidu_web.studio.jobs.archive", lambda task_id: None)
        task = text_task(team_a, alice)
        sweep_until(lambda: state_of(task) == State.ARCHIVING)
    creation = Creation.objects.get(task=task)
    good_url = creation.url
    Creation.objects.filter(pk=creation.pk).update(url="http://127.0.0.1:9/nothing.mp4")  # connection refused
    archive.archive(task.pk)
    task = reload(task)
    assert task.state == State.ARCHIVING and task.lease_until is None and task.next_attempt_at > timezone.now()
    assert Creation.objects.get(pk=creation.pk).archive_attempts == 1
    Creation.objects.filter(pk=creation.pk).update(url=good_url)
    GenerationTask.objects.filter(pk=task.pk).update(next_attempt_at=timezone.now())
    sweep_until(lambda: state_of(task) == State.SUCCEEDED)


def test_every_state_change_writes_an_event_and_its_time(team_a, alice, monkeypatch):
    task = unsent_task(team_a, alice, monkeypatch)
    assert task.set_state(State.CANCELLED, expected=State.PENDING)
    assert not task.set_state(State.SUBMITTING, expected=State.PENDING)  # stale: someone moved it
    task = reload(task)
    assert task.finished_at is not None
    assert list(TaskEvent.objects.filter(task=task).values_list("state", flat=True)) == ["pending", "cancelled"]


def test_an_answer_that_breaks_our_code_is_logged_and_the_sweep_lives_on(sandbox, team_a, alice, monkeypatch, caplog):
    task = text_task(team_a, alice)
    GenerationTask.objects.filter(pk=task.pk).update(next_attempt_at=timezone.now())
    with monkeypatch.context() as m:
        m.setattr("vidu_web.studio.timing.poll_delay", lambda *a, **k: 1 / 0)
        sweep_until(lambda: reload(task).poll_failures >= 1)
    assert "could not apply the provider's answer" in caplog.text
    sweep_until(lambda: state_of(task) == State.SUCCEEDED)


def test_a_storage_error_while_archiving_is_retried_not_fatal(sandbox, team_a, alice, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr("vidu_web.studio.jobs.archive", lambda task_id: None)
        task = text_task(team_a, alice)
        sweep_until(lambda: state_of(task) == State.ARCHIVING)
    with monkeypatch.context() as m:
        m.setattr(default_storage.__class__, "save", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
        archive.archive(task.pk)
    task = reload(task)
    assert task.state == State.ARCHIVING and task.lease_until is None
    assert "unexpected OSError" in Creation.objects.get(task=task).archive_error
    GenerationTask.objects.filter(pk=task.pk).update(next_attempt_at=timezone.now())
    sweep_until(lambda: state_of(task) == State.SUCCEEDED)


def test_a_worker_whose_claim_was_taken_over_never_sends(sandbox, team_a, alice, monkeypatch):
    # Worker A claims and stalls (reading its images, a long GC pause) past its lease; the sweep
    # recovers the task, worker B claims it again. When A wakes up it must not send too.
    task = unsent_task(team_a, alice, monkeypatch)
    stale = reload(task)
    assert stale.claim_for_submit()
    GenerationTask.objects.filter(pk=task.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    reload(task).recover_submit()
    assert state_of(task) == State.PENDING
    fresh = reload(task)
    assert fresh.claim_for_submit()
    assert not stale.mark_create_sent()
    assert fresh.mark_create_sent()


def test_a_worker_whose_lease_ran_out_never_sends(sandbox, team_a, alice, monkeypatch):
    # Its lease ran out, so the sweep may be recovering it right now as "never sent".
    task = unsent_task(team_a, alice, monkeypatch)
    stale = reload(task)
    assert stale.claim_for_submit()
    GenerationTask.objects.filter(pk=task.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert not stale.mark_create_sent()
    assert reload(task).create_sent_at is None


def test_a_create_answer_after_the_task_was_given_up_brings_it_back(sandbox, team_a, alice, monkeypatch):
    # The create took longer than the lease: the sweep gave the task up as "outcome unknown".
    # When Vidu's answer then arrives, the task exists (and is paid for): follow it, don't lose it.
    task = unsent_task(team_a, alice, monkeypatch)
    worker = reload(task)
    assert worker.claim_for_submit()
    assert worker.mark_create_sent()
    GenerationTask.objects.filter(pk=task.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    reload(task).recover_submit()
    assert state_of(task) == State.FAILED
    worker.record_create(providers.Created(id="vidu-late-1", upstream_state="created", credits=20))
    task = reload(task)
    assert (task.state, task.upstream_id, task.credits) == (State.QUEUED, "vidu-late-1", 20)
    assert (task.err_code, task.error, task.finished_at) == ("", "", None)
    assert task.next_attempt_at is not None


def test_with_watermark_on_the_watermarked_copy_is_archived_too(sandbox, team_a, alice):
    task = text_task(team_a, alice, watermark=True)
    sweep_until(lambda: state_of(task) == State.SUCCEEDED)
    creation = reload(task).creations.get()
    assert creation.watermarked_url and creation.watermarked
    with default_storage.open(creation.watermarked.name) as f:
        assert f.read(12)[4:8] == b"ftyp"
    assert creation.watermarked.name != creation.video.name


def test_without_watermark_no_watermarked_copy_is_kept(sandbox, team_a, alice):
    task = text_task(team_a, alice)
    sweep_until(lambda: state_of(task) == State.SUCCEEDED)
    creation = reload(task).creations.get()
    assert not creation.watermarked_url and not creation.watermarked
