from django.urls import path

from . import invitations, views

urlpatterns = [
    path("teams/switch/", views.switch_team, name="switch-team"),
    path("team/", views.team, name="team"),
    path("team/members/add/", views.member_add, name="team-member-add"),
    path("team/members/<int:membership_id>/role/", views.member_role, name="team-member-role"),
    path("team/members/<int:membership_id>/remove/", views.member_remove, name="team-member-remove"),
    path("team/members/<int:membership_id>/cap/", views.member_cap, name="team-member-cap"),
    path("team/budget/", views.budget, name="team-budget"),
    path("team/audit/", views.audit_log, name="team-audit"),
    path("team/usage/", views.usage, name="team-usage"),
    path("team/usage.csv", views.usage_csv, name="team-usage-csv"),
    path("team/invites/", invitations.invite_create, name="team-invite"),
    path("team/invites/<int:invitation_id>/revoke/", invitations.invite_revoke, name="team-invite-revoke"),
    path("join/<str:token>/", invitations.join, name="join"),
]
