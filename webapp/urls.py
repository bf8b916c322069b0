from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import include, path

from .health import healthz

urlpatterns = [
    path("", login_required(lambda request: redirect("datasets:list")), name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("datasets/", include("webapp.datasets.urls")),
    path("runs/", include("webapp.runs.urls")),
    path("", include("webapp.gallery.urls")),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
