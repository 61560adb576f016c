"""``manage.py qcluster``: django-q2's command, running our cluster (``vidu_web/studio/cluster.py``).

It takes the place of django-q2's own command because ``vidu_web.studio`` comes before
``django_q`` in INSTALLED_APPS.
"""

import os

from django.conf import settings
from django_q.management.commands import qcluster

from vidu_web.studio.cluster import Cluster
from vidu_web.studio.keycheck import check_key_in_background


class Command(qcluster.Command):
    help = "Starts the pipeline's django-q2 cluster (with its sweep keeper)."

    def handle(self, *args, **options):
        settings.SECRET_KEY  # noqa: B018 - as django-q2's command: signing needs it
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        cluster = Cluster()
        cluster.start()
        # After the forks (no thread of ours is copied into a child); one ERROR line at start
        # when the provider refuses the key.
        check_key_in_background()
        if options.get("run_once", False):
            cluster.stop()
