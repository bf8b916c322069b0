"""Runs execute inside django-q2's daemonic worker processes, which may not start children by
default; the engine's image loaders are child processes."""

import multiprocessing

from webapp.runs.tasks import child_processes_allowed


def _start_a_child(queue) -> None:
    def child():
        pass

    try:
        with child_processes_allowed():
            process = multiprocessing.get_context("fork").Process(target=child)
            process.start()
            process.join()
        queue.put(("ok", multiprocessing.current_process().daemon))
    except AssertionError as exc:
        queue.put(("refused", str(exc)))


def test_a_daemonic_worker_may_start_the_loaders_child_processes():
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    worker = context.Process(target=_start_a_child, args=(queue,), daemon=True)  # as django-q2 starts its workers
    worker.start()
    worker.join(30)
    assert queue.get(timeout=5) == ("ok", True)  # and it is a daemon again afterwards
