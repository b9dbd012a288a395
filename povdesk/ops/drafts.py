"""Drafts of unsaved households (written by the editor every few seconds, offered again after a
crash): on an encrypted workspace they are sealed with AES-256-GCM under a key derived from the
workspace's data key (store.keys.drafts_key_for), so no household data lies in a plain file beside
it; a plain workspace's drafts are plain JSON, as the workspace itself is.

A sealed draft is JSON naming only the format, the workspace's file id (which key opens it) and
the ciphertext; the file's name (the household's id) is bound to it as associated data, so a
draft cannot be passed off as another household's.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from povdesk.store import keys

SEALED = "povdesk-draft-sealed"
_AAD = b"povdesk draft v1\x00"


def _aad(file_id: str, name: str) -> bytes:
    return _AAD + file_id.encode("utf-8") + b"\x00" + name.encode("utf-8")


def encode(payload: dict[str, Any], workspace: Path | None, name: str) -> bytes:
    """The draft file's bytes: sealed when `workspace` is an encrypted one (unlocked in this
    process), plain JSON otherwise."""
    text = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    sealing = keys.drafts_key_for(workspace) if workspace is not None else None
    if sealing is None:
        return text
    file_id, key = sealing
    nonce = os.urandom(12)
    ct = AESGCM(key).encrypt(nonce, text, _aad(file_id, name))
    return json.dumps({"format": SEALED, "file_id": file_id, "nonce": base64.b64encode(nonce).decode("ascii"),
                       "ciphertext": base64.b64encode(ct).decode("ascii")}).encode("utf-8")


def decode(raw: bytes, name: str) -> dict[str, Any] | None:
    """The draft's payload; None for a draft sealed for a workspace not unlocked in this process
    (another workspace's, or this one's before anyone signed in). ValueError when damaged."""
    doc = json.loads(raw.decode("utf-8"))
    if not isinstance(doc, dict):
        raise ValueError("not a draft")
    if doc.get("format") != SEALED:
        return doc
    file_id = doc.get("file_id")
    key = keys.unlocked_drafts_keys().get(file_id) if isinstance(file_id, str) else None
    if key is None or not isinstance(file_id, str):
        return None
    try:
        text = AESGCM(key).decrypt(base64.b64decode(doc["nonce"]), base64.b64decode(doc["ciphertext"]),
                                   _aad(file_id, name))
    except (InvalidTag, KeyError, TypeError, ValueError):
        raise ValueError("a sealed draft that does not open (damaged or altered)") from None
    out = json.loads(text.decode("utf-8"))
    if not isinstance(out, dict):
        raise ValueError("not a draft")
    return out
