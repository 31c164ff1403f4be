"""gunicorn's configuration for ``make serve``: ``gunicorn -c python:airm_site.gunicorn_conf``.

Binds the loopback interface only (a TLS proxy in front answers the world), runs
``WEB_CONCURRENCY`` worker processes (default 2) of ``GUNICORN_THREADS`` threads each (default
1) and writes both the access log and gunicorn's own log to standard output, as Django's log
does.

Threaded workers ("gthread"), not gunicorn's default "sync": a sync worker proves it is alive
only between requests, so the master kills it when one answer takes longer than ``timeout``,
and a streamed download of the whole catalogue (about 7 s on an idle 2-core machine, over 30 s
on a busy one: ``bench/load.py --page download-all``) was cut off mid-file under a 200 status.
A gthread worker's main loop reports every second whatever its threads are doing, so
``timeout`` catches a hung process, not a long download. Otherwise they behave as sync workers
do: a worker accepts a connection only when a thread is free (the others wait in the kernel's
queue for whichever worker frees first, instead of piling up behind a busy one: with gunicorn's
default of 1,000 connections and 4 threads a worker, 32 clients on 3 workers saw one answer in
nine wait over 30 s) and closes it after the answer (the proxy in front keeps the clients'
connections). Each thread holds its own database connection (``CONN_MAX_AGE``).
"""

import os

bind = f"127.0.0.1:{os.environ.get('PORT') or '8000'}"
workers = int(os.environ.get("WEB_CONCURRENCY") or "2")
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or "1")
worker_connections = threads
keepalive = 0
wsgi_app = "airm_site.wsgi:application"
accesslog = "-"
# Long work runs in the background worker; a worker process silent this long is hung.
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or "30")
# gunicorn's control socket would sit at one fixed path (~/.gunicorn/gunicorn.ctl) that every
# gunicorn of the same user on the machine fights over; nothing here uses it.
control_socket_disable = True
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "stream": "ext://sys.stdout",
        },
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "stream": "ext://sys.stdout",
        },
    },
    "formatters": {
        "generic": {
            "format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
            "datefmt": "[%Y-%m-%d %H:%M:%S %z]",
            "class": "logging.Formatter",
        }
    },
}
