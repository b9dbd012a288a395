"""Signatures of the relay protocol: requests (device keys), receipts (the relay's key), device lists (the county's).

Every primitive is Ed25519 from `cryptography`; what is signed is a context string followed by
canonical bytes, so a signature of one kind can never be passed off as another.

- A request: `"povdesk relay request v1\\0"` + method, path (with query), the body's SHA-256,
  time (Unix seconds), nonce and device id, one per line. Sent in the X-Povdesk-* headers.
- A receipt: the relay's statement that it holds a bundle (id, digest, size, received at, state,
  expected next sequence), canonical JSON, signed with the relay's own key.
- A device list: the county's signed statement of the devices the relay may serve for it, with
  the revoked ones; a later list (higher serial) replaces an earlier one.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from povdesk.errors import BadInput
from povdesk.i18n import tr
from povdesk.sync.keys import b64, canonical_bytes, unb64

REQUEST_CONTEXT = b"povdesk relay request v1\x00"
RECEIPT_CONTEXT = b"povdesk relay receipt v1\x00"
DEVICE_LIST_CONTEXT = b"povdesk relay devices v1\x00"
RECEIPT_FORMAT = "povdesk-relay-receipt"
DEVICE_LIST_FORMAT = "povdesk-relay-devices"
DEVICE_LIST_VERSION = 1
MAX_DEVICE_LIST = 4 << 20

H_DEVICE = "x-povdesk-device"
H_TIME = "x-povdesk-time"
H_NONCE = "x-povdesk-nonce"
H_BODY = "x-povdesk-content-sha256"
H_SIGNATURE = "x-povdesk-signature"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def relay_fingerprint(public: bytes) -> str:
    """The relay key's fingerprint, read aloud like a device's: 8 groups of 4 base32 characters."""
    digest = hashlib.sha256(b"povdesk relay v1\x00" + public).digest()[:20]
    text = base64.b32encode(digest).decode("ascii")
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The relay's own signing key (PEM, PKCS#8), made on first start with mode 0600."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        return key
    except OSError as exc:
        raise BadInput(tr("无法读取中转服务器密钥：{e}", "cannot read the relay key: {e}", e=exc.strerror),
                       where=str(path)) from None
    loaded: object = None
    with contextlib.suppress(ValueError, TypeError):
        loaded = load_pem_private_key(data, password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise BadInput(tr("不是中转服务器的 Ed25519 密钥文件", "not a relay Ed25519 key file"), where=str(path))
    return loaded


# ---------------------------------------------------------------------------------------------
# Requests


def request_message(method: str, target: str, body_sha256: str, timestamp: str, nonce: str, device_id: str) -> bytes:
    return REQUEST_CONTEXT + "\n".join((method.upper(), target, body_sha256, timestamp, nonce, device_id)).encode()


def sign_request(sign_private: bytes, device_id: str, method: str, target: str, body_sha256: str,
                 now: float) -> dict[str, str]:
    """The headers that authenticate one request (`target` is the path with its query string)."""
    timestamp = str(int(now))
    nonce = base64.urlsafe_b64encode(os.urandom(18)).decode("ascii")
    sig = Ed25519PrivateKey.from_private_bytes(sign_private).sign(
        request_message(method, target, body_sha256, timestamp, nonce, device_id))
    return {H_DEVICE: device_id, H_TIME: timestamp, H_NONCE: nonce, H_BODY: body_sha256, H_SIGNATURE: b64(sig)}


def request_signature_ok(sign_public: bytes, signature_b64: str, method: str, target: str, body_sha256: str,
                         timestamp: str, nonce: str, device_id: str) -> bool:
    try:
        sig = base64.b64decode(signature_b64, validate=True)
        Ed25519PublicKey.from_public_bytes(sign_public).verify(
            sig, request_message(method, target, body_sha256, timestamp, nonce, device_id))
        return True
    except (InvalidSignature, ValueError):
        return False


# ---------------------------------------------------------------------------------------------
# Receipts


def sign_receipt(key: Ed25519PrivateKey, body: dict[str, Any]) -> dict[str, Any]:
    body = {"format": RECEIPT_FORMAT, "version": 1, "relay": relay_fingerprint(raw_public(key)), **body}
    return {**body, "signature": b64(key.sign(RECEIPT_CONTEXT + canonical_bytes(body)))}


def receipt_ok(relay_public: bytes, receipt: Any) -> bool:
    """True when `receipt` is a receipt signed by this relay key (the pinned one)."""
    if not isinstance(receipt, dict) or receipt.get("format") != RECEIPT_FORMAT:
        return False
    body = {k: v for k, v in receipt.items() if k != "signature"}
    try:
        sig = base64.b64decode(str(receipt.get("signature", "")), validate=True)
        Ed25519PublicKey.from_public_bytes(relay_public).verify(sig, RECEIPT_CONTEXT + canonical_bytes(body))
    except (InvalidSignature, ValueError):
        return False
    return body.get("relay") == relay_fingerprint(relay_public)


# ---------------------------------------------------------------------------------------------
# Device lists


@dataclass(frozen=True)
class ListedDevice:
    device_id: str
    sign_public: bytes
    fingerprint: str
    region_code: str
    level: str
    name: str
    revoked: bool
    # How far the county has received this device's outbox, and sent its own to it (by any road):
    # where the relay starts counting gaps.
    received_up_to: int
    sent_up_to: int


@dataclass(frozen=True)
class DeviceList:
    county_id: str
    county_sign_public: bytes
    county_fingerprint: str
    county_region: str
    serial: int
    issued_at: str
    devices: tuple[ListedDevice, ...]


def make_device_list(county_id: str, sign_private: bytes, county_fingerprint: str, county_region: str,
                     serial: int, issued_at: str, devices: list[ListedDevice]) -> str:
    body = {
        "format": DEVICE_LIST_FORMAT, "version": DEVICE_LIST_VERSION, "serial": serial, "issued_at": issued_at,
        "county": {"device_id": county_id, "fingerprint": county_fingerprint, "region_code": county_region,
                   "sign_public": b64(raw_public(Ed25519PrivateKey.from_private_bytes(sign_private)))},
        "devices": [{"device_id": d.device_id, "sign_public": b64(d.sign_public), "fingerprint": d.fingerprint,
                     "region_code": d.region_code, "level": d.level, "name": d.name, "revoked": d.revoked,
                     "received_up_to": d.received_up_to, "sent_up_to": d.sent_up_to} for d in devices],
    }
    sig = Ed25519PrivateKey.from_private_bytes(sign_private).sign(DEVICE_LIST_CONTEXT + canonical_bytes(body))
    return json.dumps({**body, "signature": b64(sig)}, ensure_ascii=False, indent=1) + "\n"


def read_device_list(raw: bytes, where: str = "") -> DeviceList:
    """Parse a county's device list and check its self-signature (who the county is, the relay
    decides: the first list of a county is trusted by the operator who loads it)."""
    def bad(zh: str, en: str) -> BadInput:
        return BadInput(tr(zh, en), where=where or None)

    if len(raw) > MAX_DEVICE_LIST:
        raise bad("文件太大，不是设备名单", "too large for a device list")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise bad("不是 povdesk 设备名单（不是 JSON）", "not a povdesk device list (not JSON)") from None
    if not isinstance(data, dict) or data.get("format") != DEVICE_LIST_FORMAT:
        raise bad("不是 povdesk 设备名单", "not a povdesk device list")
    if data.get("version") != DEVICE_LIST_VERSION:
        raise bad("设备名单版本不受支持，请升级 povdesk", "this device list version is not supported; upgrade povdesk")
    try:
        county = data["county"]
        sign_public = unb64(county["sign_public"], "sign_public", 32)
        sig = unb64(data["signature"], "signature", 64)
        body = {k: v for k, v in data.items() if k != "signature"}
        Ed25519PublicKey.from_public_bytes(sign_public).verify(sig, DEVICE_LIST_CONTEXT + canonical_bytes(body))
        devices = tuple(
            ListedDevice(str(d["device_id"]), unb64(d["sign_public"], "sign_public", 32), str(d["fingerprint"]),
                         str(d["region_code"]), str(d["level"]), str(d["name"]), bool(d["revoked"]),
                         int(d["received_up_to"]), int(d["sent_up_to"]))
            for d in data["devices"])
        return DeviceList(str(county["device_id"]), sign_public, str(county["fingerprint"]),
                          str(county["region_code"]), int(data["serial"]), str(data["issued_at"]), devices)
    except InvalidSignature:
        raise bad("设备名单的签名无效（文件被改动过）", "the device list's signature is invalid (the file was altered)") \
            from None
    except (KeyError, TypeError, ValueError, BadInput):
        raise bad("设备名单缺少或写错了内容", "the device list lacks or garbles an entry") from None
