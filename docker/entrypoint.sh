#!/bin/sh
# One image, every role. The first argument picks it:
#
#   web                  prepare the database (migrations, cache table, admin account; one
#                        container at a time), then the web server on 0.0.0.0:$WINNOW_PORT
#   worker               a django-q2 worker cluster (manage.py qcluster); with WINNOW_RAY_ADDRESS
#                        a head's host:port, it first joins that Ray cluster as a node with no
#                        CPUs of its own (a driver must run on a node of the cluster)
#   ray-head             a Ray cluster's head (port $WINNOW_RAY_PORT, default 6379), in the
#                        foreground; its CPUs and GPUs run image passes too
#   ray-worker           a Ray node joining the head at $WINNOW_RAY_HEAD (host:port)
#   key=value ...        the `winnow` command line, drop-in for the Lightly worker's
#                        `docker run ... lightly/worker token=... method=coral ...`: input_dir,
#                        shared_dir and output_dir default to the worker's mount points
#   evaluate key=value   `winnow evaluate` with the same defaults
#   winnow ...           `winnow` exactly as given (no defaults); --help also lands here
#   manage ...           manage.py, e.g. `manage ensure_admin` or `manage createsuperuser`
#   anything else        run as a command (bash, python, ...)
set -eu

LIGHTLY_MOUNTS="input_dir=/home/input_dir shared_dir=/home/shared_dir output_dir=/home/output_dir"

case "${1:-web}" in
    web)
        shift $(( $# > 0 ? 1 : 0 ))
        python /app/manage.py prepare_database
        exec python /app/manage.py serve --no-worker --host 0.0.0.0 "$@"
        ;;
    worker)
        shift
        case "${WINNOW_RAY_ADDRESS:-}" in
            ""|local|auto|ray://*) ;;
            *) ray start --address="$WINNOW_RAY_ADDRESS" --num-cpus=0 --num-gpus=0 --disable-usage-stats ;;
        esac
        exec python /app/manage.py qcluster "$@"
        ;;
    ray-head)
        shift
        exec ray start --head --port="${WINNOW_RAY_PORT:-6379}" --include-dashboard=false --disable-usage-stats \
            --block "$@"
        ;;
    ray-worker)
        shift
        exec ray start --address="${WINNOW_RAY_HEAD:?set WINNOW_RAY_HEAD to the Ray head host:port}" \
            --disable-usage-stats --block "$@"
        ;;
    evaluate)
        shift
        # Later arguments win, so the user's own input_dir=... replaces the default.
        # shellcheck disable=SC2086
        exec winnow evaluate $LIGHTLY_MOUNTS "$@"
        ;;
    *=*)
        # shellcheck disable=SC2086
        exec winnow $LIGHTLY_MOUNTS "$@"
        ;;
    winnow)
        shift
        exec winnow "$@"
        ;;
    -h|--help|help)
        exec winnow --help
        ;;
    manage)
        shift
        exec python /app/manage.py "$@"
        ;;
    *)
        exec "$@"
        ;;
esac
