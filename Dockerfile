# syntax=docker/dockerfile:1
# Winnow in one image: the web app, its background worker and the `winnow` command line, which
# takes the Lightly worker's arguments and mount points (roles: docker/entrypoint.sh).
#
#   docker build -t winnow .                                      CPU-only torch (default)
#   docker build -t winnow:gpu --build-arg TORCH_VARIANT=cuda .   CUDA torch, for GPU workers
#
# TORCH_VARIANT=cuda installs PyPI's torch wheels, which on x86_64 bundle the CUDA runtime
# (several GB): the host needs only the NVIDIA driver and the NVIDIA container toolkit, and the
# container is started with `--gpus all` (compose: the worker's device reservation). On aarch64
# PyPI's wheels are CPU-only. torch and torchvision are pinned in pyproject.toml (one home).
#
# Build secrets and options, all optional:
#   --secret id=ca,src=FILE        a CA bundle for pip (a TLS-intercepting proxy); mounted for
#                                  the install steps only, never stored in a layer
#   --build-arg PIP_EXTRA_ARGS=... more pip options, e.g. "--index-url https://mirror/simple"
#   --build-arg BASE_IMAGE=...     another Debian-based Python 3.11 image
#   --build-arg EXTRAS=distributed the optional dependencies to add (comma-separated extras of
#                                  pyproject.toml): distributed adds Ray, for the ray-head and
#                                  ray-worker roles and runs with WINNOW_RAY_ADDRESS (compose.ray.yaml)
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ARG TORCH_VARIANT=cpu
ARG TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu
ARG PIP_EXTRA_ARGS=""
ARG EXTRAS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
RUN python3 -m venv /opt/winnow
ENV PATH=/opt/winnow/bin:$PATH
WORKDIR /app

# Dependencies first, in a layer of their own: a source change does not reinstall torch.
COPY pyproject.toml README.md ./
COPY docker/requirements.py docker/requirements.py
RUN --mount=type=secret,id=ca,required=false \
    set -eu; \
    if [ -f /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    case "$TORCH_VARIANT" in \
        cpu) python docker/requirements.py torch > /tmp/torch.txt; \
             pip install $PIP_EXTRA_ARGS --index-url "$TORCH_CPU_INDEX" -r /tmp/torch.txt ;; \
        cuda) ;; \
        *) echo "TORCH_VARIANT must be cpu or cuda, not '$TORCH_VARIANT'" >&2; exit 2 ;; \
    esac; \
    python docker/requirements.py --extras "$EXTRAS" > /tmp/requirements.txt; \
    pip install $PIP_EXTRA_ARGS -r /tmp/requirements.txt

# The package itself, from this checkout. Editable: the web app finds its templates, static
# files and manage.py beside the code in /app (webapp/settings.py's BASE_DIR).
COPY manage.py ./
COPY selection_engine selection_engine
COPY webapp webapp
COPY templates templates
COPY static static
COPY docker docker
RUN --mount=type=secret,id=ca,required=false \
    set -eu; \
    if [ -f /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    pip install $PIP_EXTRA_ARGS --no-deps -e . \
    && python -m compileall -q selection_engine webapp


FROM ${BASE_IMAGE} AS runtime
# No compilers, no test extras: the interpreter of the base image, the venv and the app.
RUN useradd --uid 10001 --user-group --create-home --home-dir /home/winnow winnow \
    && mkdir -p /data /home/input_dir /home/shared_dir /home/output_dir \
    && chown winnow:winnow /data /home/output_dir
COPY --from=build /opt/winnow /opt/winnow
COPY --from=build /app /app
ENV PATH=/opt/winnow/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    NUMBA_CACHE_DIR=/tmp/numba \
    WINNOW_DATA_DIR=/data \
    WINNOW_PORT=8000
USER winnow
WORKDIR /app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
