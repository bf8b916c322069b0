from django.urls import path

from . import views

app_name = "evaluations"
urlpatterns = [
    path("datasets/<int:pk>/evaluate/", views.evaluation_new, name="new"),
    path("evaluations/<int:pk>/", views.evaluation_detail, name="detail"),
    path("evaluations/<int:pk>/status.json", views.evaluation_status, name="status"),
    path("evaluations/<int:pk>/cancel/", views.evaluation_cancel, name="cancel"),
    path("evaluations/<int:pk>/artifacts/<path:name>", views.evaluation_artifact, name="artifact"),
]
