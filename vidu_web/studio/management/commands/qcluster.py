"""``manage.py qcluster``: django-q2's command, running our cluster (``vidu_web/studio/cluster.py``).

It takes the place of django-q2's own command because ``vidu_web.studio`` comes before
``django_q`` in INSTALLED_APPS.
"""

import os

from django.conf import settings
from django_q.management.commands import qcluster

from vidu_web.studio.cluster import Cluster


class Command(qcluster.Command):
    help = "Starts the pipeline's django-q2 cluster (with its sweep keeper)."

    def handle(self, *args, **options):
        settings.SECRET_KEY  # noqa: B018 - as django-q2's command: signing needs it
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        cluster = Cluster()
        cluster.start()
        if options.get("run_once", False):
            cluster.stop()
