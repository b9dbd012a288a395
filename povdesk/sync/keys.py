"""Device identity: fingerprints and the signed public-key file a device hands to its county.

Each workspace holds two independent key pairs (made by migration 0002): Ed25519 signs bundles
and key files; X25519 receives bundles encrypted to it. The fingerprint covers both public keys,
so comparing it by phone authenticates both.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from povdesk.errors import BadInput
from povdesk.i18n import tr

KEY_FILE_FORMAT = "povdesk-device-key"
KEY_FILE_VERSION = 1
MAX_KEY_FILE = 64 * 1024
_SIGN_CONTEXT = b"povdesk key file v1\x00"


def fingerprint(sign_public: bytes, box_public: bytes) -> str:
    """32 base32 characters in 8 groups of 4 (160 bits), easy to read aloud: `ABCD-EFGH-...`."""
    digest = hashlib.sha256(b"povdesk device v1\x00" + sign_public + box_public).digest()[:20]
    text = base64.b32encode(digest).decode("ascii")
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: Any, what: str, size: int | None = None) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True) if isinstance(text, str) else None
    except ValueError:
        raw = None
    if raw is None or (size is not None and len(raw) != size):
        raise BadInput(tr("{what} 不是有效的密钥", "{what} is not a valid key", what=what))
    return raw


def canonical_bytes(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class DeviceCard:
    """What a key file says about a device."""

    device_id: str
    workspace_id: str
    region_code: str
    level: str
    name: str
    sign_public: bytes
    box_public: bytes
    created_at: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.sign_public, self.box_public)


def write_key_file(card: DeviceCard, sign_private: bytes) -> str:
    body = {
        "format": KEY_FILE_FORMAT, "version": KEY_FILE_VERSION, "device_id": card.device_id,
        "workspace_id": card.workspace_id, "region_code": card.region_code, "level": card.level,
        "name": card.name, "sign_public": b64(card.sign_public), "box_public": b64(card.box_public),
        "fingerprint": card.fingerprint, "created_at": card.created_at,
    }
    sig = Ed25519PrivateKey.from_private_bytes(sign_private).sign(_SIGN_CONTEXT + canonical_bytes(body))
    return json.dumps({**body, "signature": b64(sig)}, ensure_ascii=False, indent=2) + "\n"


def read_key_file(path: Path) -> DeviceCard:
    """Parse and check a key file: its format, its keys and its self-signature."""
    where = str(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_KEY_FILE + 1)
    except OSError as exc:
        raise BadInput(tr("无法打开文件：{e}", "cannot open the file: {e}", e=exc.strerror), where=where) from None
    if len(raw) > MAX_KEY_FILE:
        raise BadInput(tr("文件太大，不是 povdesk 密钥文件", "too large for a povdesk key file"), where=where)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadInput(tr("不是 povdesk 密钥文件（不是 JSON）", "not a povdesk key file (not JSON)"),
                       where=where) from None
    if not isinstance(data, dict) or data.get("format") != KEY_FILE_FORMAT:
        raise BadInput(tr("不是 povdesk 密钥文件", "not a povdesk key file"), where=where)
    if data.get("version") != KEY_FILE_VERSION:
        raise BadInput(tr("密钥文件版本 {v} 不受支持（本版本支持 {k}），请升级 povdesk",
                          "key file version {v} is not supported (this povdesk reads {k}); upgrade povdesk",
                          v=data.get("version"), k=KEY_FILE_VERSION), where=where)
    for key in ("device_id", "workspace_id", "region_code", "level", "name", "created_at", "fingerprint"):
        if not isinstance(data.get(key), str):
            raise BadInput(tr("密钥文件缺少“{k}”", "the key file has no '{k}'", k=key), where=where)
    try:
        card = DeviceCard(data["device_id"], data["workspace_id"], data["region_code"], data["level"],
                          data["name"], unb64(data.get("sign_public"), "sign_public", 32),
                          unb64(data.get("box_public"), "box_public", 32), data["created_at"])
        sig = unb64(data.get("signature"), "signature", 64)
    except BadInput as exc:
        raise BadInput(exc.text, where=where) from None
    body = {k: v for k, v in data.items() if k != "signature"}
    try:
        Ed25519PublicKey.from_public_bytes(card.sign_public).verify(sig, _SIGN_CONTEXT + canonical_bytes(body))
    except InvalidSignature:
        raise BadInput(tr("密钥文件的签名无效（文件被改动过）", "the key file's signature is invalid (the file was "
                          "altered)"), where=where) from None
    if data["fingerprint"] != card.fingerprint:
        raise BadInput(tr("密钥文件中的指纹与密钥不符", "the fingerprint in the key file does not match its keys"),
                       where=where)
    return card
