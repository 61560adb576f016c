"""The app's URLs plus a trivial view, for bench/gallery.py."""

from django.http import HttpResponse
from django.urls import path

from vidu_web.urls import urlpatterns as app_urls


def trivial(request):
    return HttpResponse("ok")


urlpatterns = [path("bench/trivial/", trivial), *app_urls]
