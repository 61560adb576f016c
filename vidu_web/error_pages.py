"""With DEBUG on (as under `make run`), answer with the app's own 400/404/500 pages, not Django's.

Django's technical 404 lists every URL pattern and its 500 page shows settings and the request:
useful on a laptop, not on a demo that outsiders reach. Tracebacks still go to the console
(the django.request logger). With DEBUG off Django already uses our pages and this does nothing;
403s use ours either way.
"""

import logging

from django.conf import settings
from django.core import signals
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django.urls import Resolver404, resolve
from django.views import defaults

log = logging.getLogger("django.request")


class AppErrorPages:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.DEBUG:
            # A URL that matches nothing never reaches a view (nor process_exception below).
            try:
                resolve(request.path_info, getattr(request, "urlconf", None))
            except Resolver404 as exc:
                return defaults.page_not_found(request, exc)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not settings.DEBUG or isinstance(exception, PermissionDenied):
            return None
        if isinstance(exception, Http404):
            return defaults.page_not_found(request, exception)
        if isinstance(exception, BadRequest | SuspiciousOperation | MultiPartParserError):
            logging.getLogger(f"django.security.{type(exception).__name__}").error(
                str(exception), extra={"status_code": 400, "request": request})
            response = defaults.bad_request(request, exception)
        else:
            signals.got_request_exception.send(sender=None, request=request)
            log.error("Internal Server Error: %s", request.path, exc_info=exception,
                      extra={"status_code": 500, "request": request})
            response = defaults.server_error(request)
        response._has_been_logged = True  # logged above, with its traceback
        return response
