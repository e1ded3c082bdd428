"""gunicorn settings for `make run`, `make bench-events` and the HTTP tests.

DEBUG is always off under gunicorn: the project's own error pages, JSON errors
under /api/, static files from whitenoise. `make dev` is the DEBUG server.
"""

import os

wsgi_app = "pseudorec.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads per worker: concurrent requests share one loaded model per process.
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 120
raw_env = ["DJANGO_DEBUG=0"]
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
