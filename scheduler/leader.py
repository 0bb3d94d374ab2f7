"""Leader election for scheduler sidecars over the ``scheduler_lease`` row.

Each sidecar has a unique ``holder`` (``host:pid:random``) and calls ``heartbeat()`` every
``ttl/3`` seconds; the heartbeat takes or renews the lease in its own transaction
(``domain.jobs.service.acquire_or_renew``). A sidecar considers itself leader only until its
last successful renewal plus the ttl (minus a safety margin), measured on the monotonic clock,
so a sidecar that cannot reach the database stops running jobs before another one can take
over. The sidecar that does not hold the lease logs ``standby`` and keeps trying; when the
leader dies its lease expires after at most ``ttl`` seconds and a standby takes over.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from db.engine import session_scope
from db.types import utcnow
from domain.actor import SYSTEM
from domain.jobs import service as jobs_service
from domain.jobs.queries import LeaseDTO, current_lease

log = logging.getLogger("scheduler.leader")

#: fraction of the ttl a leader trusts its lease for (the rest absorbs clock drift and
#: the time the renewal took)
SAFETY = 0.8


def make_holder() -> str:
    """A unique sidecar identity ``"<hostname>:<pid>:<8 hex>"`` (at most 120 characters)."""
    host = socket.gethostname()[:80]
    return f"{host}:{os.getpid()}:{secrets.token_hex(4)}"


class LeaderElector:
    """Holds (or waits for) the lease ``name`` on behalf of one sidecar.

    Args:
        engine: database engine (each heartbeat is its own transaction).
        name: lease name, default ``"scheduler"``.
        holder: identity; default ``make_holder()``.
        ttl_seconds: lease lifetime in seconds; renew every ``ttl_seconds / 3``.
        clock: returns aware UTC now (tests inject one).

    Thread-safe: the heartbeat job and job guards may call ``heartbeat()`` concurrently.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        name: str = jobs_service.DEFAULT_LEASE,
        holder: str | None = None,
        ttl_seconds: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self.engine = engine
        self.name = name
        self.holder = holder or make_holder()
        self.ttl_seconds = float(ttl_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self._valid_until = 0.0  # monotonic seconds
        self._state: str | None = None  # "leader" | "standby" | None (never ran)

    @property
    def renew_interval(self) -> float:
        """Seconds between heartbeats: a third of the ttl."""
        return self.ttl_seconds / 3

    @property
    def is_leader(self) -> bool:
        """True while the last successful renewal is still trusted (monotonic clock)."""
        return time.monotonic() < self._valid_until

    def heartbeat(self) -> bool:
        """Take or renew the lease now; log ``leader``/``standby`` when the role changes.

        Database errors are logged, not raised: leadership then lapses on its own when the
        trusted window ends.

        Returns:
            ``is_leader`` after the attempt.
        """
        with self._lock:
            started = time.monotonic()
            try:
                with session_scope(self.engine) as s:
                    ok = jobs_service.acquire_or_renew(
                        s,
                        name=self.name,
                        holder=self.holder,
                        ttl_seconds=self.ttl_seconds,
                        now=self._clock(),
                    )
            except Exception:
                log.exception("lease heartbeat failed for %s", self.holder)
                return self.is_leader
            if ok:
                self._valid_until = started + self.ttl_seconds * SAFETY
                if self._state != "leader":
                    self._state = "leader"
                    lease = self._lease()
                    log.info(
                        "leader: %s holds lease %r (fencing token %s, ttl %.1fs)",
                        self.holder,
                        self.name,
                        lease.fencing_token if lease else "?",
                        self.ttl_seconds,
                    )
            else:
                self._valid_until = 0.0
                if self._state != "standby":
                    self._state = "standby"
                    lease = self._lease()
                    log.info(
                        "standby: %s waits; lease %r held by %s until %s",
                        self.holder,
                        self.name,
                        lease.holder if lease else "?",
                        lease.expires_at.isoformat() if lease else "?",
                    )
            return self.is_leader

    def release(self) -> bool:
        """Give the lease up (graceful shutdown) so a standby takes over at once.

        Returns:
            True when this sidecar held the lease and released it.
        """
        with self._lock:
            self._valid_until = 0.0
            if self._state != "leader":
                return False
            self._state = "standby"
            try:
                with session_scope(self.engine) as s:
                    released = jobs_service.release(
                        s, name=self.name, holder=self.holder, now=self._clock()
                    )
            except Exception:
                log.exception("lease release failed for %s", self.holder)
                return False
            if released:
                log.info("released lease %r held by %s", self.name, self.holder)
            return released

    def _lease(self) -> LeaseDTO | None:
        try:
            with session_scope(self.engine, readonly=True) as s:
                return current_lease(s, SYSTEM, name=self.name)
        except Exception:  # pragma: no cover - only feeds a log line
            return None
