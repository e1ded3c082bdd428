"""gunicorn settings for `make run`, `make bench-events` and the HTTP tests.

DEBUG is always off under gunicorn: the project's own error pages, JSON errors
under /api/, static files from whitenoise. `make dev` is the DEBUG server.
"""

import gc
import os

# One thread per serving process (README: TORCH_THREADS). Set before the master
# imports torch or faiss: an OpenMP pool made in the master would not survive
# the fork into the workers.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

wsgi_app = "pseudorec.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Two single-threaded workers per core: a worker runs Python under one lock,
# so its threads add no CPU; and a browser's keep-alive connection stays with
# the worker that accepted it, so a worker with idle threads gathered
# connections while another sat idle (docs/BENCHMARKS.md, "Serving bars":
# 8 clients, 2 workers x 4 threads against 4 x 1). With one thread gunicorn
# runs its sync worker, which closes the connection after each response, so
# every request goes to whichever worker is free (keep-alive with one thread,
# the gthread worker, gained nothing: BENCHMARKS.md, "Tried and dropped").
workers = int(os.environ.get("WEB_CONCURRENCY", str(2 * (os.cpu_count() or 1))))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = 120
raw_env = ["DJANGO_DEBUG=0"]
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None

# The application, torch and the served NGCF model are loaded once, in the
# master, before the workers fork: the workers share those pages instead of each
# holding its own interpreter heap and model (the item matrices are memory-mapped
# files in any case; docs/DESIGN.md, one copy per host). A worker that later sees
# a replaced checkpoint loads it itself, mapping the new files.
preload_app = True
# gunicorn's control socket (one fixed path per user) would be shared by every
# server of the same user on a host, tests and benchmarks included; the site uses
# the classic signals instead (SIGHUP reloads, SIGTERM stops).
control_socket_disable = True


def when_ready(server):
    if os.environ.get("GUNICORN_PRELOAD_MODEL", "1") != "1":
        return
    from django.db import connections

    # The digest of the fine-tuning code that kept For-you rows are kept
    # under, read from the code the master holds (workers forked again later
    # run that code, whatever is on disk by then).
    import movie.recommendations.selectors  # noqa: F401
    from movie.recommendations.predictor import preload_predictor

    # No watcher thread in the master: a thread touching the database while the
    # master forks a worker would hand the worker SQLite's lock state mid-query.
    state = preload_predictor()
    # Finding the champion used the database: no connection may be inherited by
    # the forked workers.
    connections.close_all()
    server.log.info("NGCF model preloaded: %s", state.problem or "ready")
    # What the master loaded (Django, torch, the model: about 200k objects) lives
    # as long as the workers: out of the collector's reach, so a worker's full
    # collection no longer walks it (one took 0.18 s of a page, measured in
    # BENCHMARKS.md, "Where a page's time goes"), and no collection writes to
    # the shared pages the fork handed the workers.
    gc.freeze()
