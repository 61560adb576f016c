"""The S3 backend (S3_BUCKET) with page links that go through the access check.

django-storages' ``url()`` presigns: every page would carry links to the bucket that skip
`media.media` (the access check), that stop working S3_URL_SECONDS after the page was drawn
(a gallery left open, then played or seeked), that put a signature in the HTML, and to which
``?download=1`` can't be appended (it lands inside the signature, which a real bucket refuses).
So ``url()`` gives our own ``/media/<name>``, like the filesystem does, and the media view
answers it, after the access check, with a fresh presigned redirect (``signed_url``).
"""

from django.conf import settings
from django.utils.encoding import filepath_to_uri
from storages.backends.s3 import S3Storage


class MediaS3Storage(S3Storage):
    def url(self, name, parameters=None, expire=None, http_method=None):
        if parameters or expire or http_method:
            return self.signed_url(name, parameters, expire, http_method)
        return settings.MEDIA_URL + filepath_to_uri(name).lstrip("/")

    def signed_url(self, name, parameters=None, expire=None, http_method=None):
        """A presigned link to the object, valid S3_URL_SECONDS (for the media view alone)."""
        return super().url(name, parameters=parameters, expire=expire, http_method=http_method)
