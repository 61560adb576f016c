"""A request id for every request: echoed as ``X-Request-ID`` and carried by every log line
written while the request is handled (``vidu_web.logs.ContextFilter`` reads it from here).

Behind our proxy (DJANGO_BEHIND_PROXY) the id nginx made (``$request_id``, also in its access
log) is kept, so one id follows a request through both logs; otherwise, or when the header is
not a plain token, a new one is made: a client can't put arbitrary text into our logs.
"""

import re
import uuid
from contextvars import ContextVar

from django.conf import settings
from django.core.signals import request_finished

HEADER = "X-Request-ID"
# nginx's $request_id is 32 hex digits; load balancers use UUIDs and similar tokens.
ACCEPTED = re.compile(r"[A-Za-z0-9._-]{8,64}")

current: ContextVar[str] = ContextVar("request_id", default="")


def incoming(request) -> str:
    given = request.headers.get(HEADER, "") if settings.BEHIND_PROXY else ""
    return given if ACCEPTED.fullmatch(given) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.id = incoming(request)
        current.set(request.id)
        response = self.get_response(request)
        response[HEADER] = request.id
        return response


def _forget(**kwargs):
    # When the response is closed, not when the middleware returns: Django logs a 4xx/5xx
    # ("Not Found: ...") after the middleware chain, and that line belongs to the request too.
    current.set("")


request_finished.connect(_forget, dispatch_uid="vidu_web.request_id.forget")
