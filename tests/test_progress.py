"""Progress on a task card: the usual time (bounded however long the history), a bar that never
moves backwards, a time left only where it can be estimated, and the poll cadence built on them."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.studio_helpers import HTMX, make_task
from vidu_web.studio import progress, timing
from vidu_web.studio.models import GenerationTask, Prompt, State

KIND = dict(model="viduq2", duration=5, resolution="720p")
USUAL = {("viduq2", 5, "720p"): 40.0}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PIPELINE_FAST = False
    settings.VIDU_CALLBACK_BASE_URL = ""
    progress.forget()
    yield
    progress.forget()


def card(client, task):
    """The task's card as the polling request renders it."""
    html = client.get(f"/tasks/progress/?ids={task.uuid}", **HTMX).content.decode()
    return html.split(f'id="task-{task.uuid}"')[1].split("</article>")[0]


def ago(seconds):
    return timezone.now() - timedelta(seconds=seconds)


def past_successes(team, user, n, seconds=40, **kind):
    """``n`` finished tasks of one kind, in one INSERT."""
    prompt = Prompt.objects.create(team=team, author=user, text="history")
    now = timezone.now()
    GenerationTask.objects.bulk_create([
        GenerationTask(team=team, creator=user, prompt=prompt, mode="text2video", provider="sandbox",
                       state=State.SUCCEEDED, created_at=now - timedelta(hours=1, seconds=i + seconds),
                       finished_at=now - timedelta(hours=1, seconds=i), **{**KIND, **kind})
        for i in range(n)
    ], batch_size=1000)


# --- the usual time -----------------------------------------------------------------------------


def test_the_usual_time_is_the_median_of_the_teams_similar_tasks(alice, bob, charlie, team_a):
    for seconds in (30, 40, 200):
        make_task(team_a, bob, seconds=seconds, **KIND)
    make_task(team_a, bob, seconds=999, **{**KIND, "resolution": "1080p"})  # another kind
    make_task(team_a, bob, seconds=9999, params={"off_peak": True}, **KIND)  # hours in the off-peak queue
    make_task(charlie.teams.first(), charlie, seconds=1, **KIND)  # another team
    running = make_task(team_a, alice, state=State.QUEUED, created_at=ago(20), **KIND)
    assert progress.typical_seconds(team_a, [running]) == {("viduq2", 5, "720p"): 40}
    assert progress.typical_for(running) == 40


@pytest.mark.django_db(transaction=False)
def test_the_progress_fragment_reads_a_bounded_history_at_5000_past_tasks(alice_client, alice, team_a,
                                                                         django_assert_num_queries):
    past_successes(team_a, alice, 5000)
    past_successes(team_a, alice, 300, **{**KIND, "resolution": "1080p"})
    running = [make_task(team_a, alice, state=State.PROCESSING, created_at=ago(10), **KIND),
               make_task(team_a, alice, state=State.QUEUED, created_at=ago(10), **{**KIND, "resolution": "1080p"})]
    ids = ",".join(str(t.uuid) for t in running)
    alice_client.get("/tasks/")
    # session, user, membership, the running tasks (with their prompts), the history (no creations:
    # no card is finished)
    with django_assert_num_queries(5), CaptureQueriesContext(connection) as captured:
        html = alice_client.get(f"/tasks/progress/?ids={ids}", **HTMX).content.decode()
    assert html.count("data-task-id=") == 2 and "about 30 s left" in html
    typical = [q["sql"] for q in captured.captured_queries if "'succeeded'" in q["sql"]]
    assert len(typical) == 1
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + typical[0])
        plan = cursor.fetchone()[0][0]["Plan"]
    # Rows the database read from the table or an index: two kinds, at most HISTORY_ROWS each.
    assert rows_read(plan) <= 2 * progress.HISTORY_ROWS, rows_read(plan)


def rows_read(node):
    own = 0
    if "Scan" in node["Node Type"]:
        own = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * node.get("Actual Loops", 1)
    return own + sum(rows_read(child) for child in node.get("Plans", []))


# --- the bar never moves backwards --------------------------------------------------------------


