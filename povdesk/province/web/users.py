"""The dashboard's logins: a province user sees the whole province of the database, a city (市州)
user one prefecture of it. Passwords are scrypt hashes (povdesk.store.users.hash_password)."""

from __future__ import annotations

import unicodedata

from sqlalchemy import Engine

from povdesk.clock import Clock
from povdesk.core.regions import lookup
from povdesk.errors import BadInput
from povdesk.i18n import tr
from povdesk.province import db as pdb
from povdesk.province.web import db as wdb
from povdesk.store.users import hash_password


def _clean_name(name: str) -> str:
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name or len(name) > 64 or any(unicodedata.category(c).startswith(("C", "Z")) for c in name):
        raise BadInput(tr("用户名须为 1-64 个字符，且不能含空格或控制字符",
                          "a user name must be 1-64 characters with no spaces or control characters"))
    return name


def check_new_user(engine: Engine, name: str, role: str, region: str) -> str:
    """The user's region as kept (2 or 4 digits) once name, role and region are found acceptable:
    the region must be the database's province, or one of its prefectures."""
    _clean_name(name)
    digits = wdb.ROLE_PREFIX.get(role)
    if digits is None:
        raise BadInput(tr("角色应为 province 或 city，而不是“{r}”", "the role is province or city, not '{r}'", r=role))
    code = (region or "").strip()
    if len(code) == 6 and code.isdigit() and code.endswith("0" * (6 - digits)):
        code = code[:digits]  # 520000 or 522600, as the division tables write them
    if not (code.isascii() and code.isdigit()) or len(code) != digits:
        raise BadInput(tr("{role} 用户的 --region 应为 {n} 位代码（{ex}），而不是“{c}”",
                          "--region of a {role} user is a {n}-digit code ({ex}), not '{c}'", role=role, n=digits,
                          ex="52" if digits == 2 else "5226", c=region))
    with engine.connect() as conn:
        pdb.require_schema(conn)
        keys = pdb.get_keys(conn)
    if keys is None:
        raise BadInput(tr("还没有省级密钥：请先运行 povdesk province keys", "there are no province keys yet: run "
                          "povdesk province keys first"))
    if not code.startswith(keys.region_code):
        raise BadInput(tr("本数据库只有省 {p} 的数据：不能添加 {c} 的用户", "this database holds province {p} only: it "
                          "cannot have a user for {c}", p=keys.region_code, c=code))
    if digits == 4 and lookup(code) is None:
        raise BadInput(tr("没有 {c} 这个市（州）", "there is no prefecture {c}", c=code))
    return code


def add_user(engine: Engine, name: str, password: str, role: str, region: str, clock: Clock) -> None:
    name = _clean_name(name)
    wdb.ensure_schema(engine)
    user = wdb.WebUser(name, hash_password(password), role, region, True)
    with engine.begin() as conn:
        if not wdb.add_user(conn, user, clock.now_iso()):
            raise BadInput(tr("看板用户 {n} 已经存在", "the dashboard user {n} exists already", n=name))


def set_active(engine: Engine, name: str, active: bool) -> None:
    """Disable a dashboard user (staff who leave: their logins are refused and a session they hold
    ends at its next page) or enable one again; the user and its password are kept."""
    wdb.ensure_schema(engine)
    with engine.begin() as conn:
        if not wdb.set_active(conn, name, active):
            raise BadInput(tr("没有看板用户 {n}", "there is no dashboard user {n}", n=name))


def list_users(engine: Engine) -> list[wdb.WebUser]:
    wdb.ensure_schema(engine)
    with engine.connect() as conn:
        return wdb.list_users(conn)
