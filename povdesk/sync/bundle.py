"""The bundle file: a signed manifest and a compressed payload encrypted to the recipient.

Layout (big-endian lengths; nothing is an archive, so there are no entry names to play tricks with):

    b"POVDBNDL"  8 bytes magic
    u8           container version (1)
    u32          manifest length (at most 1 MiB), then the manifest: canonical UTF-8 JSON
    u64          ciphertext length, then the ciphertext
    u16          signature length (64), then the Ed25519 signature
    end of file  (anything after it is refused)

Signature: Ed25519 by the sender's device key over
`b"povdesk bundle v1\\0" + sha256(manifest) + sha256(ciphertext)`; the manifest also names the
ciphertext's sha256, so `inspect` can show it is intact without any key.

Payload: JSON Lines (a header line, then households in the exchange shape, audit rows, flags and
resolutions), zlib-compressed, then encrypted: an ephemeral X25519 key agrees a secret with the
recipient's X25519 key, HKDF-SHA256 (salt = ephemeral public || recipient public) derives an
AES-256-GCM key, the associated data binds the ciphertext to the bundle id and the sender.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from povdesk.errors import BadInput
from povdesk.i18n import Text, tr
from povdesk.sync.keys import b64, canonical_bytes, unb64

MAGIC = b"POVDBNDL"
CONTAINER_VERSION = 1
FORMAT = "povdesk-bundle"
FORMAT_VERSION = 1
CIPHER = "X25519-HKDF-SHA256-AES-256-GCM"
MAX_MANIFEST = 1 << 20
# A county of 100,000 households is about 500 MB of JSON; more is refused rather than unpacked.
MAX_PAYLOAD = 2 << 30
# JSON of households compresses about 5:1; a ratio far beyond that is a decompression bomb.
MAX_RATIO = 100
_SIG_CONTEXT = b"povdesk bundle v1\x00"
_AAD_CONTEXT = b"povdesk bundle v1 aad\x00"
_HKDF_INFO = b"povdesk bundle v1 AES-256-GCM"
HEAD = len(MAGIC) + 1 + 4  # the magic, the container version, the manifest's length
TAIL = 2 + 64  # the signature's length, then the Ed25519 signature


class BundleRefused(BadInput):
    """The bundle cannot be used; nothing was written. The message says what is wrong."""


def _refuse(where: str, zh: str, en: str, **values: object) -> BundleRefused:
    return BundleRefused(tr(zh, en, **values), where=where)


def _aad(bundle_id: str, sender: str) -> bytes:
    return _AAD_CONTEXT + bundle_id.encode() + b"\x00" + sender.encode()


class Sealer:
    """A payload compressed as it is fed, piece by piece, then encrypted whole: what is held is
    the compressed payload, not the text (a county's return bundle is many times its compressed size)."""

    def __init__(self) -> None:
        self._zlib = zlib.compressobj(6)
        self._parts: list[bytes] = []
        self._sha = hashlib.sha256()
        self.size = 0

    def feed(self, data: bytes) -> None:
        self._sha.update(data)
        self.size += len(data)
        self._parts.append(self._zlib.compress(data))

    def finish(self, recipient_box: bytes, bundle_id: str, sender: str) -> tuple[bytes, dict[str, Any]]:
        """Encrypt; returns the ciphertext and the manifest's `payload` section."""
        self._parts.append(self._zlib.flush())
        compressed = b"".join(self._parts)
        self._parts = []
        eph = X25519PrivateKey.generate()
        eph_pub = eph.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        shared = eph.exchange(X25519PublicKey.from_public_bytes(recipient_box))
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub + recipient_box, info=_HKDF_INFO).derive(shared)
        nonce = os.urandom(12)
        ciphertext = AESGCM(key).encrypt(nonce, compressed, _aad(bundle_id, sender))
        section = {"cipher": CIPHER, "compression": "zlib", "ephemeral_public": b64(eph_pub), "nonce": b64(nonce),
                   "size": self.size, "compressed_size": len(compressed), "sha256": self._sha.hexdigest(),
                   "ciphertext_sha256": hashlib.sha256(ciphertext).hexdigest()}
        return ciphertext, section


def seal(payload: bytes, recipient_box: bytes, bundle_id: str, sender: str) -> tuple[bytes, dict[str, Any]]:
    """Compress and encrypt; returns the ciphertext and the manifest's `payload` section."""
    sealer = Sealer()
    sealer.feed(payload)
    return sealer.finish(recipient_box, bundle_id, sender)


