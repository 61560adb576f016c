from django.urls import path

from . import views

urlpatterns = [
    path("teams/switch/", views.switch_team, name="switch-team"),
]
