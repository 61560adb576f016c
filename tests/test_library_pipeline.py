"""The library end to end: videos made through the create form into a project, then remixed, run
by a real qcluster against the sandbox; the project page, the family and the fold follow."""

import re

import pytest
from cluster import running_cluster, wait_for

from tests.studio_helpers import csrf_post
from vidu_web.studio.models import GenerationTask, Project, State

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.cluster]


def tile_ids(html):
    return re.findall(r'<article class="tile [^"]*" data-task-id="([0-9a-f-]{36})"', html)


def finished(*tasks):
    return GenerationTask.objects.filter(pk__in=[t.pk for t in tasks], state=State.SUCCEEDED).count() == len(tasks)


def test_a_video_made_in_a_project_and_its_remix_stack_up(cluster_settings, sandbox, team_a, alice, alice_client,
                                                         bob_client):
    project = Project.objects.create(team=team_a, creator=alice, name="Trailer")
    with running_cluster() as cluster:
        csrf_post(alice_client, "/create/", {"mode": "text2video", "prompt": "a fox in snow", "model": "viduq1",
                                             "project": str(project.uuid)})
        original = GenerationTask.objects.get()
        wait_for(lambda: finished(original), timeout=40, message=f"the original; log:\n{cluster.log()[-3000:]}")
        # Bob remixes it into the same project.
        csrf_post(bob_client, "/create/", {"mode": "text2video", "prompt": "a fox in snow, at dusk", "model": "viduq1",
                                           "remix": str(original.uuid), "project": str(project.uuid)})
        remix = GenerationTask.objects.exclude(pk=original.pk).get()
        wait_for(lambda: finished(remix), timeout=40, message=f"the remix; log:\n{cluster.log()[-3000:]}")
    original.refresh_from_db()
    remix.refresh_from_db()
    assert remix.source == original and remix.family == original.uuid and remix.project == project

    html = bob_client.get(f"/videos/{remix.uuid}/").content.decode()
    assert f'data-version-of="{original.uuid}"' in html and '<video id="player"' in html
    html = alice_client.get(f"/projects/{project.uuid}/").content.decode()
    assert sorted(tile_ids(html)) == sorted([str(original.uuid), str(remix.uuid)])
    assert f'data-project-spent="{original.credits + remix.credits}"' in html
    html = alice_client.get(f"/gallery/?project={project.uuid}&fold=1").content.decode()
    assert tile_ids(html) == [str(remix.uuid)] and 'data-versions="2"' in html
