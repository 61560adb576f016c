"""The endpoint Vidu calls when a task changes state (vidu-api.md §5)."""

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def vidu_callback(request, task_uuid, secret):
    return HttpResponse(status=501)  # filled in by the pipeline