def write(path: Path, manifest: dict[str, Any], ciphertext: bytes, sign_private: bytes) -> None:
    """Write the bundle to a temporary name, then rename: a half-written file never looks finished."""
    mbytes = canonical_bytes(manifest)
    sig = Ed25519PrivateKey.from_private_bytes(sign_private).sign(
        _SIG_CONTEXT + hashlib.sha256(mbytes).digest() + hashlib.sha256(ciphertext).digest())
    tmp = path.with_name(path.name + ".part")
    try:
        with tmp.open("wb") as fh:
            fh.write(MAGIC + struct.pack(">BI", CONTAINER_VERSION, len(mbytes)))
            fh.write(mbytes)
            fh.write(struct.pack(">Q", len(ciphertext)))
            fh.write(ciphertext)
            fh.write(struct.pack(">H", len(sig)) + sig)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BadInput(tr("无法写入文件：{e}", "cannot write the file: {e}", e=exc.strerror), where=str(path)) from None


@dataclass(frozen=True)
class RawBundle:
    """A bundle read from disk, structurally sound, not yet verified."""

    path: Path
    manifest: dict[str, Any]
    manifest_bytes: bytes
    ciphertext: bytes
    signature: bytes

    @property
    def where(self) -> str:
        return str(self.path)


def _open(path: Path) -> tuple[int, BinaryIO]:
    try:
        return path.stat().st_size, path.open("rb")
    except OSError as exc:
        raise BundleRefused(tr("无法打开文件：{e}", "cannot open the file: {e}", e=exc.strerror),
                            where=str(path)) from None


def _manifest_bytes(fh: BinaryIO, where: str) -> bytes:
    head = fh.read(HEAD)
    if len(head) < len(MAGIC) or head[:len(MAGIC)] != MAGIC:
        raise _refuse(where, "不是 povdesk 同步包", "not a povdesk sync bundle")
    if len(head) < HEAD:
        raise _refuse(where, "同步包不完整（文件被截断）", "the bundle is incomplete (the file was cut short)")
    version, mlen = struct.unpack(">BI", head[len(MAGIC):])
    if version != CONTAINER_VERSION:
        raise _refuse(where, "同步包容器版本 {v} 不受支持（本版本支持 {k}），请升级 povdesk",
                      "bundle container version {v} is not supported (this povdesk reads {k}); upgrade povdesk",
                      v=version, k=CONTAINER_VERSION)
    if mlen > MAX_MANIFEST:
        raise _refuse(where, "同步包清单过大（文件已损坏）", "the bundle manifest is too large (damaged file)")
    mbytes = fh.read(mlen)
    if len(mbytes) < mlen:
        raise _refuse(where, "同步包不完整（文件被截断）", "the bundle is incomplete (the file was cut short)")
    return mbytes


