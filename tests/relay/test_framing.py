"""The relay takes a bundle's container apart as its bytes arrive (one pass, no read-back): whatever
the pieces the body comes in, it finds what reading the stored file finds, and refuses the same damage."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest

from povdesk.relay.server import _BadBundle, _feed_files, _Framing
from povdesk.sync import bundle as fmt


def container(manifest: bytes = b'{"k": 1}', cipher: bytes = bytes(range(256)) * 40, tail: bytes = b"\x01" * 66,
              *, magic: bytes = fmt.MAGIC, version: int = fmt.CONTAINER_VERSION) -> bytes:
    return magic + struct.pack(">BI", version, len(manifest)) + manifest + struct.pack(">Q", len(cipher)) + cipher + tail


def fed(data: bytes, piece: int) -> _Framing:
    f = _Framing()
    for i in range(0, len(data), piece):
        f.feed(data[i:i + piece])
    return f


@pytest.mark.parametrize("piece", [1, 7, 13, 66, 4096, 1 << 20])
def test_any_pieces_give_what_the_file_gives(tmp_path: Path, piece: int) -> None:
    data = container()
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / "a").write_bytes(data[:5000])
    (tmp_path / "b").write_bytes(data[5000:])
    from_files = _Framing()
    _feed_files(from_files, [tmp_path / "a", tmp_path / "b"])
    m1, c1, t1 = from_files.checked(len(data), sha)
    m2, c2, t2 = fed(data, piece).checked(len(data), sha)
    assert (m1, c1.digest(), t1) == (m2, c2.digest(), t2) == (b'{"k": 1}', hashlib.sha256(bytes(range(256)) * 40)
                                                               .digest(), b"\x01" * 66)
    # A body whose digest the receive already took is not digested again.
    f = _Framing(digest_whole=False)
    f.feed(data)
    assert f.checked(len(data), sha, sha)[0] == b'{"k": 1}'


@pytest.mark.parametrize(("data", "message"), [
    (b"NOTABNDL" + b"\0" * 100, "this is not a povdesk bundle"),
    (fmt.MAGIC[:4], "this is not a povdesk bundle"),
    (container(version=9), "the bundle container is unsupported or damaged"),
    (container()[:20], "the bundle is incomplete"),
    (container()[:-1], "the bundle's length does not match its framing"),
    (container() + b"x", "the bundle's length does not match its framing"),
])
def test_damage_is_refused_as_before(data: bytes, message: str) -> None:
    for piece in (3, len(data)):
        with pytest.raises(_BadBundle) as err:
            fed(data, piece).checked(len(data), hashlib.sha256(data).hexdigest())
        assert err.value.refusal.text.en == message


def test_other_bytes_than_declared() -> None:
    data = container()
    with pytest.raises(_BadBundle) as err:
        fed(data, 100).checked(len(data), "0" * 64)
    assert "does not match the declared digest" in err.value.refusal.text.en
