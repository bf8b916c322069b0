from django.contrib import admin

from .models import Dataset, PredictionTask, Tag, TagItem, Upload


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "source_type", "location", "image_count", "created_at")
    list_filter = ("source_type",)
    search_fields = ("name", "path", "bucket", "owner__username")
    exclude = ("secret_access_key",)


@admin.register(PredictionTask)
class PredictionTaskAdmin(admin.ModelAdmin):
    list_display = ("name", "dataset", "task_type", "coverage", "n_images")
    list_filter = ("task_type",)


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ("filename", "dataset", "uploaded_by", "accepted", "summary", "created_at")
    list_filter = ("accepted",)




@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "dataset", "run", "size", "created_at")
    search_fields = ("name", "dataset__name")
    raw_id_fields = ("run",)


@admin.register(TagItem)
class TagItemAdmin(admin.ModelAdmin):
    list_display = ("filename", "tag")
    search_fields = ("filename", "tag__name")
    raw_id_fields = ("tag",)
