from django.urls import path

from . import views

app_name = "datasets"
urlpatterns = [
    path("", views.dataset_list, name="list"),
    path("new/", views.dataset_create, name="create"),
    path("<int:pk>/", views.dataset_detail, name="detail"),
    path("<int:pk>/edit/", views.dataset_edit, name="edit"),
    path("<int:pk>/delete/", views.dataset_delete, name="delete"),
    path("<int:pk>/test/", views.dataset_test, name="test"),
    path("<int:pk>/upload/", views.dataset_upload, name="upload"),
    path("<int:pk>/thumbnail/", views.thumbnail, name="thumbnail"),
    path("<int:pk>/tags/<int:tag>/export.<str:fmt>", views.tag_export, name="tag_export"),
    path("<int:pk>/tags/<int:tag>/delete/", views.tag_delete, name="tag_delete"),
]