def life_of_a_task(alice, team_a, figures):
    """The card's figure at each moment of one task's life: waiting to submit, a long queue (past
    the usual 40 s), processing with ``figures`` from the provider, saving, done."""
    task = make_task(team_a, alice, state=State.PENDING, created_at=ago(120), **KIND)
    created = task.created_at
    seen = []

    def look(at, **fields):
        for name, value in fields.items():
            setattr(task, name, value)
        seen.append(progress.progress_of(task, USUAL, created + timedelta(seconds=at)).percent)

    look(1)
    look(2, state=State.QUEUED)
    look(15)
    look(39)
    look(60)  # queued for longer than such a task usually takes in all
    for i, figure in enumerate(figures):
        look(62 + 2 * i, state=State.PROCESSING, started_at=created + timedelta(seconds=61), progress=figure)
    look(100, state=State.ARCHIVING, progress=100)
    look(101)
    look(103, state=State.SUCCEEDED, finished_at=created + timedelta(seconds=103))
    return seen


@pytest.mark.parametrize("figures", [
    [0, 1, 1, 9, 37, 80, 99],  # DataEyes: a figure from the start
    [None, None, None, None],  # Vidu's official API: none, so the elapsed share of the usual time
])
def test_the_bar_never_moves_backwards(alice, team_a, figures):
    seen = life_of_a_task(alice, team_a, figures)
    assert seen == sorted(seen), seen
    assert seen[0] >= 1 and seen[-1] == 100 and len(set(seen)) >= 4


def test_vidus_figure_shows_as_is_once_it_runs(alice, team_a):
    task = make_task(team_a, alice, state=State.PROCESSING, progress=50, started_at=ago(30), created_at=ago(40),
                     **KIND)
    shown = progress.progress_of(task, USUAL)
    assert (shown.percent, shown.estimated) == (50, False) and 28 <= shown.eta <= 32  # 30 s for 50 %: 30 s more


def test_under_ten_percent_the_time_left_is_the_usual_not_vidus_rate(alice, team_a):
    task = make_task(team_a, alice, state=State.PROCESSING, progress=1, started_at=ago(2), created_at=ago(4), **KIND)
    shown = progress.progress_of(task, USUAL)
    assert shown.percent == 1 and 35 <= shown.eta <= 36  # the usual 40 s less 4, not 2 s x 99


# --- a time left only where it can be estimated -------------------------------------------------


@pytest.mark.parametrize("state", [State.PENDING, State.QUEUED, State.PROCESSING])
def test_no_time_left_without_history(alice, team_a, state):
    # A 1080p 10 s task once said "about 2 min 59 s left" from a guess, and took 10 s.
    task = make_task(team_a, alice, state=state, created_at=ago(3), model="viduq3-pro", duration=10,
                     resolution="1080p")
    shown = progress.progress_of(task, {})
    assert (shown.eta, shown.overdue, shown.note) == (None, False, "")


def test_an_off_peak_task_says_when_instead_of_a_countdown(alice, alice_client, team_a):
    task = make_task(team_a, alice, state=State.QUEUED, created_at=ago(10), params={"off_peak": True}, **KIND)
    make_task(team_a, alice, seconds=12, **KIND)  # a usual time exists, for tasks that aren't off-peak
    shown = progress.progress_of(task, {("viduq2", 5, "720p"): 12.0})
    assert shown.eta is None and not shown.overdue and "48 hours" in shown.note
    html = card(alice_client, task)
    assert "ready within 48 hours" in html and " left</span>" not in html and "longer than usual" not in html


def test_saving_shows_no_time_left(alice, alice_client, team_a):
    task = make_task(team_a, alice, state=State.ARCHIVING, progress=100, created_at=ago(30), **KIND)
    shown = progress.progress_of(task, USUAL)
    assert shown.eta is None and 97 <= shown.percent <= 99
    html = card(alice_client, task)
    assert " left</span>" not in html and "Saving a copy" in html


def test_the_time_left_counts_down_to_the_usual_time_then_says_it_is_slow(alice, alice_client, team_a):
    make_task(team_a, alice, seconds=40, **KIND)
    waiting = make_task(team_a, alice, state=State.QUEUED, created_at=ago(20), **KIND)
    assert 19 <= progress.progress_of(waiting, USUAL).eta <= 20
    slow = make_task(team_a, alice, state=State.QUEUED, created_at=ago(90), **KIND)
    shown = progress.progress_of(slow, USUAL)
    assert (shown.eta, shown.overdue) == (None, True)
    html = card(alice_client, slow)
    assert "taking longer than usual" in html and " left</span>" not in html


