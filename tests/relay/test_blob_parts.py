"""A relay upgraded from before bundle files: the bundles it received then, held as BLOBs in its
database, are moved into files when it starts, and the county still fetches every one of them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from povdesk.relay import db, exchange
from tests.relay.conftest import County, Relay


def _back_to_blobs(database: str) -> int:
    """The relay's storage as the relay before bundle files left it: every part's bytes a BLOB row
    of relay_parts, no file and no relay_part_files row. Returns the parts."""
    engine = db.make_engine(database)
    try:
        with db.transaction(engine) as c:
            folder = Path(str(db.setting(c, "store")))
            rows = c.execute(select(db.parts.c.upload_id, db.parts.c.start, db.parts.c.file)).all()
            db.BLOB_PARTS.create(c)
            for upload_id, start, file in rows:
                path = folder / "parts" / file
                c.execute(db.BLOB_PARTS.insert().values(upload_id=upload_id, start=start, data=path.read_bytes()))
                path.unlink()
            c.execute(db.parts.delete())
    finally:
        engine.dispose()
    return len(rows)


def test_bundles_held_as_blobs_are_moved_to_files_and_fetched(relay: Relay, online: County) -> None:
    c = online
    for v in c.villages:
        assert exchange.upload(v.ws, v.user).uploaded == 1
    relay.stop()
    held = _back_to_blobs(relay.database)
    assert held >= 3
    relay.start(same_port=True)
    engine = db.make_engine(relay.database)
    try:
        with db.reading(engine) as conn:
            assert not db.has_blob_parts(conn)
            files = db.all_part_files(conn)
            folder = Path(str(db.setting(conn, "store")))
        assert len(files) == held and all((folder / "parts" / f).is_file() for f in files)
    finally:
        engine.dispose()
    got = exchange.fetch(c.county.ws, c.county.user)
    assert len(got.fetched) == 3 and not got.refused
    assert c.county.ws.count_households() == sum(r.summary().inserted for r in got.reports) > 0
    # Started again: nothing left to move, nothing fetched twice.
    relay.stop()
    relay.start(same_port=True)
    assert exchange.fetch(c.county.ws, c.county.user).fetched == []
