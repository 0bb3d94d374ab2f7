"""The scheduler sidecar: an APScheduler 3.x process that runs ChargeOps' periodic jobs.

Run it with ``python -m scheduler`` (see ``scheduler.runner``). Several sidecars may run; the
one holding the ``scheduler_lease`` row (``scheduler.leader``) runs the jobs, the others stay
on standby and take over when its lease expires. Every run is logged in ``job_run``
(``scheduler.jobs.run_job``). Jobs call the domain layer only: ``scheduler -> domain -> db``.
"""
