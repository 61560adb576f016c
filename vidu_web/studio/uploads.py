"""The upload handler that keeps no file past the caps, so a create can't fill memory or disk.

Django reads every file of a multipart request before any view runs (the CSRF check reads the
form). This handler, first in ``FILE_UPLOAD_HANDLERS``, skips a file (its bytes are read from the
socket and dropped) when it is past ``UPLOAD_MAX_FILES``, larger than ``UPLOAD_MAX_BYTES``, or
when the whole request is larger than ``UPLOAD_MAX_REQUEST_BYTES``. What it skipped is left on
``request.upload_refusal`` as a sentence for the form; the form fields still arrive, so the
page comes back with what was typed. Files that pass go on to Django's handlers: small ones in
memory (up to FILE_UPLOAD_MAX_MEMORY_SIZE), larger ones in a temporary file.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile


def _mb(size: int) -> int:
    return size // (1024 * 1024)


class CappedUploadHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.request_too_large, self.files, self.refusal = False, 0, ""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.request_too_large = content_length > settings.UPLOAD_MAX_REQUEST_BYTES
        self.files = 0
        self.refusal = ""

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        self.files += 1
        if self.request_too_large:
            self.refusal = self.refusal or (
                f"The images add up to more than {_mb(settings.UPLOAD_MAX_REQUEST_BYTES)} MB; none was kept. "
                f"Send at most {settings.UPLOAD_MAX_FILES} images of up to {_mb(settings.UPLOAD_MAX_BYTES)} MB each."
            )
            raise SkipFile
        if self.files > settings.UPLOAD_MAX_FILES:
            raise SkipFile  # counted: upload_complete says how many came

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.UPLOAD_MAX_BYTES:
            self.refusal = self.refusal or (
                f"Image {self.files} ({self.file_name}) is larger than {_mb(settings.UPLOAD_MAX_BYTES)} MB."
            )
            raise SkipFile
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handlers keep the file

    def upload_complete(self):
        if self.files > settings.UPLOAD_MAX_FILES and not self.request_too_large:
            self.refusal = (
                f"You sent {self.files} images; no mode takes more than {settings.UPLOAD_MAX_FILES}. "
                "Nothing was made: pick fewer."
            )
        if self.refusal and self.request is not None:
            self.request.upload_refusal = self.refusal
