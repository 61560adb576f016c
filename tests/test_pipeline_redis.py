"""With REDIS_URL set, django-q2's broker is Redis: a real cluster on Redis runs a task to the end."""

import subprocess
import sys

import pytest
import redis
from cluster import ROOT, cluster_env, running_cluster, wait_for
from django_q.models import OrmQ
from pipeline_helpers import text_task

from vidu_web.studio.models import FINAL_STATES, GenerationTask, State

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.cluster]

REDIS_URL = "redis://127.0.0.1:6379/15"



@pytest.fixture
def empty_redis():
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


def enqueue_through_redis(task_id):
    """What a web process configured with REDIS_URL does when a task is created."""
    code = f"from django_q.tasks import async_task; async_task('vidu_web.studio.tasks.submit_task', {task_id})"
    subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, check=True, timeout=60,
                   env=cluster_env({"REDIS_URL": REDIS_URL}), capture_output=True)


def test_a_cluster_on_redis_takes_the_task_to_an_archived_video(cluster_settings, sandbox, team_a, alice, empty_redis):
    with running_cluster(env={"REDIS_URL": REDIS_URL}) as cluster:
        task = text_task(team_a, alice)  # this test process still enqueues into the ORM broker
        orm_messages = OrmQ.objects.count()
        enqueue_through_redis(task.pk)
        done = lambda: GenerationTask.objects.filter(pk=task.pk, state__in=FINAL_STATES).exists()  # noqa: E731
        wait_for(done, timeout=60, message=f"the task to finish on Redis; log:\n{cluster.log()[-3000:]}")
        # The running cluster keeps its stats in Redis.
        keys = empty_redis.keys("*")
    task.refresh_from_db()
    assert task.state == State.SUCCEEDED, (task.err_code, task.error)
    assert sandbox.counts() == {str(task.uuid): 1}
    # The cluster never read the ORM queue: the on-commit message is still there, unconsumed.
    assert OrmQ.objects.count() == orm_messages >= 1
    assert any(b"vidu_web" in key for key in keys), keys
