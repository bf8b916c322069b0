"""Settings of the Winnow web app, all from environment variables with laptop-safe defaults.

WINNOW_DATA_DIR           where the SQLite file, uploads, thumbnails and run outputs live (./var)
DATABASE_URL              a database URL (default: SQLite in WINNOW_DATA_DIR)
WINNOW_BROKER             "orm" (default: the database is the queue) or a redis:// URL
WINNOW_DATASOURCE_ROOTS   folders a local datasource may point into, separated by ":" (default:
                          WINNOW_DATA_DIR/datasources)
WINNOW_MAX_UPLOAD_MB      size limit of one predictions/metadata upload (default 200)
WINNOW_MAX_JSON_MB        size limit of a request body that is not a file upload: an API call's
                          JSON (predictions sent as JSON included) or a page's form (default 20)
WINNOW_MAX_PREDICTION_FILE_MB  size limit of each prediction/metadata JSON file, unpacked (default
                          16; the engine and the CLI read it too)
WINNOW_WORKERS            django-q2 worker processes per cluster (default 1: a run uses every core)
WINNOW_S3_ALLOWED_ENDPOINTS  S3 endpoints users may name, separated by commas: "public" (any host
                          whose every address is public), endpoint URLs (http://minio:9000) and
                          host[:port] names allowed wherever they point (default "public"; an
                          empty endpoint, AWS, is always allowed)
WINNOW_S3_ALLOWED_NETWORKS  networks (CIDR, comma-separated) S3 endpoints may resolve into although
                          private, loopback or link-local, e.g. 10.0.0.0/8 (default none)
WINNOW_RAY_ADDRESS        where runs do their per-image work: "" (default: in the worker process),
                          "local" (a Ray started on the worker's machine), "auto" or a Ray head's
                          host:port; needs the distributed extra. It replaces any ray_address a
                          user's worker config gives.
SECRET_KEY, DEBUG, ALLOWED_HOSTS
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from selection_engine.config.documents import check_ray_address
from selection_engine.errors import ConfigError
from selection_engine.formats.jsondoc import max_file_bytes
from selection_engine.sources.endpoints import EndpointPolicy

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("WINNOW_DATA_DIR", BASE_DIR / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _flag(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the data dir."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = DATA_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _flag("DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_q",
    "rest_framework",
    "drf_spectacular",
    "webapp.accounts",
    "webapp.datasets",
    "webapp.runs",
    "webapp.evaluations",
    "webapp.gallery",
    "webapp.api",
    "webapp.dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "webapp.storage.StorageFullMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'winnow.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write to one file: WAL lets readers go on during a write,
    # and IMMEDIATE transactions wait for the lock instead of failing half-way.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cross-process cache: django-q2 keeps its cluster statistics (worker heartbeats) here, so the
# web process can show them. The table is made by `manage.py createcachetable`.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "winnow_cache"}}

BROKER = os.environ.get("WINNOW_BROKER", "orm")
WORKERS = int(os.environ.get("WINNOW_WORKERS", "1"))
#: A run may take this long before django-q2 stops it (seconds).
RUN_TIMEOUT = int(os.environ.get("WINNOW_RUN_TIMEOUT", str(24 * 3600)))
Q_CLUSTER = {
    "name": "winnow",
    "workers": WORKERS,
    "recycle": 50,
    "timeout": RUN_TIMEOUT,
    "retry": RUN_TIMEOUT + 600,  # must exceed timeout, or a long run would be started twice
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Tasks",
}
if BROKER == "orm":
    Q_CLUSTER["orm"] = "default"
else:
    Q_CLUSTER["redis"] = BROKER
Q_CLUSTER["sync"] = _flag("WINNOW_SYNC_TASKS", False)  # tests only: run tasks in the caller

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "datasets:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True  # serve straight from static/ without collectstatic

#: Folders a local datasource may point into.
DATASOURCE_ROOTS = [
    Path(p).expanduser().resolve()
    for p in os.environ.get("WINNOW_DATASOURCE_ROOTS", str(DATA_DIR / "datasources")).split(os.pathsep)
    if p.strip()
]
MAX_UPLOAD_BYTES = int(float(os.environ.get("WINNOW_MAX_UPLOAD_MB", "200")) * 1024 * 1024)
#: Each prediction/metadata file, as unpacked; the engine's readers apply the same limit.
MAX_PREDICTION_FILE_BYTES = max_file_bytes()
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
#: Bodies other than file uploads (JSON, form fields) are read into memory whole, so they have
#: their own limit; over it the API answers 413 (webapp.api.errors).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(float(os.environ.get("WINNOW_MAX_JSON_MB", "20")) * 1024 * 1024)
#: The S3 endpoints users' datasources may connect to (selection_engine/sources/endpoints.py).
try:
    S3_ENDPOINT_POLICY = EndpointPolicy.parse(
        os.environ.get("WINNOW_S3_ALLOWED_ENDPOINTS", "public"), os.environ.get("WINNOW_S3_ALLOWED_NETWORKS", "")
    )
except ValueError as exc:
    raise ImproperlyConfigured(f"WINNOW_S3_ALLOWED_ENDPOINTS / WINNOW_S3_ALLOWED_NETWORKS: {exc}") from None
#: The Ray cluster every run's image pass runs on ("" in the worker process): the operator's
#: choice, never a user's (services.server_keys).
RAY_ADDRESS = os.environ.get("WINNOW_RAY_ADDRESS", "").strip()
try:
    check_ray_address(RAY_ADDRESS, "WINNOW_RAY_ADDRESS")
except ConfigError as exc:
    raise ImproperlyConfigured(str(exc)) from None
#: A running run whose worker has not written for this long is failed (its worker is gone).
STALE_RUN_SECONDS = int(os.environ.get("WINNOW_STALE_RUN_SECONDS", "180"))

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# The REST API (/api/v1/): token or session authentication, each user sees only their objects.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "webapp.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "webapp.api.schema.WinnowAutoSchema",
    "DEFAULT_PARSER_CLASSES": [
        "webapp.api.parsers.JSONDocumentParser",  # depth, NaN and size checked (formats.jsondoc)
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "webapp.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Winnow API",
    "DESCRIPTION": (
        "Datasets, datasources, prediction uploads, runs and their results. Authenticate with "
        "`Authorization: Token <token>` (tokens are made on /accounts/settings/ or by "
        "`manage.py create_api_token <username>`), or with the browser's session."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "webapp.api.schema.add_error_responses",
    ],
}
