"""Workspace encryption keys: the data key SQLCipher opens the file with, wrapped once per user.

An encrypted workspace `village.db` has a small key file beside it, `village.db.keys` (JSON). It
holds no registry data: a random 256-bit data key, wrapped (AES-256-GCM) once per user under a key
derived from that user's password (scrypt, n=2**14, r=8, p=1: about 50 ms), and a recovery copy
of the data key encrypted to the county's X25519 key (ephemeral X25519, HKDF-SHA256, AES-256-GCM,
the construction bundles use). SQLCipher is given the data key raw (`PRAGMA key = "x'…'"`), so
opening costs one scrypt, not SQLCipher's own PBKDF2 of 256,000 rounds.

Why a file beside the workspace rather than inside it: the wrapped keys must be read before the
database can be decrypted, and SQLCipher encrypts every page, the first included. A plaintext
header reserved inside the database would need SQLCipher's plaintext-header mode (meant for iOS
shared containers) and our own page-0 format; a separate file is plain JSON, written atomically,
copied with every backup, and losing it loses nothing the county's recovery copy cannot restore.
What it reveals: how many accounts there are, the scrypt parameters, and the workspace's name and
region (shown on the login screen before anyone has signed in); no user name (entries are keyed by
a salted hash of it), no household data.

Once unlocked, the data key stays in this process's memory (`remember`) so that the app's worker
threads and dialogs open their own connections to the same file without asking again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from povdesk.errors import AuthError, WorkspaceError
from povdesk.i18n import Text, tr

FORMAT = "povdesk-workspace-keys"
# 2: the key file names the SQLCipher settings of its workspace ("cipher"); 1 (before): SQLCipher 4's defaults.
VERSION = 2
VERSIONS = (1, 2)
KEY_BYTES = 32
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_KEY_FILE = 1024 * 1024
_RECOVERY_INFO = b"povdesk workspace recovery v1"
_LOGIN_INFO = b"povdesk wrap from login hash v1"

WRONG_LOGIN = tr("用户名或密码不正确", "wrong user name or password")
SQLITE_MAGIC = b"SQLite format 3\x00"


def key_file_for(path: Path) -> Path:
    """`village.db` -> `village.db.keys`."""
    return path.with_name(path.name + ".keys")


def is_plain_sqlite(path: Path) -> bool:
    """True when the file starts as an unencrypted SQLite database (or is empty: a new file)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError:
        return True  # let SQLite say what is wrong
    return head == SQLITE_MAGIC or head == b""


def new_data_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def pragma_key(key: bytes) -> str:
    """The PRAGMA that gives SQLCipher the raw key (hex; no PBKDF2 at open)."""
    return f"PRAGMA key = \"x'{key.hex()}'\""


# SQLCipher keeps no record of its settings in the file, so the key file does. New workspaces check
# every page with HMAC-SHA256 instead of SQLCipher 4's default HMAC-SHA512: a 256-bit tag under a
# 256-bit key is as far beyond forgery as the 512-bit one, and SHA-256 runs in the processor's own
# instructions (SHA-NI), so every page read from or written to the file costs less. AES-256 and the
# 4096-byte page stay. Workspaces made before keep SQLCipher 4's defaults (no "cipher" in their key file).
NEW_CIPHER: dict[str, str] = {"hmac_algorithm": "HMAC_SHA256"}
_CIPHER_CHOICES: dict[str, tuple[str, ...]] = {"hmac_algorithm": ("HMAC_SHA512", "HMAC_SHA256")}


def cipher_pragmas(cipher: dict[str, str], schema: str = "") -> list[str]:
    """The PRAGMAs that set a workspace's SQLCipher settings, to run right after its key is given
    (`schema`: an attached database's name)."""
    prefix = f"{schema}." if schema else ""
    return [f"PRAGMA {prefix}cipher_{name} = {value}" for name, value in cipher.items()
            if value in _CIPHER_CHOICES.get(name, ())]


def give_key(conn: Any, key: bytes, cipher: dict[str, str]) -> None:
    """Key a SQLCipher connection with the data key and its workspace's settings (`cipher`)."""
    conn.execute(pragma_key(key))
    for pragma in cipher_pragmas(cipher):
        conn.execute(pragma)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text, validate=True)


def _name_key(name: str) -> str:
    return unicodedata.normalize("NFC", (name or "").strip())


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES,
                          maxmem=256 * 1024 * 1024)


