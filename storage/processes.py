"""Running bot processes: each registers, renews a heartbeat, and takes over the leases of the ones that stopped.

A pending digest's lease (storage.pending) lasts CLAIM_LEASE_SECONDS, long enough for a slow broadcast. A process
that crashed would hold its digests that long; its heartbeat stops at once, so another process (or the restarted
one) hands those leases back after the heartbeat timeout instead, and the next tick delivers them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlmodel import Session

from storage.models import PendingDigest, Process

_PROCESS = Process.__table__  # type: ignore[attr-defined]
_PENDING = PendingDigest.__table__  # type: ignore[attr-defined]


def beat(*, session: Session, owner: str, now: datetime) -> None:
    """Say this process is alive: register it on its first beat, renew its heartbeat after."""
    renewed = session.connection().execute(
        update(_PROCESS).where(_PROCESS.c.owner == owner).values(heartbeat_at=now)).rowcount
    if not renewed:
        session.connection().execute(insert(_PROCESS).values(owner=owner, started_at=now, heartbeat_at=now))


def take_over_dead_leases(*, session: Session, now: datetime, timeout_seconds: float) -> int:
    """Hand back the leases of processes whose heartbeat is older than the timeout, and forget those processes;
    how many digests were freed."""
    dead = select(_PROCESS.c.owner).where(_PROCESS.c.heartbeat_at < now - timedelta(seconds=timeout_seconds))
    freed = session.connection().execute(
        update(_PENDING).where(_PENDING.c.lease_owner.in_(dead)).values(lease_owner=None, lease_until=None)).rowcount
    session.connection().execute(delete(_PROCESS).where(_PROCESS.c.owner.in_(dead.scalar_subquery())))
    return freed


def take_over_every_lease(*, session: Session, owner: str) -> int:
    """The one process a SQLite store has is starting: whatever else holds a lease is dead. How many were freed."""
    freed = session.connection().execute(
        update(_PENDING).where(_PENDING.c.lease_owner.is_not(None), _PENDING.c.lease_owner != owner)
        .values(lease_owner=None, lease_until=None)).rowcount
    session.connection().execute(delete(_PROCESS).where(_PROCESS.c.owner != owner))
    return freed


def forget_process(*, session: Session, owner: str) -> None:
    """A clean stop: this process's leases were handed back already; it leaves the registry."""
    session.connection().execute(delete(_PROCESS).where(_PROCESS.c.owner == owner))

