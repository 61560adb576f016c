"""The one place that enqueues pipeline jobs for django-q2's workers."""

from django_q import tasks as q


def enqueue_submission(task_id: int) -> None:
    q.async_task("vidu_web.studio.tasks.submit_task", task_id, task_name=f"submit-{task_id}")


def enqueue_archive(task_id: int) -> None:
    q.async_task("vidu_web.studio.tasks.archive_task", task_id, task_name=f"archive-{task_id}")