@pytest.mark.parametrize("reason, says", [
    ("TooManyRequests", "Vidu is busy; next try in 20 s"),
    ("SystemThrottling", "Vidu is busy; next try in 20 s"),
    ("InternalServiceFailure", "Vidu had a problem; next try in 20 s"),
])
def test_a_create_held_back_by_retries_says_why_and_when(alice, alice_client, team_a, reason, says):
    make_task(team_a, alice, seconds=5, **KIND)  # it is past the usual time too: the reason wins
    task = make_task(team_a, alice, state=State.PENDING, created_at=ago(35), err_code=reason,
                     next_attempt_at=timezone.now() + timedelta(seconds=19.5), attempts=3, **KIND)
    html = card(alice_client, task)
    assert says in html and "taking longer than usual" not in html and " left</span>" not in html


def test_a_fresh_create_has_no_retry_note(alice, team_a):
    task = make_task(team_a, alice, state=State.PENDING, created_at=ago(1), **KIND)
    assert progress.progress_of(task, USUAL).note == ""


# --- when to look next --------------------------------------------------------------------------


def delay(task, **answer):
    return timing.poll_delay(task, timezone.now(), **answer).total_seconds()


def test_without_history_polling_is_quick_then_slower(alice, team_a):
    assert delay(make_task(team_a, alice, state=State.QUEUED, created_at=ago(5), **KIND)) == 2
    assert delay(make_task(team_a, alice, state=State.PROCESSING, created_at=ago(60), started_at=ago(30),
                           **KIND)) == 5
    assert delay(make_task(team_a, alice, state=State.QUEUED, created_at=ago(400), **KIND)) == 60


def test_with_history_a_queued_task_is_next_looked_at_when_such_tasks_usually_finish(alice, team_a):
    past_successes(team_a, alice, 5, seconds=40)
    fresh = make_task(team_a, alice, state=State.QUEUED, created_at=ago(5), **KIND)
    assert 26.5 <= delay(fresh) <= 27  # a little before the usual 40 s (0.8 x 40 - 5)
    # still queued past that: it has yet to run, so not before half the usual time
    assert delay(make_task(team_a, alice, state=State.QUEUED, created_at=ago(50), **KIND)) == 20


def test_vidus_progress_says_when_it_will_be_done(alice, team_a):
    task = make_task(team_a, alice, state=State.PROCESSING, created_at=ago(15), started_at=ago(10), progress=20,
                     **KIND)
    # 50 % after 10 s of running: about 10 s left; a little later, so one look finds it done
    assert 11 <= delay(task, state=State.PROCESSING, progress=50) <= 12
    # just started (we saw it a moment ago): the rate is unknown, nor is there history
    assert delay(task, state=State.PROCESSING, progress=50) > delay(
        make_task(team_a, alice, state=State.QUEUED, created_at=ago(15), **KIND), state=State.PROCESSING,
        progress=50) >= 2


def test_off_peak_waits_are_polled_rarely(alice, team_a):
    task = make_task(team_a, alice, state=State.QUEUED, created_at=ago(3600), params={"off_peak": True}, **KIND)
    assert delay(task) == 900
    assert delay(make_task(team_a, alice, state=State.QUEUED, created_at=ago(10), params={"off_peak": True},
                           **KIND)) == 60


def test_with_callbacks_polling_is_a_safety_net(alice, team_a, settings):
    settings.VIDU_CALLBACK_BASE_URL = "https://studio.example"
    assert delay(make_task(team_a, alice, state=State.QUEUED, created_at=ago(5), **KIND)) == 30


def test_the_sweep_loads_what_the_cadence_needs(alice, team_a, django_assert_num_queries):
    from vidu_web.studio.sweep import POLL_FIELDS

    past_successes(team_a, alice, 3)
    make_task(team_a, alice, state=State.PROCESSING, created_at=ago(15), started_at=ago(10), progress=20, **KIND)
    task = GenerationTask.objects.only(*POLL_FIELDS).get(state=State.PROCESSING)
    progress.typical_for(task)
    with django_assert_num_queries(0):  # no deferred field loaded one by one, the usual time memoised
        timing.poll_delay(task, timezone.now(), state=State.PROCESSING, progress=30)
