"""The admin for prompts, tasks and creations: Vidu's fields read-only, and the pipeline's actions."""

from django.contrib import admin, messages
from django.db.models import Count

from . import services
from .models import RETRYABLE_STATES, Creation, GenerationTask, Prompt, SweepSlot, TaskEvent, TaskImage

# What Vidu or the pipeline writes: an admin reads these, never edits them.
PIPELINE_FIELDS = (
    "uuid", "provider", "endpoint", "upstream_id", "upstream_state", "progress", "credits", "seed_used", "err_code", "error",
    "attempts", "next_attempt_at", "lease_until", "create_sent_at", "last_polled_at", "poll_failures", "api_calls",
    "created_at", "submitted_at", "started_at", "finished_at", "updated_at",
)


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ("__str__", "team", "author", "task_count", "created_at")
    list_filter = ("team",)
    search_fields = ("text", "author__username", "team__name")
    list_select_related = ("team", "author")
    raw_id_fields = ("author",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_tasks=Count("tasks"))

    @admin.display(description="tasks", ordering="n_tasks")
    def task_count(self, prompt):
        return prompt.n_tasks


class TaskImageInline(admin.TabularInline):
    model = TaskImage
    extra = 0
    readonly_fields = ("position", "file", "mime", "width", "height")
    can_delete = False


class CreationInline(admin.TabularInline):
    model = Creation
    extra = 0
    fields = ("upstream_id", "video", "cover", "watermarked", "video_bytes", "archived_at", "archive_attempts", "archive_error",
              "urls_expire_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True


class TaskEventInline(admin.TabularInline):
    model = TaskEvent
    extra = 0
    readonly_fields = ("at", "state", "upstream_state", "note")
    can_delete = False


@admin.register(GenerationTask)
class GenerationTaskAdmin(admin.ModelAdmin):
    list_display = ("uuid", "team", "creator", "mode", "model", "state", "upstream_state", "progress", "credits",
                    "attempts", "api_calls", "created_at", "finished_at")
    list_filter = ("state", "mode", "model", "provider", "err_code", "team", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=uuid", "=upstream_id", "prompt__text", "creator__username", "team__name", "err_code")
    list_select_related = ("team", "creator")
    date_hierarchy = "created_at"
    readonly_fields = PIPELINE_FIELDS + ("state",)
    raw_id_fields = ("creator", "prompt")
    inlines = (TaskImageInline, CreationInline, TaskEventInline)
    actions = ("poll_now", "cancel", "retry", "rearchive")

    def has_add_permission(self, request):
        return False  # tasks come from the create form, which validates and enqueues them

    @admin.action(description="Query Vidu now")
    def poll_now(self, request, queryset):
        self._report(request, queryset, services.poll_now)

    @admin.action(description="Cancel at Vidu (while it allows)")
    def cancel(self, request, queryset):
        self._report(request, queryset, services.cancel_task)

    @admin.action(description="Retry (a failed submission is reset; otherwise a copy is made)")
    def retry(self, request, queryset):
        for task in queryset.filter(state__in=RETRYABLE_STATES):
            again = services.retry_task(task, request.user)
            note = "reset and queued" if again.pk == task.pk else f"copied into {again.uuid}"
            self.message_user(request, f"{task.uuid}: {note}.", messages.SUCCESS)

    @admin.action(description="Save the video again (re-archive)")
    def rearchive(self, request, queryset):
        self._report(request, queryset, services.rearchive)

    def _report(self, request, queryset, action):
        for task in queryset:
            self.message_user(request, f"{task.uuid}: {action(task)}", messages.INFO)


@admin.register(Creation)
class CreationAdmin(admin.ModelAdmin):
    list_display = ("upstream_id", "task", "archived_at", "video_bytes", "duration", "width", "height", "urls_expire_at",
                    "archive_attempts")
    list_filter = (("archived_at", admin.EmptyFieldListFilter), "task__team")
    search_fields = ("=upstream_id", "=task__uuid", "=task__upstream_id")
    list_select_related = ("task",)
    readonly_fields = ("task", "upstream_id", "url", "cover_url", "watermarked_url", "urls_expire_at", "duration", "fps",
                       "width", "height", "video_bytes", "archived_at", "archive_attempts", "archive_error")

    def has_add_permission(self, request):
        return False


@admin.register(SweepSlot)
class SweepSlotAdmin(admin.ModelAdmin):
    list_display = ("slot", "owner", "beat_at")
    readonly_fields = ("slot", "owner", "beat_at")
