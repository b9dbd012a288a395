"""Every kind of bundle the county must refuse: refused with a message saying what is wrong, and
the county's workspace file left byte-identical (checked with the workspace closed)."""

from __future__ import annotations

import hashlib
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from povdesk.errors import BadInput
from povdesk.store import Workspace
from povdesk.sync import bundle as fmt
from povdesk.sync import service
from tests.sync.conftest import PW, Pair, make_pair


def _snapshot(path: Path) -> tuple[bytes, bytes | None]:
    wal = Path(f"{path}-wal")
    return path.read_bytes(), wal.read_bytes() if wal.exists() else None


def _refused_untouched(pair: Pair, bundle: Path, match: str) -> str:
    pair.county.close()
    before = _snapshot(pair.county.path)
    try:
        with Workspace.open(pair.county.path) as county, pytest.raises(BadInput, match=match) as err:
            service.import_bundles(county, county.authenticate("county", PW), [bundle])
        assert _snapshot(pair.county.path) == before
        return str(err.value)
    finally:
        pair.county = Workspace.open(pair.county.path)


def _zip_with_path_tricks(pair: Pair, tmp: Path) -> Path:
    """An archive named like a bundle, with entries reaching outside: no archive is ever unpacked."""
    out = tmp / "tricks.pvb"
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("../escape.txt", "outside")
        z.writestr("/tmp/povdesk-absolute.txt", "absolute")
        z.writestr("manifest.json", "{}")
    return out


def _other_county(pair: Pair, tmp: Path) -> Path:
    other = make_pair(tmp / "other", 2) if (tmp / "other").mkdir() is None else None
    assert other is not None
    service.export_bundle(other.village, other.worker, tmp / "elsewhere.pvb")
    service.trust(other.village, other.village.authenticate("admin", PW), pair.dir / "county.key", "county")
    service.export_bundle(other.village, other.worker, tmp / "stranger.pvb")
    raw = fmt.read(tmp / "stranger.pvb")
    m = dict(raw.manifest)
    m["sender"] = {**m["sender"], "device_id": pair.village.device_id,
                   "fingerprint": service.my_fingerprint(pair.village)}
    fmt.write(tmp / "impostor.pvb", m, raw.ciphertext, other.village.device_keys()["sign"][0])
    other.village.close()
    other.county.close()
    return tmp / "elsewhere.pvb"


def _resigned(pair: Pair, tmp: Path, **changes: object) -> Path:
    service.export_bundle(pair.village, pair.worker, tmp / "ok.pvb")
    raw = fmt.read(tmp / "ok.pvb")
    out = tmp / f"changed-{'-'.join(changes)}.pvb"
    fmt.write(out, {**raw.manifest, **changes}, raw.ciphertext, pair.village.device_keys()["sign"][0])
    return out


def _replayed(pair: Pair, tmp: Path) -> Path:
    service.export_bundle(pair.village, pair.worker, tmp / "b1.pvb")
    service.import_bundles(pair.county, pair.coordinator, [tmp / "b1.pvb"])
    return tmp / "b1.pvb"


def _after_a_gap(pair: Pair, tmp: Path) -> Path:
    _replayed(pair, tmp)
    for name in ("b2.pvb", "b3.pvb"):  # b2 lost on the way
        hh = next(pair.village.iter_households())
        hh.fields["phone"] = "1390000000" + name[1]
        pair.village.save_household(hh, pair.worker)
        service.export_bundle(pair.village, pair.worker, tmp / name)
    return tmp / "b3.pvb"


def _bomb(pair: Pair, tmp: Path) -> Path:
    body = b"\n" * (300 * 1024 * 1024)
    service.export_bundle(pair.village, pair.worker, tmp / "ok.pvb")
    raw = fmt.read(tmp / "ok.pvb")
    bundle_id = str(uuid.uuid4())
    ct, section = fmt.seal(body, pair.county.device_keys()["box"][1], bundle_id, pair.village.device_id)
    assert hashlib.sha256(body).hexdigest() == section["sha256"]
    m = {**raw.manifest, "bundle_id": bundle_id, "payload": {**section, "size": 1000}}  # a lie about the size
    fmt.write(tmp / "bomb.pvb", m, ct, pair.village.device_keys()["sign"][0])
    return tmp / "bomb.pvb"


CASES: dict[str, tuple[Callable[[Pair, Path], Path], str]] = {
    "an archive with ../ and absolute entries": (_zip_with_path_tricks, "not a povdesk"),
    "addressed to another county": (_other_county, "addressed to another workspace"),
    "from a device the county does not trust": (
        lambda p, t: (_other_county(p, t), t / "stranger.pvb")[1], "does not trust"),
    "signed with another key": (lambda p, t: (_other_county(p, t), t / "impostor.pvb")[1], "signature is invalid"),
    "from a newer povdesk (schema)": (lambda p, t: _resigned(p, t, schema_version=99), "newer povdesk"),
    "in a newer format": (lambda p, t: _resigned(p, t, format_version=9), "newer than this"),
    "already imported (replayed)": (_replayed, "already been imported"),
    "after a missing one (reordered)": (_after_a_gap, "earlier bundle is missing"),
    "a decompression bomb": (_bomb, "decompression bomb"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refused_and_the_county_is_byte_identical(pair: Pair, tmp_path: Path, case: str) -> None:
    build, match = CASES[case]
    bundle = build(pair, tmp_path)
    message = _refused_untouched(pair, bundle, match)
    assert bundle.name in message or "bundle" in message
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path.parent / "escape.txt").exists()
    assert not Path("/tmp/povdesk-absolute.txt").exists()
