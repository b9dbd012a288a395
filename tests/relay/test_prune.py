"""Pruning: abandoned partial uploads and the bytes of bundles delivered and acknowledged go; nothing
a laptop or the county still needs does, and an upload repeated after pruning still gets its receipt."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from povdesk.relay import client as rc
from povdesk.relay import db, exchange
from povdesk.sync import service
from tests.relay.conftest import ROOT, County, Relay


def relay_prune(relay: Relay) -> str:
    result = subprocess.run([sys.executable, "-m", "povdesk", "relay", "prune", "--database", relay.database,
                             "--days", "0"], capture_output=True, text=True, cwd=ROOT,
                            env=dict(os.environ, POVDESK_LANG="en"))
    assert result.returncode == 0, result.stderr
    return result.stdout


def relay_rows(relay: Relay, query: Any) -> list[Any]:
    """The rows `query` selects from the relay's own database, read outside the relay process."""
    engine = db.make_engine(relay.database)
    try:
        with db.transaction(engine) as c:
            return list(c.execute(query))
    finally:
        engine.dispose()


def stored(relay: Relay) -> dict[str, str]:
    return {r.bundle_id: r.state for r in relay_rows(relay, select(db.bundles.c.bundle_id, db.bundles.c.state))}


def part_bytes(relay: Relay) -> int:
    (row,) = relay_rows(relay, select(func.coalesce(func.sum(db.parts.c.length), 0)))
    return int(row[0] or 0)


def test_abandoned_uploads_and_acknowledged_bundles_are_pruned(relay: Relay, online: County) -> None:
    c, (v, *_rest) = online, online.villages
    up = exchange.upload(v.ws, v.user)
    (item,) = up.items
    kept = c.dir / "copy.pvb"
    shutil.copyfile(item.file, kept)
    # A large upload begun and abandoned: one part, never finished.
    other = c.villages[1]
    big = c.dir / "big.pvb"
    res = service.export_bundle(other.ws, other.user, big, full=True)
    sha, size = rc.file_digest(big)
    part = big.read_bytes()[:4096]
    with exchange.client_for(other.ws) as cl:
        target = f"/v1/bundles/{res.manifest['bundle_id']}"
        headers = {**cl.signed_headers("PUT", target, part), "x-povdesk-bundle-sha256": sha,
                   "x-povdesk-bundle-size": str(size), "content-range": f"bytes 0-4095/{size}"}
        assert httpx.put(relay.url + target, content=part, headers=headers).status_code == 202

    # Not yet fetched by the county: only the abandoned upload goes.
    assert "pruned 1 abandoned uploads and 0 delivered" in relay_prune(relay)
    assert stored(relay) == {item.bundle_id: "received"}
    got = exchange.fetch(c.county.ws, c.county.user)
    assert len(got.fetched) == 1 and got.pruned is not None and got.pruned.inbox_files == 1
    assert list((exchange.relay_dir(c.county.ws) / "inbox").glob("*.pvb")) == []  # imported: the file went
    # Fetched, but its sender has not yet heard of the county's acknowledgement: kept.
    assert "0 delivered" in relay_prune(relay)

    exchange.upload(c.county.ws, c.county.user)  # the return bundle carries the acknowledgement
    back = exchange.fetch(v.ws, v.user)
    assert back.pruned is not None and back.pruned.outbox_files == 1  # acknowledged: the village's file went
    assert not Path(item.file).exists() and exchange.outbox_items(v.ws)[0].state == "received"
    before = part_bytes(relay)
    assert "1 delivered" in relay_prune(relay)
    assert stored(relay)[item.bundle_id] == "delivered" and part_bytes(relay) < before
    # The same upload again still answers with its original receipt; the county is not offered it again.
    with exchange.client_for(v.ws) as cl:
        again = cl.upload(kept, item.bundle_id)
        assert again.receipt == item.receipt
    assert exchange.fetch(c.county.ws, c.county.user).fetched == []
