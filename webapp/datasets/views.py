"""Dataset pages: list, create, edit, delete, test the connection, upload predictions; a
dataset's tags (export, delete) and the thumbnails of its images."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponseBadRequest, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from selection_engine.errors import WinnowError

from ..validation import QueryError, id_param
from . import exports, services
from .forms import DatasetForm, UploadForm
from .models import Tag
from .selectors import dataset_of, datasets_of
from .thumbnails import SIZE, thumbnail_file
from .uploads import receive_upload


def post_to_dataset(view):
    """A form action of the dataset page (POST only): a GET of its address (a reload after the
    POST, a bookmarked or pasted link) goes to the dataset's page instead of a blank 405.
    Another user's dataset stays a 404; other methods are still refused with 405."""

    @wraps(view)
    def wrapper(request, pk: int, **kwargs):
        if request.method in ("GET", "HEAD"):
            dataset_of(request.user, pk)
            return redirect("datasets:detail", pk=pk)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return view(request, pk, **kwargs)

    return wrapper


@login_required
def dataset_list(request):
    return render(request, "datasets/list.html", {"datasets": datasets_of(request.user)})


def _save(request, form: DatasetForm, template: str, context: dict):
    if form.is_valid():
        new = form.instance.pk is None
        dataset = form.save(commit=False)
        dataset.owner = request.user
        changed = form.apply_datasource(dataset)
        try:
            services.save_dataset(dataset, changed=None if new else changed)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            report = services.test_connection(dataset)
            if report.ok:
                messages.success(request, f"Saved. The datasource holds {report.image_count} images.")
            else:
                messages.warning(request, f"Saved, but the datasource cannot be read: {report.error}")
            return redirect("datasets:detail", pk=dataset.pk)
    return render(request, template, {"form": form, **context})


@login_required
def dataset_create(request):
    form = DatasetForm(request.POST or None, owner=request.user)
    if request.method != "POST":
        return render(request, "datasets/form.html", {"form": form, "title": "New dataset"})
    return _save(request, form, "datasets/form.html", {"title": "New dataset"})


@login_required
def dataset_edit(request, pk: int):
    dataset = dataset_of(request.user, pk)
    form = DatasetForm(request.POST or None, instance=dataset, owner=request.user)
    context = {"title": f"Edit {dataset.name}", "dataset": dataset}
    if request.method != "POST":
        return render(request, "datasets/form.html", {"form": form, **context})
    return _save(request, form, "datasets/form.html", context)


def _detail(request, dataset, connection=None):
    return render(request, "datasets/detail.html", {
        "dataset": dataset,
        "connection": connection,
        "tasks": dataset.tasks.all(),
        "upload_form": UploadForm(),
        "uploads": dataset.uploads.all()[:5],
        "runs": dataset.runs.all()[:10],
        "evaluations": dataset.evaluations.all()[:10],
        "tags": dataset.tags.select_related("run"),
    })


@login_required
def dataset_detail(request, pk: int):
    return _detail(request, dataset_of(request.user, pk))


@login_required
@post_to_dataset
def dataset_test(request, pk: int):
    dataset = dataset_of(request.user, pk)
    return _detail(request, dataset, connection=services.test_connection(dataset))


@login_required
def dataset_delete(request, pk: int):
    dataset = dataset_of(request.user, pk)
    if request.method == "POST":
        name = dataset.name
        services.delete_dataset(dataset)
        messages.success(request, f"Deleted dataset {name} (the images in its datasource were not touched).")
        return redirect("datasets:list")
    return render(request, "datasets/confirm_delete.html", {"dataset": dataset})


@login_required
@post_to_dataset
def dataset_upload(request, pk: int):
    dataset = dataset_of(request.user, pk)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a .zip file to upload.")
        return redirect("datasets:detail", pk=pk)
    upload = receive_upload(dataset, request.user, form.cleaned_data["archive"])
    (messages.success if upload.accepted else messages.error)(request, f"{upload.filename}: {upload.summary}")
    return redirect(reverse("datasets:detail", kwargs={"pk": pk}) + f"#upload-{upload.pk}")


# -- tags ----------------------------------------------------------------------------------


def export_download(request, images: exports.ImageSet, fmt: str, back: str):
    """The export of ``images`` as ``fmt`` (an unknown format is no page: 404); a zip whose
    datasource cannot be opened goes back to ``back`` saying why."""
    if fmt not in exports.FORMATS:
        raise Http404("Unknown export format")
    try:
        return exports.export_response(images, fmt)
    except WinnowError as exc:
        messages.error(request, f"Cannot read the images of {images.dataset.name}: {exc}")
        return redirect(back)


@login_required
def tag_export(request, pk: int, tag: int, fmt: str):
    found = get_object_or_404(Tag, pk=tag, dataset=dataset_of(request.user, pk))
    return export_download(request, exports.of_tag(found), fmt, reverse("datasets:detail", kwargs={"pk": pk}) + "#tags")


@login_required
@post_to_dataset
def tag_delete(request, pk: int, tag: int):
    found = get_object_or_404(Tag, pk=tag, dataset=dataset_of(request.user, pk))
    found.delete()
    messages.success(request, f"Deleted tag {found.name}.")
    return redirect("datasets:detail", pk=pk)


# -- thumbnails ----------------------------------------------------------------------------

#: Thumbnail sizes a page may ask for: the grid's, and the detail view's.
SIZES = (SIZE, 1024)


@login_required
@require_GET
@cache_control(private=True, max_age=7 * 24 * 3600)
def thumbnail(request, pk: int):
    dataset = dataset_of(request.user, pk)
    name = request.GET.get("name", "")
    try:
        size = id_param(request.GET, "size", "a size in pixels") or SIZE
    except QueryError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    if size not in SIZES:
        raise Http404("Unsupported thumbnail size")
    try:
        path = thumbnail_file(dataset, name, size)
    except (WinnowError, OSError):  # no such file, or not a readable image (UnreadableImage)
        raise Http404("No such image") from None
    return FileResponse(open(path, "rb"), content_type="image/jpeg")
