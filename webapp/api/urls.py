from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from . import views


class Router(DefaultRouter):
    APIRootView = views.ApiRoot


router = Router(trailing_slash=True)
router.register("datasets", views.DatasetViewSet, basename="dataset")
router.register("runs", views.RunViewSet, basename="run")

app_name = "api"
urlpatterns = [
    path("me/", views.Me.as_view(), name="me"),
    re_path(r"^runs/(?P<pk>[^/]+)/artifacts/(?P<name>.+)$", views.ArtifactDownload.as_view(), name="run-artifact"),
    *router.urls,
    re_path(r"", views.not_found),
]
