"""One run at a time builds a dataset: a lease object beside it, created only if absent (a conditional write).

The loser exits with who holds the lease. A lease that no longer protects a live run (it expired, its
process on this host died, or it is this run's own from a failed attempt) is taken over.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time

from medallion.core import config, sidecar
from medallion.core.config import RunContext
from medallion.core.errors import StepFailed
from medallion.core.store_interface import NotFound, Store, StoreError

LEASE_NAME = "_lease.json"  # beside the dataset while a run builds it


def take(store: Store, folder: str, context: RunContext, label: str) -> str:
    """Take the lease of the dataset in ``folder``; returns the lease's key (release it with ``release``)."""
    key = folder + LEASE_NAME
    now = time.time()
    lease = {
        "run_id": context.run_id,
        "workflow": context.workflow,
        "host": hostname(),
        "pid": os.getpid(),
        "taken": sidecar.now(),
        "expires_epoch": now + config.lease_seconds(),
    }
    for _attempt in range(2):
        if store.create(key, json.dumps(lease).encode()):
            return key
        try:
            holder = json.loads(store.read_bytes(key))
        except (NotFound, ValueError):
            continue  # released (or half written) in between: try again
        why = stale(holder, now, context.run_id)
        if why:
            print(f"[{label}] taking over the lease of run {holder.get('run_id')}: {why}", flush=True)
            store.delete(key)
            continue
        raise StepFailed(
            f"[{label}] another run is building this dataset now: run {holder.get('run_id')} "
            f"({holder.get('workflow')}) on {holder.get('host')} since {holder.get('taken')}. "
            f"Wait for it to finish; if it died, its lease {store.url(key)} expires by itself "
            f"(MEDALLION_LEASE_SECONDS) or can be deleted."
        )
    raise StepFailed(f"[{label}] could not take the lease {store.url(key)}: retry the step")


def release(store: Store, key: str, label: str) -> None:
    """Delete the lease; an endpoint that is gone only warns (the next run takes the lease over)."""
    try:
        store.delete(key)
    except StoreError as error:
        print(f"[{label}] warning: could not release the lease: {error}", file=sys.stderr, flush=True)


def stale(holder: dict, now: float, run_id: str) -> str:
    """Why a lease no longer protects a live run ('' when it does)."""
    if holder.get("expires_epoch", 0) < now:
        return "it expired"
    if holder.get("run_id") == run_id:
        return "it is this run's own, left by an attempt that failed (a retry)"
    if holder.get("host") == hostname() and isinstance(holder.get("pid"), int):
        try:
            os.kill(holder["pid"], 0)
        except ProcessLookupError:
            return "its process on this host has died"
        except PermissionError:
            return ""
    return ""


def hostname() -> str:
    return socket.gethostname()
