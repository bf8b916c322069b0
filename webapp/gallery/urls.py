from django.urls import path

from . import views

urlpatterns = [
    path("runs/<int:pk>/gallery/", views.gallery, name="gallery"),
    path("runs/<int:pk>/samples/<int:sample>/", views.sample_detail, name="sample"),
    path("runs/<int:pk>/plots/", views.run_plots, name="plots"),
    path("runs/<int:pk>/tags/", views.tag_from_view, name="tag_from_view"),
    path("runs/compare/", views.compare, name="compare"),
    path("vendor/plotly.min.js", views.plotly_js, name="plotly_js"),
]
