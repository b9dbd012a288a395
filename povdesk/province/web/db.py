"""The dashboard's own tables (its logins and the key its session cookies are signed with) and the
read queries below county level (townships and villages of one county's partition), in SQLAlchemy Core.

The province, prefecture and county figures are the province report's queries
(povdesk.province.db.household_groups, year_changes, quality_counts): the dashboard reads those and
no other numbers, so a page and `povdesk report --level province|city` always agree.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    and_,
    func,
    select,
)
from sqlalchemy.dialects import postgresql

from povdesk.province import db as pdb

metadata = MetaData()

users = Table(
    "province_web_users", metadata,
    Column("name", String(64), primary_key=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(16), nullable=False),  # province | city
    Column("region", String(4), nullable=False),  # 2 digits for a province user, 4 for a city (市州) user
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("created_at", String(32), nullable=False),
)

# One row: the random key the dashboard's session cookies are signed with (kept, so a restart of
# `povdesk province serve` does not log everybody out).
secret = Table(
    "province_web_secret", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("key", LargeBinary, nullable=False),
)

ROLE_PREFIX = {"province": 2, "city": 4}


@dataclass(frozen=True)
class WebUser:
    name: str
    password_hash: str
    role: str
    region: str
    active: bool


def ensure_schema(engine: Engine) -> None:
    metadata.create_all(engine)


def add_user(conn: Connection, user: WebUser, at: str) -> bool:
    """False when a user of that name exists (nothing is changed then)."""
    stmt = postgresql.insert(users).values(name=user.name, password_hash=user.password_hash, role=user.role,
                                           region=user.region, active=user.active, created_at=at)
    return conn.execute(stmt.on_conflict_do_nothing().returning(users.c.name)).first() is not None


def get_user(conn: Connection, name: str) -> WebUser | None:
    r = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    return WebUser(r["name"], r["password_hash"], r["role"], r["region"], bool(r["active"])) if r else None


def set_active(conn: Connection, name: str, active: bool) -> bool:
    """False when there is no user of that name."""
    stmt = users.update().where(users.c.name == name).values(active=active).returning(users.c.name)
    return conn.execute(stmt).first() is not None


def list_users(conn: Connection) -> list[WebUser]:
    rows = conn.execute(select(users).order_by(users.c.name)).mappings()
    return [WebUser(r["name"], r["password_hash"], r["role"], r["region"], bool(r["active"])) for r in rows]


def session_key(conn: Connection) -> bytes:
    """The cookie-signing key, made on first use."""
    conn.execute(postgresql.insert(secret).values(id=1, key=secrets.token_bytes(32)).on_conflict_do_nothing())
    return bytes(conn.execute(select(secret.c.key).where(secret.c.id == 1)).scalar_one())


def data_version(conn: Connection) -> tuple[int, str]:
    """(bundles applied, when the last one was): what changes when the figures can have changed."""
    b = pdb.bundles
    n, last = conn.execute(select(func.count(), func.max(b.c.loaded_at))).one()
    return int(n or 0), str(last or "")


def village_groups(conn: Connection, county: str, prefix: str
                   ) -> list[tuple[str, str, str | None, str | None, int, int]]:
    """(village, status, attribute, main cause, households, people) in one county under a village-code
    prefix (the county itself, a township or a village): the shape of db.household_groups, a village
    in the county's place."""
    h = pdb.households
    rows = conn.execute(select(h.c.village_code, h.c.status, h.c.attribute, h.c.main_cause, func.count(),
                               func.coalesce(func.sum(h.c.member_count), 0))
                        .where(h.c.county_code == county, h.c.village_code.startswith(prefix))
                        .group_by(h.c.village_code, h.c.status, h.c.attribute, h.c.main_cause))
    return [(r[0], r[1], r[2], r[3], int(r[4]), int(r[5])) for r in rows]


def village_year_changes(conn: Connection, county: str, prefix: str, steps: dict[str, tuple[str, str]], year: int
                         ) -> dict[str, dict[str, int]]:
    """village -> kind -> households whose deciding step of that kind is dated in `year` (as
    db.year_changes, by village of one county)."""
    e, h = pdb.events, pdb.households
    out: dict[str, dict[str, int]] = {}
    joined = e.join(h, and_(h.c.county_code == e.c.county_code, h.c.household_id == e.c.household_id))
    for kind, (procedure, step) in steps.items():
        rows = conn.execute(select(h.c.village_code, func.count(e.c.household_id.distinct())).select_from(joined)
                            .where(e.c.county_code == county, h.c.county_code == county,
                                   h.c.village_code.startswith(prefix), e.c.procedure == procedure,
                                   e.c.step == step, e.c.step_date >= f"{year:04d}-01-01",
                                   e.c.step_date < f"{year + 1:04d}-01-01")
                            .group_by(h.c.village_code))
        for village, n in rows:
            out.setdefault(village, {k: 0 for k in steps})[kind] = int(n)
    return out


def flags_in(conn: Connection, prefix: str, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """(how many, the first `limit`) cross-county flag rows of the households under a region code:
    a county-code prefix (2, 4 or 6 digits) or a township or village code, in county and household order."""
    f, h = pdb.flags, pdb.households
    q = select(f, h.c.village_code).select_from(
        f.join(h, and_(h.c.county_code == f.c.county_code, h.c.household_id == f.c.household_id)))
    county = prefix[:6]
    if len(prefix) > 6:
        q = q.where(f.c.county_code == county, h.c.village_code.startswith(prefix))
    else:
        q = q.where(f.c.county_code.startswith(prefix))
    total = int(conn.execute(select(func.count()).select_from(q.subquery())).scalar() or 0)
    rows = conn.execute(q.order_by(f.c.county_code, f.c.household_no, f.c.member_id, f.c.other_county,
                                   f.c.other_household_id).limit(limit)).mappings()
    return total, [dict(r) for r in rows]
