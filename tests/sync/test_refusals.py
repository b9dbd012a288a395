"""Every kind of bundle the county must refuse: refused with a message saying what is wrong, and
the county's workspace file left byte-identical (checked with the workspace closed)."""

from __future__ import annotations

import hashlib
import json
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import pytest

from povdesk.errors import BadInput
from povdesk.store import Workspace
from povdesk.sync import bundle as fmt
from povdesk.sync import service
from tests.sync.conftest import PW, Pair, make_pair


def _snapshot(path: Path) -> tuple[bytes, bytes | None]:
    wal = Path(f"{path}-wal")
    return path.read_bytes(), wal.read_bytes() if wal.exists() else None


class _Inline(Executor):
    """Decides when asked: the import's worker path, in this process."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        fut.set_result(fn(*args, **kwargs))
        return fut


def _refused_untouched(pair: Pair, bundle: Path | list[Path], match: str, executor: Executor | None = None) -> str:
    """Refused, and the county file byte for byte as it was. Batches of 5 records, so that a
    refusal met in a bundle's body comes after batches were written (and rolled back)."""
    pair.county.close()
    before = _snapshot(pair.county.path)
    try:
        with Workspace.open(pair.county.path) as county, pytest.raises(BadInput, match=match) as err:
            service.import_bundles(county, county.authenticate("county", PW),
                                   bundle if isinstance(bundle, list) else [bundle], batch=5, executor=executor)
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


def _counts_changed(pair: Pair, tmp: Path) -> Path:
    """A manifest re-signed by the device claiming one member more than the records hold."""
    service.export_bundle(pair.village, pair.worker, tmp / "ok.pvb")
    raw = fmt.read(tmp / "ok.pvb")
    counts = {**raw.manifest["counts"], "members": raw.manifest["counts"]["members"] + 1}
    return _resigned(pair, tmp, counts=counts)


def _villages_changed(pair: Pair, tmp: Path) -> Path:
    """A manifest listing a village its records do not hold."""
    return _resigned(pair, tmp, villages=["522634100201", "522634100202"])


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


def _tampered_body(pair: Pair, tmp: Path, change: Callable[[list[bytes]], None], name: str = "tampered.pvb") -> Path:
    """A bundle the village really signed, whose content (decrypted, changed, sealed again for the
    county) is wrong inside: what a buggy or malicious enrolled device could send."""
    service.export_bundle(pair.village, pair.worker, tmp / f"source-{name}")
    raw = fmt.read(tmp / f"source-{name}")
    box = pair.county.device_keys()["box"]
    lines = fmt.open_payload(raw, box[0], box[1]).split(b"\n")
    change(lines)
    bundle_id = str(uuid.uuid4())
    ct, section = fmt.seal(b"\n".join(lines), box[1], bundle_id, pair.village.device_id)
    fmt.write(tmp / name, {**raw.manifest, "bundle_id": bundle_id, "payload": section}, ct,
              pair.village.device_keys()["sign"][0])
    return tmp / name


def _households_of(lines: list[bytes]) -> range:
    header = json.loads(lines[0])
    return range(1, 1 + header["households"])


def _malformed_last_record(pair: Pair, tmp: Path) -> Path:
    def change(lines: list[bytes]) -> None:
        last = _households_of(lines)[-1]
        record = json.loads(lines[last])
        record["village_code"] = 522634100201  # a number, not a code
        lines[last] = json.dumps(record, ensure_ascii=False).encode()
    return _tampered_body(pair, tmp, change)


def _record_outside_the_village(pair: Pair, tmp: Path) -> Path:
    def change(lines: list[bytes]) -> None:
        last = _households_of(lines)[-1]
        record = json.loads(lines[last])
        record["village_code"] = "522634999999"
        lines[last] = json.dumps(record, ensure_ascii=False).encode()
    return _tampered_body(pair, tmp, change)


def _good_then_malformed(pair: Pair, tmp: Path) -> list[Path]:
    """Two bundles of one import: the first is fine, the second malformed at its end; nothing of
    the first is kept either."""
    service.export_bundle(pair.village, pair.worker, tmp / "first.pvb")
    hh = next(pair.village.iter_households())
    hh.fields["phone"] = "13900000009"
    pair.village.save_household(hh, pair.worker)

    def change(lines: list[bytes]) -> None:
        lines[_households_of(lines)[-1]] = b"{not json"
    return [tmp / "first.pvb", _tampered_body(pair, tmp, change, "second.pvb")]


CASES: dict[str, tuple[Callable[[Pair, Path], Path | list[Path]], str]] = {
    "an archive with ../ and absolute entries": (_zip_with_path_tricks, "not a povdesk"),
    "addressed to another county": (_other_county, "addressed to another workspace"),
    "from a device the county does not trust": (
        lambda p, t: (_other_county(p, t), t / "stranger.pvb")[1], "does not trust"),
    "signed with another key": (lambda p, t: (_other_county(p, t), t / "impostor.pvb")[1], "signature is invalid"),
    "from a newer povdesk (schema)": (lambda p, t: _resigned(p, t, schema_version=99), "newer povdesk"),
    "in a newer format": (lambda p, t: _resigned(p, t, format_version=9), "newer than this"),
    "member count not matching the records": (_counts_changed, "member or step count does not match"),
    "village list not matching the records": (_villages_changed, "villages do not match"),
    "after a missing one (reordered)": (_after_a_gap, "earlier bundle is missing"),
    "a decompression bomb": (_bomb, "decompression bomb"),
    "a malformed record after others were written": (_malformed_last_record, "village_code"),
    "a record outside the sender's village": (_record_outside_the_village, "outside"),
    "a good bundle, then one malformed at its end": (_good_then_malformed, "not valid JSON"),
}


@pytest.mark.parametrize("worker", [False, True], ids=["one process", "with a worker"])
@pytest.mark.parametrize("case", list(CASES))
def test_refused_and_the_county_is_byte_identical(pair: Pair, tmp_path: Path, case: str, worker: bool) -> None:
    build, match = CASES[case]
    bundle = build(pair, tmp_path)
    message = _refused_untouched(pair, bundle, match, _Inline() if worker else None)
    last = bundle[-1] if isinstance(bundle, list) else bundle
    assert last.name in message or "bundle" in message
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path.parent / "escape.txt").exists()
    assert not Path("/tmp/povdesk-absolute.txt").exists()
