"""A Python client for the Winnow web app's REST API (``/api/v1/``). No Django here: ``requests``.

The calls mirror the Lightly worker's Python example, so an ML pipeline can schedule runs from
code with the same config dicts::

    from selection_engine.client import WinnowClient

    client = WinnowClient("http://127.0.0.1:8000", token="wnw_...")
    dataset_id = client.create_dataset("cars", {"type": "local", "path": "/data/cars"})
    client.upload_predictions(dataset_id, "/data/cars/.lightly")
    run_id = client.schedule_compute_worker_run(
        worker_config={"method": "coral", "stopping_condition": {"n_samples": 100},
                       "active_learning": {"task_name": "cars", "score_name": "uncertainty_margin"}},
        lightly_config={"loader": {"batch_size": 64}},
        dataset_id=dataset_id,
    )
    client.wait_for_run(run_id)
    selection = client.download_selection(run_id)   # [{"filenames": ..., "rank": ..., <scores>}, ...]
    tasks = client.export_selection(run_id, "labelstudio")            # Label Studio tasks JSON (text)
    client.export_selection(run_id, "zip", path="selected.zip")       # the selected images, streamed

Every failed call raises an :class:`ApiError` (or a subclass) carrying the server's message and,
for bad input, ``errors``: the problem per field or dotted config key.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import IO, Any, overload
from urllib.parse import quote

import requests

from .formats.archive import zip_folder

#: A JSON object as the API sends and takes it.
JSONObject = dict[str, Any]

__all__ = [
    "ApiError", "AuthenticationError", "BadRequest", "NotFound", "RunFailed", "WinnowClient",
]


class ApiError(Exception):
    """The server refused a request (or could not be reached): ``status`` (0: no answer),
    ``detail`` (its message) and ``errors`` ({field or config key: message}, maybe empty)."""

    def __init__(self, status: int, detail: str, errors: dict[str, str] | None = None, url: str = ""):
        self.status = status
        self.detail = detail
        self.errors = dict(errors or {})
        self.url = url
        lines = [f"{detail} (HTTP {status}{' ' + url if url else ''})" if status else detail]
        lines += [f"  {key}: {message}" for key, message in self.errors.items() if message not in detail]
        super().__init__("\n".join(lines))


class AuthenticationError(ApiError):
    """401/403: the token is missing, wrong or revoked, or the call is not allowed."""


class NotFound(ApiError):
    """404: no such dataset, run or artifact among yours."""


class BadRequest(ApiError):
    """400: bad input (a config key, a datasource, an upload); ``errors`` says what and where."""


class RunFailed(ApiError):
    """``wait_for_run``: the run ended failed or canceled; ``run`` is its last state."""

    def __init__(self, run: JSONObject):
        self.run = run
        super().__init__(0, f"Run {run.get('id')} {run.get('state')}: {run.get('error') or 'no reason given'}")


_ERRORS = {400: BadRequest, 401: AuthenticationError, 403: AuthenticationError, 404: NotFound}


class WinnowClient:
    """The REST API of the Winnow server at ``base_url`` (e.g. ``http://127.0.0.1:8000``), as the
    user owning ``token`` (made on the settings page or by ``manage.py create_api_token``)."""

    def __init__(self, base_url: str, token: str, timeout: float = 60.0, session: requests.Session | None = None):
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url: expected http(s)://host[:port], got {base_url!r}")
        if not token:
            raise ValueError("token: an API token is required (create one on your settings page)")
        self.base_url = base_url.rstrip("/")
        self.api_url = self.base_url + "/api/v1"
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.session.headers.setdefault("Accept", "application/json")

    # ------------------------------------------------------------------ plumbing

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.api_url}/{path.lstrip('/')}"

    def _request(self, method: str, path: str, *, stream: bool = False, **kwargs: Any) -> requests.Response:
        url = self._url(path)
        try:
            response = self.session.request(method, url, timeout=kwargs.pop("timeout", self.timeout), stream=stream, **kwargs)
        except requests.RequestException as exc:
            raise ApiError(0, f"Cannot reach the Winnow server at {self.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise self._error(response)
        return response

    @staticmethod
    def _error(response: requests.Response) -> ApiError:
        detail, errors = response.reason or "error", {}
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            detail = str(body.get("detail") or detail)
            if isinstance(body.get("errors"), dict):
                errors = {str(k): str(v) for k, v in body["errors"].items()}
        elif response.text:
            detail = f"{detail}: {response.text[:300]}"
        kind = _ERRORS.get(response.status_code, ApiError)
        return kind(response.status_code, detail, errors, url=f"{response.request.method} {response.url}")

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    def _object(self, method: str, path: str, **kwargs: Any) -> JSONObject:
        """The JSON object the call answers (as the server sent it, unchecked)."""
        body: JSONObject = self._json(method, path, **kwargs)
        return body

    def _list(self, method: str, path: str, **kwargs: Any) -> list[JSONObject]:
        """The JSON list of objects the call answers (as the server sent it, unchecked)."""
        items: list[JSONObject] = self._json(method, path, **kwargs)
        return items

    def _id(self, method: str, path: str, **kwargs: Any) -> int:
        """The ``id`` of the object the call answers (as the server sent it, unchecked)."""
        object_id: int = self._json(method, path, **kwargs)["id"]
        return object_id

    def _all(self, path: str, params: dict[str, Any] | None = None) -> list[JSONObject]:
        """Every item of a paginated list (limit/offset pages or cursor pages: follows ``next``)."""
        items: list[JSONObject] = []
        page = self._json("GET", path, params=params)
        while True:
            if isinstance(page, list):
                return items + page
            items.extend(page["results"])
            if not page.get("next"):
                return items
            page = self._json("GET", page["next"])

    # ------------------------------------------------------------------ account and datasets

    def whoami(self) -> JSONObject:
        """``{"id": ..., "username": ...}`` of the token's user (a cheap check of the token)."""
        return self._object("GET", "me/")

    def create_dataset(self, name: str, datasource: JSONObject, description: str = "") -> int:
        """Create a dataset on ``datasource`` and return its id.

        ``datasource``: ``{"type": "local", "path": "/data/images"}`` (a folder under one of the
        server's WINNOW_DATASOURCE_ROOTS) or ``{"type": "s3", "bucket": ..., "prefix": ...,
        "endpoint_url": ..., "region": ..., "access_key_id": ..., "secret_access_key": ...}``.
        """
        body = {"name": name, "description": description, "datasource": dict(datasource)}
        return self._id("POST", "datasets/", json=body)

    def get_dataset(self, dataset_id: int) -> JSONObject:
        """The dataset: name, datasource (without its secret), image count, prediction tasks."""
        return self._object("GET", f"datasets/{int(dataset_id)}/")

    def list_datasets(self) -> list[JSONObject]:
        return self._all("datasets/")

    def delete_dataset(self, dataset_id: int) -> None:
        self._request("DELETE", f"datasets/{int(dataset_id)}/")

    def set_datasource(self, dataset_id: int, datasource: JSONObject) -> JSONObject:
        """Point the dataset at another datasource; returns the updated dataset."""
        return self._object("PUT", f"datasets/{int(dataset_id)}/datasource/", json=dict(datasource))

    def test_datasource(self, dataset_id: int) -> JSONObject:
        """``{"ok": ..., "image_count": ..., "examples": [...], "error": ...}``."""
        return self._object("POST", f"datasets/{int(dataset_id)}/datasource/test/")

    # ------------------------------------------------------------------ predictions and metadata

    def upload_predictions(self, dataset_id: int, path: str | os.PathLike[str]) -> JSONObject:
        """Upload predictions and/or metadata: a ``.zip``, or a folder (zipped on the fly).

        The folder may be a ``.lightly`` folder, its ``predictions``/``metadata`` folder, a task
        folder (with its ``schema.json``), or a datasource root holding ``.lightly``. Every file is
        validated by the server; the upload is all or nothing. Returns the accepted upload's report;
        a rejected one raises :class:`BadRequest` whose ``errors`` map each bad file to its problem.
        """
        path = Path(path)
        if path.is_file():
            with open(path, "rb") as handle:
                return self._upload(dataset_id, path.name, handle)
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: no such file or folder")
        with tempfile.TemporaryFile(suffix=".zip") as archive:
            zip_folder(path, archive)
            archive.seek(0)
            return self._upload(dataset_id, f"{path.resolve().name or 'upload'}.zip", archive)

    def upload_files(self, dataset_id: int, files: dict[str, Any]) -> JSONObject:
        """Upload prediction/metadata files given as JSON: ``{".lightly/predictions/<task>/<image>.json": {...}}``."""
        return self._object("POST", f"datasets/{int(dataset_id)}/uploads/", json={"files": files})

    def _upload(self, dataset_id: int, name: str, handle: IO[bytes]) -> JSONObject:
        files = {"file": (name, handle, "application/zip")}
        return self._object("POST", f"datasets/{int(dataset_id)}/uploads/", files=files, timeout=max(self.timeout, 600))

    # ------------------------------------------------------------------ runs

    def schedule_compute_worker_run(
        self,
        worker_config: JSONObject | None = None,
        lightly_config: JSONObject | None = None,
        selection_config: JSONObject | None = None,
        dataset_id: int | None = None,
    ) -> int:
        """Queue a run on ``dataset_id`` with the Lightly worker's config dicts, as they are;
        returns the run id. A bad key raises :class:`BadRequest` naming it."""
        if dataset_id is None:
            raise ValueError("dataset_id: which dataset should the run select from?")
        body = {
            "dataset": int(dataset_id),
            "worker_config": worker_config or {},
            "lightly_config": lightly_config or {},
            "selection_config": selection_config,
        }
        return self._id("POST", "runs/", json=body)

    def get_run(self, run_id: int) -> JSONObject:
        """The run: ``state`` (queued, running, completed, failed, canceled), ``stage``,
        ``progress_done``/``progress_total``, ``fraction_done``, ``error``, ``log_tail``, configs."""
        return self._object("GET", f"runs/{int(run_id)}/")

    def list_runs(self, dataset_id: int | None = None, state: str | None = None) -> list[JSONObject]:
        params = {k: v for k, v in (("dataset", dataset_id), ("state", state)) if v is not None}
        return self._all("runs/", params)

    def cancel_run(self, run_id: int) -> JSONObject:
        """Cancel a queued run at once, a running one at its next progress step; the run after."""
        run: JSONObject = self._object("POST", f"runs/{int(run_id)}/cancel/")["run"]
        return run

    def rerun(self, run_id: int) -> int:
        """Queue a new run with the same configs; returns its id."""
        return self._id("POST", f"runs/{int(run_id)}/rerun/")

    def wait_for_run(
        self, run_id: int, timeout: float | None = None, poll_interval: float = 2.0, progress: bool = True
    ) -> JSONObject:
        """Poll until the run finishes, with a progress bar; returns the completed run.

        Raises :class:`RunFailed` if it failed or was canceled, ``TimeoutError`` after ``timeout``
        seconds (the run goes on).
        """
        from tqdm.auto import tqdm

        deadline = None if timeout is None else time.monotonic() + timeout
        with tqdm(total=100, desc=f"run {run_id}", unit="%", disable=not progress,
                  bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}]") as bar:
            while True:
                run = self.get_run(run_id)
                bar.set_description(f"run {run_id} {run['state']}" + (f": {run['stage']}" if run.get("stage") else ""))
                bar.n = round(100 * float(run.get("fraction_done") or 0.0))
                bar.refresh()
                if run["state"] == "completed":
                    bar.n = 100
                    bar.refresh()
                    return run
                if run["state"] in ("failed", "canceled"):
                    raise RunFailed(run)
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f"run {run_id} is still {run['state']} after {timeout} s")
                time.sleep(poll_interval if deadline is None else max(0.0, min(poll_interval, deadline - time.monotonic())))

    # ------------------------------------------------------------------ results

    def download_selection(self, run_id: int) -> list[JSONObject]:
        """The selected samples by rank: ``[{"filenames": ..., "rank": ..., "score": ..., <every score column>}, ...]``."""
        return self._all(f"runs/{int(run_id)}/selection/", {"page_size": 1000})

    def list_samples(self, run_id: int, selected: bool | None = None, **filters: Any) -> list[JSONObject]:
        """The run's samples with their scores; ``selected`` and ``score_min``, ``score_max``,
        ``sort``, ``order`` filter and sort them."""
        params = {"page_size": 1000, **{k: v for k, v in filters.items() if v is not None}}
        if selected is not None:
            params["selected"] = "true" if selected else "false"
        return self._all(f"runs/{int(run_id)}/samples/", params)

    def list_tags(self, dataset_id: int) -> list[JSONObject]:
        """``[{"id", "name", "size", "run", "query", "created_at"}, ...]``; each run tags its selection."""
        return self._list("GET", f"datasets/{int(dataset_id)}/tags/")

    def create_tag(self, dataset_id: int, name: str, filenames: list[str] | None = None,
                   run_id: int | None = None, filters: dict[str, Any] | None = None) -> JSONObject:
        """Tag ``filenames``, or every sample of ``run_id`` matching gallery ``filters``
        (e.g. ``{"tab": "all", "class": "cat", "score_min": 0.5}``)."""
        body: dict[str, Any] = {"name": name}
        if filenames is not None:
            body["filenames"] = list(filenames)
        if run_id is not None:
            body["run"] = int(run_id)
            body["filters"] = {k: str(v) for k, v in (filters or {}).items()}
        return self._object("POST", f"datasets/{int(dataset_id)}/tags/", json=body)

    @overload
    def export_tag(self, dataset_id: int, tag_id: int, file_format: str = "txt", *, path: None = None) -> str: ...

    @overload
    def export_tag(self, dataset_id: int, tag_id: int, file_format: str = "txt", *,
                   path: str | os.PathLike[str]) -> Path: ...

    def export_tag(self, dataset_id: int, tag_id: int, file_format: str = "txt", *,
                   path: str | os.PathLike[str] | None = None) -> str | Path:
        """The tag's export as ``file_format``: its filenames as ``csv``, ``json`` or ``txt`` (one
        per line), a Label Studio tasks file (``labelstudio``), a COCO images list (``coco``), or
        the images themselves (``zip``, which needs ``path``). The text, or, given ``path``,
        written there (streamed) and the path returned. A format the server does not know is a
        :class:`BadRequest` naming ``file_format``."""
        return self._export(f"datasets/{int(dataset_id)}/tags/{int(tag_id)}/export/", file_format, path)

    @overload
    def export_selection(self, run_id: int, file_format: str, *, path: None = None) -> str: ...

    @overload
    def export_selection(self, run_id: int, file_format: str, *, path: str | os.PathLike[str]) -> Path: ...

    def export_selection(self, run_id: int, file_format: str, *,
                         path: str | os.PathLike[str] | None = None) -> str | Path:
        """A completed run's selection, by rank, in ``file_format`` (the formats of :meth:`export_tag`),
        e.g. ``client.export_selection(run_id, "labelstudio")`` or
        ``client.export_selection(run_id, "zip", path="selected.zip")``."""
        return self._export(f"runs/{int(run_id)}/selection/export/", file_format, path)

    def _export(self, api_path: str, file_format: str, path: str | os.PathLike[str] | None) -> str | Path:
        if path is None and file_format == "zip":
            raise ValueError("file_format zip: give path= to write the archive to")
        response = self._request("GET", api_path, params={"file_format": file_format}, stream=path is not None,
                                 headers={"Accept": "*/*"})
        return response.text if path is None else self._save(response, path)

    def delete_tag(self, dataset_id: int, tag_id: int) -> None:
        self._request("DELETE", f"datasets/{int(dataset_id)}/tags/{int(tag_id)}/")

    def list_artifacts(self, run_id: int) -> list[JSONObject]:
        """``[{"name": "report.pdf", "size": ..., "url": ...}, ...]``: every file the run wrote."""
        return self._list("GET", f"runs/{int(run_id)}/artifacts/")

    def download_artifact(self, run_id: int, name: str, path: str | os.PathLike[str] | None = None) -> bytes | Path:
        """The run's file ``name`` (e.g. ``report.pdf``, ``data/selected_samples.csv``): its bytes,
        or, given ``path``, written there (streamed) and the path returned."""
        response = self._request("GET", f"runs/{int(run_id)}/artifacts/{quote(name.lstrip('/'))}", stream=True,
                                 headers={"Accept": "*/*"})
        if path is None:
            with response:
                return response.content
        return self._save(response, path)

    @staticmethod
    def _save(response: requests.Response, path: str | os.PathLike[str]) -> Path:
        """The response's body written to ``path`` as it arrives (complete, or not there at all)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        with response, open(partial, "wb") as handle:
            for chunk in response.iter_content(1 << 20):
                handle.write(chunk)
        partial.replace(target)
        return target
