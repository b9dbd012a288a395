"""Local accounts: scrypt password hashes, roles, and the checks behind every user change."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import sqlite3
import unicodedata
from dataclasses import dataclass

from povdesk.core.authority import role_refusal
from povdesk.core.model import ROLES
from povdesk.core.permissions import require
from povdesk.errors import AuthError, BadInput, NotPermitted
from povdesk.i18n import tr
from povdesk.store.audit import AuditWriter

# scrypt cost: n=2**14, r=8, p=1 uses 16 MiB and about 50 ms, fine for a login on an old laptop.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_SALT_BYTES = 16
_KEY_BYTES = 32

WRONG_LOGIN = tr("用户名或密码不正确", "wrong user name or password")
DISABLED = tr("该账户已停用，请联系系统管理员", "this account is disabled; ask an administrator")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    display_name: str
    active: bool


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """`scrypt$n$r$p$salt$key`, base64; the parameters travel with the hash so they can be raised later."""
    salt = secrets.token_bytes(_SALT_BYTES)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_KEY_BYTES)
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(key).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_b64, key_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt, key = base64.b64decode(salt_b64), base64.b64decode(key_b64)
        got = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p),
                             dklen=len(key), maxmem=256 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, key)


# Checked against when the user is unknown, so a wrong name costs as long as a wrong password. A
# fixed hash of a random password nobody kept, at the same cost (SCRYPT_N, R, P): hashing one at
# import would add a scrypt to every start of the app and the CLI. An unknown name is refused
# whatever this check says.
_DUMMY_HASH = "scrypt$16384$8$1$nbEWi6S22TshTbJkeMB4uw==$Wuu+a7SXqduqfJXlemHCpT8+Q69TYN22SGk4suli1cY="


def _clean_name(name: str) -> str:
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name or len(name) > 64 or any(unicodedata.category(c).startswith("C") for c in name):
        raise BadInput(tr("用户名须为 1-64 个字符，且不能含控制字符",
                          "a user name must be 1-64 characters with no control characters"))
    return name


def _check_password_text(password: str) -> None:
    if not password:
        raise BadInput(tr("密码不能为空", "the password must not be empty"))


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise BadInput(tr("未知角色“{role}”（可选：{roles}）", "unknown role '{role}' (one of: {roles})",
                          role=role, roles=", ".join(ROLES)))


def _row_user(row: tuple[str, str, str, int]) -> User:
    return User(row[0], row[1], row[2], bool(row[3]))


def get(conn: sqlite3.Connection, name: str) -> User | None:
    row = conn.execute("SELECT name, role, display_name, active FROM users WHERE name = ?", (name,)).fetchone()
    return _row_user(row) if row else None


def list_all(conn: sqlite3.Connection) -> list[User]:
    rows = conn.execute("SELECT name, role, display_name, active FROM users ORDER BY name")
    return [_row_user(r) for r in rows]


def authenticate(conn: sqlite3.Connection, name: str, password: str, level: str | None = None,
                 proof: str | None = None) -> User:
    """The account, if the password is right, it is active and (with `level`) its role belongs to
    that level or below: an account made above its workspace's level (before levels were enforced,
    or by editing the file) cannot sign in.

    `proof`: the login hash this password gave with the stored hash's own salt and parameters
    (an encrypted workspace's key unwrap computed it: store.keys.KeyFile.unwrap_with_proof); when
    it equals the stored hash the password is right without a second scrypt, otherwise the
    password is checked as usual."""
    key = unicodedata.normalize("NFC", (name or "").strip())
    row = conn.execute(
        "SELECT name, role, display_name, active, password_hash FROM users WHERE name = ?", (key,)
    ).fetchone()
    stored = row[4] if row else _DUMMY_HASH
    ok = (row is not None and proof is not None and hmac.compare_digest(proof.encode(), str(stored).encode())) or \
        check_password(password or "", stored)
    if row is None or not ok:
        raise AuthError(WRONG_LOGIN)
    # Only someone who knows the password learns that the account is disabled.
    if not row[3]:
        raise AuthError(DISABLED)
    why = role_refusal(row[1], level) if level is not None else None
    if why is not None:
        raise AuthError(why)
    return _row_user(row[:4])


def current(conn: sqlite3.Connection, actor: User) -> User:
    """The actor as the workspace knows them now: a stale session of a disabled account stops here."""
    fresh = get(conn, actor.name)
    if fresh is None or not fresh.active:
        raise AuthError(tr("账户“{name}”已停用或不存在，请重新登录",
                           "the account '{name}' is disabled or no longer exists; sign in again",
                           name=actor.name))
    return fresh


def insert(conn: sqlite3.Connection, audit: AuditWriter, name: str, password: str, role: str,
           display_name: str, now: str) -> User:
    name = _clean_name(name)
    _check_role(role)
    _check_password_text(password)
    if get(conn, name) is not None:
        raise BadInput(tr("用户“{name}”已存在", "the user '{name}' already exists", name=name))
    conn.execute(
        "INSERT INTO users (name, role, display_name, active, password_hash, created_at, updated_at) "
        "VALUES (?,?,?,1,?,?,?)",
        (name, role, display_name.strip(), hash_password(password), now, now),
    )
    audit.add("user.add", "user", name, None, None,
              {"name": name, "role": role, "display_name": display_name.strip(), "active": True})
    return User(name, role, display_name.strip(), True)


def add(conn: sqlite3.Connection, audit: AuditWriter, actor: User, name: str, password: str, role: str,
        display_name: str, now: str, *, level: str | None = None) -> User:
    """A new account; with `level` (the workspace's), only for a role of that level or below."""
    require(current(conn, actor).role, "manage_users")
    why = role_refusal(role, level) if level is not None else None
    if why is not None:
        raise NotPermitted(why)
    return insert(conn, audit, name, password, role, display_name, now)


def set_password(conn: sqlite3.Connection, audit: AuditWriter, actor: User, name: str, new_password: str,
                 now: str) -> None:
    me = current(conn, actor)
    if me.name != name:
        require(me.role, "manage_users")
    _check_password_text(new_password)
    if get(conn, name) is None:
        raise BadInput(tr("没有用户“{name}”", "there is no user '{name}'", name=name))
    conn.execute("UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?",
                 (hash_password(new_password), now, name))
    # Never the hash itself: the audit log travels in sync bundles.
    audit.add("user.password", "user", name, "password", None, "changed")


def set_active(conn: sqlite3.Connection, audit: AuditWriter, actor: User, name: str, active: bool,
               now: str) -> None:
    require(current(conn, actor).role, "manage_users")
    target = get(conn, name)
    if target is None:
        raise BadInput(tr("没有用户“{name}”", "there is no user '{name}'", name=name))
    if target.active == active:
        return
    if not active and target.role == "admin":
        admins = conn.execute("SELECT count(*) FROM users WHERE role = 'admin' AND active = 1").fetchone()[0]
        if admins <= 1:
            raise NotPermitted(tr("不能停用最后一个系统管理员账户，否则将无人能管理用户",
                                  "the last active administrator cannot be disabled; nobody could "
                                  "manage accounts any more"))
    conn.execute("UPDATE users SET active = ?, updated_at = ? WHERE name = ?", (int(active), now, name))
    audit.add("user.enable" if active else "user.disable", "user", name, "active", target.active, active)


def reset_password(conn: sqlite3.Connection, audit: AuditWriter, name: str, new_password: str, now: str) -> None:
    """A new password set by the county's recovery (`povdesk recover`), not by a signed-in user:
    the caller has proved it holds the county's key; audited as `user.recover`."""
    _check_password_text(new_password)
    if get(conn, name) is None:
        raise BadInput(tr("没有用户“{name}”", "there is no user '{name}'", name=name))
    conn.execute("UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?",
                 (hash_password(new_password), now, name))
    audit.add("user.recover", "user", name, "password", None, "reset by the county")


def login_hashes(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(name, stored password hash) of every active account (encrypting a plain workspace wraps
    its data key under each of them: store.keys.KeyFile.wrap_from_login_hash)."""
    return [(r[0], r[1]) for r in conn.execute("SELECT name, password_hash FROM users WHERE active = 1")]
