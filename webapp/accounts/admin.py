from django.contrib import admin

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at")
    search_fields = ("name", "user__username", "prefix")
    readonly_fields = ("user", "digest", "prefix", "created_at", "last_used_at")

    def has_add_permission(self, request) -> bool:  # tokens are made on the settings page or by the command
        return False