def _parse_manifest(mbytes: bytes, where: str) -> dict[str, Any]:
    try:
        manifest = json.loads(mbytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _refuse(where, "同步包清单已损坏（不是 JSON）", "the bundle manifest is damaged (not JSON)") from None
    _check_manifest(manifest, where)
    return dict(manifest)


def read_manifest(path: Path) -> dict[str, Any]:
    """Only the manifest, for a preview before import: read from the head of the file, its shape
    checked, nothing verified (import checks everything)."""
    _size, fh = _open(path)
    with fh:
        return _parse_manifest(_manifest_bytes(fh, str(path)), str(path))


def read(path: Path) -> RawBundle:
    """Read the container and check its structure and the manifest's shape (no keys needed)."""
    where = str(path)
    size, fh = _open(path)
    with fh:
        mbytes = _manifest_bytes(fh, where)
        mlen = len(mbytes)
        clen_raw = fh.read(8)
        if len(clen_raw) < 8:
            raise _refuse(where, "同步包不完整（文件被截断）", "the bundle is incomplete (the file was cut short)")
        (clen,) = struct.unpack(">Q", clen_raw)
        expected = HEAD + mlen + 8 + clen + TAIL
        if size < expected:
            raise _refuse(where, "同步包不完整（文件被截断，缺少 {n} 字节）",
                          "the bundle is incomplete (the file was cut short, {n} bytes missing)", n=expected - size)
        if size > expected:
            raise _refuse(where, "同步包末尾有多余的 {n} 字节（文件被改动过）",
                          "the bundle has {n} unexpected bytes at its end (the file was altered)", n=size - expected)
        ciphertext = fh.read(clen)
        tail = fh.read(TAIL)
        if len(ciphertext) < clen or len(tail) < TAIL:
            raise _refuse(where, "同步包不完整（文件被截断）", "the bundle is incomplete (the file was cut short)")
    (slen,) = struct.unpack(">H", tail[:2])
    if slen != 64:
        raise _refuse(where, "同步包的签名部分已损坏", "the bundle's signature block is damaged")
    return RawBundle(path, _parse_manifest(mbytes, where), mbytes, ciphertext, tail[2:])


_MANIFEST_SHAPE: dict[str, type | tuple[type, ...]] = {
    "format": str, "format_version": int, "schema_version": int, "bundle_id": str, "kind": str,
    "sender": dict, "recipient": dict, "villages": list, "seq": dict, "ack": int, "counts": dict,
    "payload": dict, "created_at": str, "full": bool,
}


def _check_manifest(m: Any, where: str) -> None:
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise _refuse(where, "不是 povdesk 同步包（清单格式不对）", "not a povdesk sync bundle (wrong manifest format)")
    fv = m.get("format_version")
    if isinstance(fv, int) and fv > FORMAT_VERSION:
        raise _refuse(where, "同步包格式版本 {v} 比本版本支持的 {k} 新，请升级 povdesk",
                      "bundle format version {v} is newer than this povdesk reads ({k}); upgrade povdesk",
                      v=fv, k=FORMAT_VERSION)
    for key, kind in _MANIFEST_SHAPE.items():
        if not isinstance(m.get(key), kind) or (kind is int and isinstance(m.get(key), bool)):
            raise _refuse(where, "同步包清单缺少或写错了“{k}”", "the bundle manifest lacks or garbles '{k}'", k=key)
    for section, keys in (("sender", ("device_id", "fingerprint", "region_code", "level", "name")),
                          ("recipient", ("device_id", "fingerprint"))):
        for k in keys:
            if not isinstance(m[section].get(k), str):
                raise _refuse(where, "同步包清单缺少“{k}”", "the bundle manifest lacks '{k}'", k=f"{section}.{k}")
    for k in ("first", "last"):
        if not isinstance(m["seq"].get(k), int) or m["seq"][k] < 0:
            raise _refuse(where, "同步包清单的序号范围不对", "the bundle manifest's sequence range is wrong")
    p = m["payload"]
    for k, kind in (("cipher", str), ("size", int), ("compressed_size", int), ("sha256", str),
                    ("ciphertext_sha256", str), ("ephemeral_public", str), ("nonce", str)):
        if not isinstance(p.get(k), kind):
            raise _refuse(where, "同步包清单缺少“{k}”", "the bundle manifest lacks '{k}'", k=f"payload.{k}")
    if p["cipher"] != CIPHER or p.get("compression") != "zlib":
        raise _refuse(where, "同步包使用了不支持的加密或压缩方式（{c}）", "the bundle uses an unsupported cipher or "
                      "compression ({c})", c=p["cipher"])


def check_manifest(m: Any, where: str) -> None:
    """The manifest's shape and versions (BundleRefused if wrong), for a reader that holds only the
    manifest, such as the relay."""
    _check_manifest(m, where)


def digests_signed(sign_public: bytes, manifest_sha256: bytes, ciphertext_sha256: bytes, signature: bytes) -> bool:
    """Whether `signature` is the sender's over a bundle whose manifest bytes and ciphertext have these
    SHA-256 digests (a reader that streams the file, such as the relay, never holds it whole)."""
    try:
        Ed25519PublicKey.from_public_bytes(sign_public).verify(signature,
                                                               _SIG_CONTEXT + manifest_sha256 + ciphertext_sha256)
        return True
    except (InvalidSignature, ValueError):
        return False


def signature_ok(raw: RawBundle, sign_public: bytes) -> bool:
    return digests_signed(sign_public, hashlib.sha256(raw.manifest_bytes).digest(),
                          hashlib.sha256(raw.ciphertext).digest(), raw.signature)


def ciphertext_ok(raw: RawBundle) -> bool:
    return hashlib.sha256(raw.ciphertext).hexdigest() == raw.manifest["payload"]["ciphertext_sha256"]


def open_payload(raw: RawBundle, box_private: bytes, box_public: bytes) -> bytes:
    """Decrypt and decompress with hard limits (the declared size, MAX_PAYLOAD, MAX_RATIO)."""
    where = raw.where
    p = raw.manifest["payload"]
    size, csize = p["size"], p["compressed_size"]
    if size > MAX_PAYLOAD or size < 0 or csize < 0 or size > max(csize, 1) * MAX_RATIO:
        raise _refuse(where, "同步包声明的解压后大小异常（{n} 字节，疑似压缩炸弹），已拒绝",
                      "the bundle declares an implausible unpacked size ({n} bytes; a decompression bomb?)", n=size)
    eph_pub = unb64(p["ephemeral_public"], "ephemeral_public", 32)
    nonce = unb64(p["nonce"], "nonce", 12)
    try:
        shared = X25519PrivateKey.from_private_bytes(box_private).exchange(X25519PublicKey.from_public_bytes(eph_pub))
    except ValueError:
        raise _refuse(where, "同步包的临时公钥无效", "the bundle's ephemeral key is invalid") from None
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub + box_public, info=_HKDF_INFO).derive(shared)
    try:
        compressed = AESGCM(key).decrypt(nonce, raw.ciphertext,
                                         _aad(raw.manifest["bundle_id"], raw.manifest["sender"]["device_id"]))
    except InvalidTag:
        raise _refuse(where, "无法解密同步包：它不是加密给本工作区的密钥的，或已被改动",
                      "cannot decrypt the bundle: it was not encrypted to this workspace's key, or it was "
                      "altered") from None
    if len(compressed) != csize:
        raise _refuse(where, "同步包的压缩数据大小与清单不符", "the bundle's compressed size does not match its manifest")
    d = zlib.decompressobj()
    try:
        out = d.decompress(compressed, size + 1)
    except zlib.error:
        raise _refuse(where, "同步包的压缩数据已损坏", "the bundle's compressed data is damaged") from None
    if len(out) > size or d.unconsumed_tail:
        raise _refuse(where, "同步包解压后超过声明的大小（疑似压缩炸弹），已拒绝",
                      "the bundle unpacks to more than it declares (a decompression bomb?); refused")
    if len(out) != size or not d.eof:
        raise _refuse(where, "同步包的压缩数据不完整", "the bundle's compressed data is incomplete")
    if hashlib.sha256(out).hexdigest() != p["sha256"]:
        raise _refuse(where, "同步包内容的摘要与清单不符", "the bundle's content does not match its digest")
    return out


