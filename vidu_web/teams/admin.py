"""The admin for teams and memberships."""

from django.contrib import admin
from django.db.models import Count

from .models import AuditEvent, Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "personal", "member_count", "credit_budget", "created_at")
    list_filter = ("personal",)
    search_fields = ("name", "slug", "memberships__user__username")
    readonly_fields = ("uuid", "created_at")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (MembershipInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_members=Count("memberships", distinct=True))

    @admin.display(description="members", ordering="n_members")
    def member_count(self, team):
        return team.n_members


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "team", "role", "credit_cap", "joined_at")
    list_filter = ("role", "team__personal")
    search_fields = ("user__username", "user__email", "team__name")
    list_select_related = ("user", "team")
    raw_id_fields = ("user", "team")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: an audit log that staff could edit would prove nothing."""

    list_display = ("at", "team", "actor", "action", "target", "ip")
    list_filter = ("action",)
    search_fields = ("team__name", "actor__username", "target")
    list_select_related = ("team", "actor")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
