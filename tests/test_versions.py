"""Version stacks: a remix or a try-again keeps its source; the video page shows the family
(``data-version-of``); the gallery folds a family into one tile (``?fold=1``)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.studio_helpers import HTMX, csrf_post, make_task
from vidu_web.studio import services
from vidu_web.studio.models import Favorite, GenerationTask, State


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def tile_ids(html):
    return re.findall(r'<article class="tile [^"]*" data-task-id="([0-9a-f-]{36})"', html)


def version_of(task, minutes, **fields):
    """A finished video made from ``task``, ``minutes`` after it."""
    made = make_task(task.team, fields.pop("creator", task.creator), source=task,
                     created_at=task.created_at + timedelta(minutes=minutes), **fields)
    return made


def test_a_first_video_starts_its_own_family(alice, team_a):
    task = make_task(team_a, alice)
    assert task.source is None and task.family == task.uuid


def test_a_remix_keeps_its_source_and_joins_its_family(bob_client, alice, team_a):
    original = make_task(team_a, alice, prompt="a fox")
    response = csrf_post(bob_client, "/create/", {"mode": "text2video", "prompt": "a fox, at dusk", "model": "viduq1",
                                                  "remix": str(original.uuid)})
    assert response.status_code == 302
    remix = GenerationTask.objects.exclude(pk=original.pk).get()
    assert remix.source == original and remix.family == original.uuid
    # A remix of the remix is still one family, however long the chain.
    csrf_post(bob_client, "/create/", {"mode": "text2video", "prompt": "a fox, at night", "model": "viduq1",
                                       "remix": str(remix.uuid)})
    third = GenerationTask.objects.exclude(pk__in=[original.pk, remix.pk]).get()
    assert third.source == remix and third.family == original.uuid


def test_a_try_again_copy_keeps_its_source(alice_client, alice, team_a):
    failed = make_task(team_a, alice, state=State.FAILED, upstream_id="vidu-1", err_code="InternalServiceFailure")
    response = csrf_post(alice_client, f"/tasks/{failed.uuid}/retry/", page="/tasks/")
    assert response.status_code == 302
    copy = GenerationTask.objects.exclude(pk=failed.pk).get()
    assert copy.retry_of == failed and copy.source == failed and copy.family == failed.family


def test_a_try_again_copy_stays_in_its_project(alice, team_a):
    from vidu_web.studio.models import Project

    project = Project.objects.create(team=team_a, creator=alice, name="Trailer")
    failed = make_task(team_a, alice, state=State.FAILED, upstream_id="vidu-1", project=project)
    assert services.copy_task(failed, alice).project == project


def test_a_resend_of_the_same_task_makes_no_version(alice, team_a):
    refused = make_task(team_a, alice, state=State.FAILED, err_code="CreditInsufficient")
    assert services.retry_task(refused, alice).pk == refused.pk
    refused.refresh_from_db()
    assert refused.source is None and GenerationTask.objects.count() == 1


def test_the_video_page_shows_the_family(alice_client, alice, bob, team_a):
    first = make_task(team_a, alice, prompt="first take")
    second = version_of(first, 5, prompt="second take")
    third = version_of(second, 10, prompt="third take", creator=bob)
    make_task(team_a, alice, prompt="unrelated")
    html = alice_client.get(f"/videos/{third.uuid}/").content.decode()
    assert f'data-version-of="{second.uuid}"' in html
    assert re.findall(r'data-version="([0-9a-f-]{36})"', html) == [str(first.uuid), str(second.uuid), str(third.uuid)]
    family = html[html.index('id="family"'):]
    family = family[:family.index("</section>")]
    assert 'aria-current="page">This one' in family and "unrelated" not in family  # (the end frames list it)
    html = alice_client.get(f"/videos/{first.uuid}/").content.decode()
    assert "data-version-of" not in html and f'href="/videos/{second.uuid}/"' in html


def test_a_video_made_from_nothing_else_shows_no_family(alice_client, alice, team_a):
    html = alice_client.get(f"/videos/{make_task(team_a, alice).uuid}/").content.decode()
    assert "data-version-of" not in html and 'id="family"' not in html


def test_the_family_leaves_out_what_the_viewer_cant_see(bob_client, alice, bob, team_a):
    secret = make_task(team_a, alice, prompt="alice's private take", is_private=True)
    bobs = version_of(secret, 5, creator=bob, prompt="bob's take")
    html = bob_client.get(f"/videos/{bobs.uuid}/").content.decode()
    assert f'data-version-of="{secret.uuid}"' in html  # the hook, as design.md has it
    assert "alice&#x27;s private take" not in html and "Made from another video you can't see" in html


def test_a_deleted_source_leaves_its_versions_alone(alice_client, alice, team_a):
    first = make_task(team_a, alice)
    second = version_of(first, 5)
    first.deleted_at = timezone.now()
    first.save(update_fields=["deleted_at"])
    response = alice_client.get(f"/videos/{second.uuid}/")
    assert response.status_code == 200 and f'data-version-of="{first.uuid}"' in response.content.decode()
    assert alice_client.get(f"/videos/{first.uuid}/").status_code == 404


# --- the gallery's fold ------------------------------------------------------------------------


@pytest.fixture
def stacks(team_a, alice):
    fox = make_task(team_a, alice, prompt="fox one")
    fox2 = version_of(fox, 5, prompt="fox two")
    fox3 = version_of(fox2, 10, prompt="fox three, the snow one")
    owl = make_task(team_a, alice, prompt="owl alone")
    return {"fox": fox, "fox2": fox2, "fox3": fox3, "owl": owl}


def test_the_gallery_folds_a_family_into_its_newest_tile(alice_client, stacks):
    names = {str(t.uuid): name for name, t in stacks.items()}
    html = alice_client.get("/gallery/").content.decode()
    assert sorted(names[i] for i in tile_ids(html)) == ["fox", "fox2", "fox3", "owl"]
    html = alice_client.get("/gallery/?fold=1").content.decode()
    assert sorted(names[i] for i in tile_ids(html)) == ["fox3", "owl"]
    assert f'data-task-id="{stacks["fox3"].uuid}" data-ratio="16:9" data-review="draft" data-versions="3"' in html
    assert ">3 versions</span>" in html and 'name="fold" value="1" checked' in html


def test_a_folded_family_shows_its_newest_version_that_passes_the_filters(alice_client, stacks):
    html = alice_client.get("/gallery/?fold=1&q=fox+two").content.decode()
    assert tile_ids(html) == [str(stacks["fox2"].uuid)] and "data-versions" not in html
    stacks["fox3"].state = State.PROCESSING  # not finished: not in the gallery, so not on top
    stacks["fox3"].save(update_fields=["state"])
    html = alice_client.get("/gallery/?fold=1&q=fox").content.decode()
    assert tile_ids(html) == [str(stacks["fox2"].uuid)] and 'data-versions="2"' in html


def test_folding_hides_no_family_behind_a_version_one_cant_see(bob_client, alice, bob, team_a):
    mine = make_task(team_a, bob, prompt="bob's")
    version_of(mine, 5, creator=alice, prompt="alice's private remix", is_private=True)
    assert tile_ids(bob_client.get("/gallery/?fold=1").content.decode()) == [str(mine.uuid)]


def test_a_task_without_a_family_stands_alone(alice_client, alice, team_a):
    loose = make_task(team_a, alice)
    GenerationTask.objects.filter(pk=loose.pk).update(family=None)  # as a bulk insert leaves it
    assert tile_ids(alice_client.get("/gallery/?fold=1").content.decode()) == [str(loose.uuid)]


def test_folded_pages_load_more_without_repeats(alice_client, alice, team_a):
    for n in range(30):
        first = make_task(team_a, alice, prompt=f"shot {n}", created_at=timezone.now() - timedelta(hours=n + 1))
        version_of(first, 1)
    html = alice_client.get("/gallery/?fold=1").content.decode()
    first_page = tile_ids(html)
    assert len(first_page) == 24
    more = re.search(r'hx-get="(/gallery/\?[^"]+)"', html)[1].replace("&amp;", "&")
    assert "fold=1" in more
    rest = tile_ids(alice_client.get(more, **HTMX).content.decode())
    assert len(rest) == 6 and not set(rest) & set(first_page)


def test_a_folded_family_of_favourites_shows_its_newest_favourite_marked(alice_client, alice, stacks):
    """The favourites filter holds inside the fold's subqueries too: the stack is its newest
    favourite, counting only favourites; every tile says whether it is one."""
    Favorite.objects.create(user=alice, task=stacks["fox"])
    Favorite.objects.create(user=alice, task=stacks["fox2"])
    html = alice_client.get("/gallery/?fold=1&favorites=1").content.decode()
    assert tile_ids(html) == [str(stacks["fox2"].uuid)] and 'data-versions="2"' in html
    assert html.count('class="fav-mark"') == 1
    html = alice_client.get("/gallery/?fold=1").content.decode()
    assert 'data-versions="3"' in html and 'class="fav-mark"' not in html  # fox3, on top, is no favourite