def _damaged(where: str, why: str) -> WorkspaceError:
    return WorkspaceError(tr("工作区的密钥文件已损坏或被改动（{why}）；请用备份的密钥文件恢复，或请县里用恢复副本恢复",
                             "the workspace's key file is damaged or altered ({why}); restore it from a backup "
                             "or have the county recover the workspace", why=why), where=where)


@dataclass
class KeyFile:
    """The parsed key file; `save()` writes it back atomically."""

    path: Path
    file_id: str
    label: dict[str, str]
    users: list[dict[str, Any]] = field(default_factory=list)
    recovery: dict[str, Any] | None = None
    cipher: dict[str, str] = field(default_factory=dict)  # SQLCipher settings; empty: SQLCipher 4's defaults

    # ------------------------------------------------------------------ reading and writing

    @classmethod
    def new(cls, path: Path, label: dict[str, str]) -> KeyFile:
        return cls(path, secrets.token_hex(16), dict(label), cipher=dict(NEW_CIPHER))

    @classmethod
    def load(cls, path: Path) -> KeyFile:
        where = str(path)
        try:
            size = path.stat().st_size
            if size > MAX_KEY_FILE:
                raise _damaged(where, "too large")
            doc = json.loads(path.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            raise WorkspaceError(tr("这是一个加密的工作区，但旁边找不到它的密钥文件 {k}；请从备份恢复密钥文件，或请县里用恢复副本恢复",
                                    "this is an encrypted workspace but its key file {k} is missing beside it; "
                                    "restore the key file from a backup or have the county recover the workspace",
                                    k=path.name), where=str(path.parent)) from None
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise _damaged(where, type(e).__name__) from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise _damaged(where, "not a povdesk key file")
        if doc.get("version") not in VERSIONS:
            raise WorkspaceError(tr("密钥文件的版本 {v} 不受支持；请升级 povdesk", "key file version {v} is not "
                                    "supported; upgrade povdesk", v=doc.get("version")), where=where)
        users = doc.get("users")
        if not isinstance(doc.get("file_id"), str) or not isinstance(users, list) or not all(
                isinstance(u, dict) for u in users):
            raise _damaged(where, "malformed")
        label_doc = doc.get("label")
        label: dict[str, Any] = label_doc if isinstance(label_doc, dict) else {}
        rec = doc.get("recovery")
        cipher = doc.get("cipher") or {}
        if not isinstance(cipher, dict) or any(
                v not in _CIPHER_CHOICES.get(k, ()) for k, v in cipher.items()):
            raise _damaged(where, "unknown cipher settings")
        return cls(path, doc["file_id"], {str(k): str(v) for k, v in label.items()}, list(users),
                   rec if isinstance(rec, dict) else None, dict(cipher))

    def to_json(self) -> str:
        doc: dict[str, Any] = {"format": FORMAT, "version": VERSION if self.cipher else 1, "file_id": self.file_id,
                               "label": self.label, "users": self.users, "recovery": self.recovery}
        if self.cipher:
            doc["cipher"] = self.cipher
        return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"

    def save(self, path: Path | None = None) -> None:
        """Written to a temporary file, flushed to disk, then renamed over the old one: a crash
        leaves either the old key file or the new one, never half of one."""
        target = path or self.path
        tmp = target.with_name(target.name + ".tmp")
        data = self.to_json().encode("utf-8")
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)

    # ------------------------------------------------------------------ users

    def entry_id(self, name: str) -> str:
        return hashlib.sha256(f"{self.file_id}\x00{_name_key(name)}".encode()).hexdigest()[:32]

    def _aad(self, entry_id: str) -> bytes:
        return f"{FORMAT}\x00{self.file_id}\x00{entry_id}".encode()

    def wrap_for(self, name: str, password: str, key: bytes, *, replace: bool = True) -> None:
        """Wrap `key` for this user's password; `replace=False` keeps their other wraps (a password
        change keeps the old one until the database has committed the new password)."""
        eid = self.entry_id(name)
        salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
        kek = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        ct = AESGCM(kek).encrypt(nonce, key, self._aad(eid))
        if replace:
            self.drop(name)
        self.users.append({"id": eid, "kind": "password", "kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R,
                           "p": SCRYPT_P, "salt": _b64(salt), "nonce": _b64(nonce), "wrapped": _b64(ct)})

    def wrap_from_login_hash(self, name: str, stored_hash: str, key: bytes, *, replace: bool = False) -> bool:
        """Wrap `key` under the user's login hash (users.hash_password's scrypt output, kept only
        inside the encrypted database): whoever knows the password derives it again, with the same
        one scrypt that checks the password at sign-in (unwrap's `proof`), so a sign-in costs one
        scrypt, not two. Every account's wrap is made so (when a plain workspace is encrypted, for
        the accounts whose passwords the one encrypting it does not know, too). `replace` drops the
        user's other wraps first. False when the hash is not one we can use."""
        try:
            scheme, n, r, p, salt_b64, hash_b64 = stored_hash.split("$")
            if scheme != "scrypt":
                return False
            digest = _unb64(hash_b64)
            salt = _unb64(salt_b64)
        except ValueError:
            return False
        if replace:
            self.drop(name)
        eid = self.entry_id(name)
        nonce = secrets.token_bytes(12)
        kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LOGIN_INFO).derive(digest)
        ct = AESGCM(kek).encrypt(nonce, key, self._aad(eid))
        self.users.append({"id": eid, "kind": "login-hash", "kdf": "scrypt", "n": int(n), "r": int(r),
                           "p": int(p), "salt": _b64(salt), "dklen": len(digest), "nonce": _b64(nonce),
                           "wrapped": _b64(ct)})
        return True

    def drop(self, name: str) -> bool:
        eid = self.entry_id(name)
        before = len(self.users)
        self.users = [u for u in self.users if u.get("id") != eid]
        return len(self.users) != before

    def keep_only(self, names: set[str]) -> bool:
        """Drop the wraps of every account not in `names` (disabled, never committed)."""
        ids = {self.entry_id(n) for n in names}
        before = len(self.users)
        self.users = [u for u in self.users if u.get("id") in ids]
        return len(self.users) != before

    def has(self, name: str) -> bool:
        eid = self.entry_id(name)
        return any(u.get("id") == eid for u in self.users)

    def unwrap(self, name: str, password: str) -> tuple[bytes, dict[str, Any]]:
        """The data key, and the entry that opened it; AuthError for a wrong name or password
        (the same message either way, and a wrong name costs one scrypt too)."""
        key, entry, _proof = self.unwrap_with_proof(name, password)
        return key, entry

    def is_wrap_of(self, entry: dict[str, Any], stored_hash: str) -> bool:
        """True when `entry` is a wrap under this login hash (see wrap_from_login_hash)."""
        try:
            scheme, n, r, p, salt_b64, hash_b64 = stored_hash.split("$")
            return (scheme == "scrypt" and entry.get("kind") == "login-hash" and entry.get("salt") == salt_b64
                    and (entry.get("n"), entry.get("r"), entry.get("p")) == (int(n), int(r), int(p))
                    and entry.get("dklen", KEY_BYTES) == len(_unb64(hash_b64)))
        except ValueError:
            return False

    def unwrap_with_proof(self, name: str, password: str) -> tuple[bytes, dict[str, Any], str | None]:
        """As unwrap, and for a wrap under the login hash the login hash this password gives
        (`scrypt$n$r$p$salt$hash`, as users.hash_password writes it): users.authenticate compares it
        with the stored one instead of running scrypt a second time."""
        eid = self.entry_id(name)
        mine: list[dict[str, Any] | None] = [u for u in self.users if u.get("id") == eid]
        for entry in mine or [None]:
            try:
                if entry is None:
                    _scrypt(password, b"\x00" * 16, SCRYPT_N, SCRYPT_R, SCRYPT_P)
                    continue
                n, r, p = int(entry["n"]), int(entry["r"]), int(entry["p"])
                if not (2 <= n <= 2**20 and 1 <= r <= 32 and 1 <= p <= 16):
                    raise ValueError("scrypt parameters out of range")
                salt, nonce, ct = _unb64(entry["salt"]), _unb64(entry["nonce"]), _unb64(entry["wrapped"])
                if entry.get("kind") == "login-hash":
                    dklen = int(entry.get("dklen", KEY_BYTES))
                    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen,
                                            maxmem=256 * 1024 * 1024)
                    kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LOGIN_INFO).derive(digest)
                else:
                    kek = _scrypt(password, salt, n, r, p)
                key = AESGCM(kek).decrypt(nonce, ct, self._aad(eid))
            except InvalidTag:
                continue
            except (KeyError, TypeError, ValueError):
                raise _damaged(str(self.path), "malformed entry") from None
            if len(key) == KEY_BYTES:
                proof = (f"scrypt${n}${r}${p}${entry['salt']}${_b64(digest)}"
                         if entry.get("kind") == "login-hash" else None)
                return key, entry, proof
        raise AuthError(WRONG_LOGIN)

    # ------------------------------------------------------------------ recovery

    def set_recovery(self, key: bytes, county_box_public: bytes, county_fingerprint: str) -> None:
        """The data key encrypted to the county's X25519 key, for `povdesk recover` there."""
        eph = X25519PrivateKey.generate()
        eph_pub = eph.public_key().public_bytes_raw()
        kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub + county_box_public,
                   info=_RECOVERY_INFO).derive(eph.exchange(X25519PublicKey.from_public_bytes(county_box_public)))
        nonce = secrets.token_bytes(12)
        ct = AESGCM(kek).encrypt(nonce, key, self._aad("recovery"))
        self.recovery = {"to": county_fingerprint, "to_box": _b64(county_box_public), "ephemeral": _b64(eph_pub),
                         "nonce": _b64(nonce), "wrapped": _b64(ct)}

    def recovery_for(self, county_box_public: bytes) -> bool:
        return self.recovery is not None and self.recovery.get("to_box") == _b64(county_box_public)

    def recover(self, box_private: bytes, box_public: bytes) -> bytes:
        """The data key from the recovery copy, with the county's private X25519 key."""
        rec = self.recovery
        if rec is None:
            raise WorkspaceError(tr("此工作区的密钥文件里没有恢复副本（工作区加密时还没有登记县里的密钥）",
                                    "this workspace's key file holds no recovery copy (the county's key was not "
                                    "set when it was encrypted)"), where=str(self.path))
        if rec.get("to_box") != _b64(box_public):
            raise WorkspaceError(tr("恢复副本是给另一个县级工作区（指纹 {fp}）的，不是这个",
                                    "the recovery copy is for another county workspace (fingerprint {fp}), not "
                                    "this one", fp=rec.get("to", "?")), where=str(self.path))
        try:
            eph_pub = _unb64(rec["ephemeral"])
            shared = X25519PrivateKey.from_private_bytes(box_private).exchange(
                X25519PublicKey.from_public_bytes(eph_pub))
            kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub + box_public,
                       info=_RECOVERY_INFO).derive(shared)
            key = AESGCM(kek).decrypt(_unb64(rec["nonce"]), _unb64(rec["wrapped"]), self._aad("recovery"))
        except (KeyError, ValueError, InvalidTag):
            raise _damaged(str(self.path), "recovery copy") from None
        return key


