from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from .api.schema import docs as api_docs
from .health import healthz

urlpatterns = [
    path("", login_required(lambda request: redirect("datasets:list")), name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/settings/", include("webapp.accounts.urls")),
    path("datasets/", include("webapp.datasets.urls")),
    path("runs/", include("webapp.runs.urls")),
    path("", include("webapp.gallery.urls")),
    path("", include("webapp.evaluations.urls")),
    path("", include("webapp.dashboard.urls")),
    path("api/v1/", include("webapp.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("healthz", healthz, name="healthz"),
    # Pages link the icon; this answers what browsers ask for on their own (JSON, admin, files).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.ico"), permanent=True)),
    path("admin/", admin.site.urls),
]

# On /api/ paths, errors Django answers itself (a body over the size limit, too many fields, a
# crash) come back as the API's JSON; elsewhere as the site's pages.
handler400 = "webapp.api.errors.bad_request_page"
handler500 = "webapp.api.errors.server_error_page"
