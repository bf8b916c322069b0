from django.contrib import admin

from .models import Preset, Run, RunSample


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("id", "dataset", "owner", "state", "stage", "n_selected", "created_at", "finished_at")
    list_filter = ("state",)
    search_fields = ("dataset__name", "owner__username", "error")
    readonly_fields = ("log", "heartbeat_at", "worker_host", "task_id", "run_dir")


@admin.register(RunSample)
class RunSampleAdmin(admin.ModelAdmin):
    list_display = ("filename", "run", "selected", "rank", "score")
    list_filter = ("selected",)
    search_fields = ("filename",)
    raw_id_fields = ("run",)


@admin.register(Preset)
class PresetAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "created_at")