def fsync_dir(directory: Path) -> None:
    if os.name == "nt":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- keys unlocked in this process

_lock = threading.Lock()
_unlocked: dict[tuple[str, str], bytes] = {}


def _cache_id(path: Path, file_id: str) -> tuple[str, str]:
    return (str(path.resolve()), file_id)


def remember(path: Path, file_id: str, key: bytes) -> None:
    with _lock:
        _unlocked[_cache_id(path, file_id)] = key


def remembered(path: Path, file_id: str) -> bytes | None:
    with _lock:
        return _unlocked.get(_cache_id(path, file_id))


def forget_all() -> None:
    with _lock:
        _unlocked.clear()


LOCKED = Text("工作区已加密，请先登录", "the workspace is encrypted; sign in first")


# ---------------------------------------------------------------------- keys derived for files beside it

_DRAFTS_INFO = b"povdesk drafts v1"


def _derive(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


def drafts_key_for(path: Path) -> tuple[str, bytes] | None:
    """(the workspace's file id, the key its drafts are sealed with) for an encrypted workspace
    unlocked in this process: HKDF-SHA256 of the data key, never the data key itself. None for a
    plain workspace; WorkspaceError (LOCKED) for an encrypted one not unlocked yet."""
    kf_path = key_file_for(path)
    if not kf_path.exists():
        return None
    file_id = KeyFile.load(kf_path).file_id
    key = remembered(path, file_id)
    if key is None:
        raise WorkspaceError(LOCKED, where=str(path))
    return file_id, _derive(key, _DRAFTS_INFO)


def unlocked_drafts_keys() -> dict[str, bytes]:
    """file id -> drafts key, for every workspace unlocked in this process (a draft names the
    file id of the workspace it belongs to)."""
    with _lock:
        return {file_id: _derive(key, _DRAFTS_INFO) for (_p, file_id), key in _unlocked.items()}
