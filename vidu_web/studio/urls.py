from django.urls import path

from . import callbacks

urlpatterns = [
    path("hooks/vidu/<uuid:task_uuid>/<str:secret>/", callbacks.vidu_callback, name="vidu-callback"),
]
