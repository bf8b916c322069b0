from django.urls import path

from . import export_views, views

app_name = "runs"
urlpatterns = [
    path("", views.run_list, name="list"),
    path("new/", views.wizard_start, name="new"),
    path("new/<slug:step>/", views.wizard_step, name="wizard"),
    path("<int:pk>/", views.run_detail, name="detail"),
    path("<int:pk>/status.json", views.run_status, name="status"),
    path("<int:pk>/cancel/", views.run_cancel, name="cancel"),
    path("<int:pk>/rerun/", views.run_rerun, name="rerun"),
    path("<int:pk>/artifacts/<path:name>", views.run_artifact, name="artifact"),
    path("<int:pk>/selection/export.<str:fmt>", export_views.selection_export, name="selection_export"),
]
