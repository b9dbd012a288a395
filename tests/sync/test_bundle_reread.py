"""A verified bundle's ciphertext is not kept until it is applied: it is read again then, and a
file changed in between is refused (nothing written), never imported as it now reads. Its records
are read a line at a time as bytes, numbered and refused as the whole decoded text would be."""

from __future__ import annotations

from pathlib import Path

import pytest

from povdesk.errors import BadInput
from povdesk.store import Workspace
from povdesk.sync import bundle as fmt
from povdesk.sync import service
from tests.sync.conftest import PW, Pair


def _snapshot(path: Path) -> tuple[bytes, bytes | None]:
    wal = Path(f"{path}-wal")
    return path.read_bytes(), wal.read_bytes() if wal.exists() else None


def test_a_bundle_altered_after_it_was_verified_is_refused_and_nothing_written(pair: Pair, tmp_path: Path) -> None:
    first, second = tmp_path / "a.pvb", tmp_path / "b.pvb"
    service.export_bundle(pair.village, pair.worker, first)
    hh = next(pair.village.iter_households())
    hh.fields["address"] = "改过的地址"
    pair.village.save_household(hh, pair.worker)
    service.export_bundle(pair.village, pair.worker, second)
    pair.county.close()
    before = _snapshot(pair.county.path)
    asked = 0

    def cancelled() -> bool:  # asked before each bundle is verified, then between batches
        nonlocal asked
        asked += 1
        if asked == 3:  # both verified, the first being applied: the second's ciphertext changed
            data = bytearray(second.read_bytes())
            data[-100] ^= 0xFF
            second.write_bytes(bytes(data))
        return False

    with Workspace.open(pair.county.path) as county, pytest.raises(BadInput, match="digest") as err:
        service.import_bundles(county, county.authenticate("county", PW), [first, second], batch=5,
                               cancelled=cancelled)
    assert asked >= 3 and "b.pvb" in str(err.value)
    assert _snapshot(pair.county.path) == before
    pair.county = Workspace.open(pair.county.path)


@pytest.mark.parametrize("payload", [b"", b"a", b"a\n", b"\n\nb\r\n\nc", "户\n\n成员\n".encode(), b"x\n" * 5 + b"y",
                                     b"a" * ((1 << 20) - 1) + "户\n".encode()])  # a character across two slices
def test_byte_lines_are_the_text_lines(payload: bytes) -> None:
    assert list(fmt.payload_byte_lines(payload, "p")) == [
        (n, line.encode()) for n, line in fmt.payload_lines(payload, "p")]


def test_byte_lines_refuse_what_is_not_utf8_before_any_line() -> None:
    bad = b"ok\n" * 10 + "户".encode()[:2] + b"\n"
    with pytest.raises(fmt.BundleRefused, match="not UTF-8") as a:
        list(fmt.payload_lines(bad, "p"))
    lines = fmt.payload_byte_lines(bad, "p")
    with pytest.raises(fmt.BundleRefused, match="not UTF-8") as b:
        next(lines)
    assert str(a.value) == str(b.value)
