from django.contrib import admin

from .models import Evaluation


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    list_display = (
        "id", "dataset", "owner", "state", "labels_source", "n_labeled", "rounds", "seeds", "created_at", "finished_at",
    )
    list_filter = ("state", "labels_source")
    search_fields = ("dataset__name", "owner__username", "error")
    readonly_fields = ("log", "summary", "heartbeat_at", "worker_host", "task_id", "run_dir")
