"""Running background tasks inside a test: django-tasks-db's own worker code, in process."""

from __future__ import annotations


def run_pending_tasks() -> int:
    """Run every task waiting in the database, here, now, with django-tasks-db's own worker
    code (claim, run, record success or failure); returns how many ran. The same code as
    ``manage.py db_worker`` without its polling loop, whose connection housekeeping would end
    the test's transaction (the real worker process is tested in tests/catalog/test_jobs.py).
    """
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult
    from django_tasks_db.utils import exclusive_transaction

    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="pytest",
        excluded_queue_names=[],
    )
    ran = 0
    while True:
        with exclusive_transaction():
            result = DBTaskResult.objects.ready().get_locked()
            if result is None:
                return ran
            result.claim(worker.worker_id)
        worker.run_task(result)
        ran += 1
