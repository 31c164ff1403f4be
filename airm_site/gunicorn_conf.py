"""gunicorn's configuration for ``make serve``: ``gunicorn -c python:airm_site.gunicorn_conf``.

Binds the loopback interface only (a TLS proxy in front answers the world), runs
``WEB_CONCURRENCY`` worker processes (default 2) and writes both the access log and gunicorn's
own log to standard output, as Django's log does.
"""

import os

bind = f"127.0.0.1:{os.environ.get('PORT') or '8000'}"
workers = int(os.environ.get("WEB_CONCURRENCY") or "2")
wsgi_app = "airm_site.wsgi:application"
accesslog = "-"
# Long work runs in the background worker; a request that still takes this long is a fault.
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or "30")
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