def payload_lines(payload: bytes, where: str) -> Iterator[tuple[int, str]]:
    """The payload's non-empty lines as text, (line number, line)."""
    for n, line in payload_byte_lines(payload, where):
        yield n, line.decode("utf-8")


def payload_byte_lines(payload: bytes, where: str) -> Iterator[tuple[int, bytes]]:
    """The payload's non-empty lines as bytes, (line number, line), without a decoded copy of the
    whole payload and a list of its lines beside it (a line at a time); refused unless the whole
    payload is UTF-8, checked first, a slice at a time."""
    check = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(payload)
    try:
        for at in range(0, len(payload), 1 << 20):
            check.decode(view[at:at + (1 << 20)])
        check.decode(b"", final=True)
    except UnicodeDecodeError:
        raise _refuse(where, "同步包内容不是 UTF-8 文本", "the bundle's content is not UTF-8 text") from None
    finally:
        view.release()
    for n, line in enumerate(io.BytesIO(payload), 1):
        if line[-1:] == b"\n":
            line = line[:-1]  # noqa: PLW2901
        if line:
            yield n, line


def describe(manifest: dict[str, Any]) -> list[tuple[Text, str]]:
    """Label/value rows for `bundle inspect`."""
    s, r, seq, c = manifest["sender"], manifest["recipient"], manifest["seq"], manifest["counts"]
    kind = {"village": tr("村→县", "village → county"), "return": tr("县→村（回传）", "county → village (return)"),
            "province": tr("县→省", "county → province"),
            "province-return": tr("省→县（回传标记）", "province → county (flags)")}
    return [
        (tr("格式", "format"), f"{manifest['format']} v{manifest['format_version']}, schema {manifest['schema_version']}"),
        (tr("类型", "kind"), kind.get(manifest["kind"], Text(manifest["kind"], manifest["kind"])).get()),
        (tr("同步包编号", "bundle id"), manifest["bundle_id"]),
        (tr("发送设备", "from device"), f"{s['device_id']} {s['region_code']} {s['name']} ({s['level']})"),
        (tr("发送方指纹", "sender fingerprint"), s["fingerprint"]),
        (tr("接收方指纹", "addressed to"), f"{r['fingerprint']} ({r['device_id']})"),
        (tr("村", "villages"), ", ".join(manifest["villages"])),
        (tr("序号范围", "sequence range"), f"{seq['first']}–{seq['last']}" + (" (full)" if manifest["full"] else "")),
        (tr("确认已收到对方序号", "acknowledges up to"), str(manifest["ack"])),
        (tr("数量", "counts"), ", ".join(f"{k} {v}" for k, v in sorted(c.items()))),
        (tr("内容摘要", "payload sha256"), manifest["payload"]["sha256"]),
        (tr("密文摘要", "ciphertext sha256"), manifest["payload"]["ciphertext_sha256"]),
        (tr("加密", "cipher"), manifest["payload"]["cipher"]),
        (tr("创建时间", "created"), manifest["created_at"]),
    ]
