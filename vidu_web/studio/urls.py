from django.contrib.auth.decorators import login_not_required
from django.urls import path, re_path
from django.views.generic import RedirectView

from . import callbacks, download_views, health, library_views, media, share_views, views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="create"), name="home"),
    path("create/", views.create, name="create"),
    path("create/params/", views.create_params, name="create-params"),
    path("create/estimate/", views.create_estimate, name="create-estimate"),
    path("tasks/", views.tasks, name="tasks"),
    path("tasks/progress/", views.progress, name="progress"),
    path("tasks/<uuid:task_uuid>/cancel/", views.task_cancel, name="task-cancel"),
    path("tasks/<uuid:task_uuid>/retry/", views.task_retry, name="task-retry"),
    path("gallery/", views.gallery, name="gallery"),
    path("gallery/download/", download_views.gallery_download, name="gallery-download"),
    path("videos/<uuid:task_uuid>/", views.video, name="video"),
    path("videos/<uuid:task_uuid>/favorite/", views.video_favorite, name="video-favorite"),
    path("videos/<uuid:task_uuid>/privacy/", views.video_privacy, name="video-privacy"),
    path("videos/<uuid:task_uuid>/delete/", views.video_delete, name="video-delete"),
    # The library (library_views.py): projects, review and comments.
    path("projects/", library_views.projects, name="projects"),
    path("projects/<uuid:project_uuid>/", library_views.project, name="project"),
    path("projects/<uuid:project_uuid>/download/", download_views.project_download, name="project-download"),
    path("gallery/project/", library_views.gallery_project, name="gallery-project"),
    path("videos/<uuid:task_uuid>/project/", library_views.video_project, name="video-project"),
    path("videos/<uuid:task_uuid>/review/", library_views.video_review, name="video-review"),
    path("videos/<uuid:task_uuid>/comments/", library_views.video_comments, name="video-comments"),
    path("videos/<uuid:task_uuid>/extend/", views.video_extend, name="video-extend"),
    path("videos/<uuid:task_uuid>/upscale/", views.video_upscale, name="video-upscale"),
    path("videos/<uuid:task_uuid>/extend/estimate/", views.video_extend_estimate, name="video-extend-estimate"),
    path("videos/<uuid:task_uuid>/upscale/estimate/", views.video_upscale_estimate, name="video-upscale-estimate"),
    path("videos/<uuid:task_uuid>/share/", share_views.video_share, name="video-share"),
    path("projects/<uuid:project_uuid>/share/", share_views.project_share, name="project-share"),
    path("projects/<uuid:project_uuid>/share/<int:link_id>/revoke/", share_views.project_share_revoke,
         name="project-share-revoke"),
    path("videos/<uuid:task_uuid>/share/<int:link_id>/revoke/", share_views.share_revoke, name="share-revoke"),
    path("media/<path:name>", media.media, name="media"),
    # Public share links: no sign-in (the views are login_not_required); the token is the check.
    path("share/<str:token>/", share_views.shared, name="shared"),
    re_path(r"^share/(?P<token>[^/]+)/(?P<task_uuid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/(?P<kind>video|poster)$",
            share_views.shared_project_media, name="shared-project-media"),
    re_path(r"^share/(?P<token>[^/]+)/(?P<kind>video|poster)$", share_views.shared_media, name="shared-media"),
    # For load balancers: no sign-in, no HTTPS redirect (settings.SECURE_REDIRECT_EXEMPT).
    path("healthz", health.healthz, name="healthz"),
    # Vidu calls this without a session; the secret in the path authenticates it.
    path("hooks/vidu/<uuid:task_uuid>/<str:secret>/", login_not_required(callbacks.vidu_callback), name="vidu-callback"),
]
