"""The province registry's tables in PostgreSQL (SQLAlchemy Core) and the statements the loader runs.

Households, members, per-year records, procedure events and cross-county flags are LIST-partitioned
by the six-digit county code: every primary key starts with it, so each unique key holds within
one partition, and a county is a partition that can be detached, archived or (on Citus) placed on
its own shard. A county's partitions are made when its first bundle is loaded: each one a plain
table of the same columns, then attached to its parent, which gives it the parent's indexes.

The province's own key pair, the counties it trusts and the bundles it has applied (one row per
bundle id: the unique constraint that applies each bundle once) are ordinary tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql as pgsql
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    and_,
    column,
    create_engine,
    delete,
    func,
    literal,
    select,
    table,
    text,
    tuple_,
    union,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from povdesk.errors import BadInput
from povdesk.i18n import tr

metadata = MetaData()
PARTITION_BY = "LIST (county_code)"
_COUNTY = re.compile(r"^[0-9]{6}$")
# Loads take this transaction-level advisory lock: one bundle at a time in the province, so the
# cross-county duplicate check of one sees every household another has committed.
LOAD_LOCK = 52_0000_0001
APPLICATION_NAME = "povdesk-province"

ColumnsOf = Callable[[bool], list[Column[Any]]]


def _household_columns(pk: bool = True) -> list[Column[Any]]:
    return [
        Column("county_code", String(6), primary_key=pk, nullable=False),
        Column("household_id", String(36), primary_key=pk, nullable=False),
        Column("household_no", String, nullable=False),
        Column("village_code", String, nullable=False),
        Column("status", String, nullable=False),
        Column("attribute", String),
        Column("main_cause", String),
        Column("member_count", Integer, nullable=False),
        Column("version", BigInteger, nullable=False),
        Column("updated_at", String, nullable=False),
        Column("updated_by", String, nullable=False),
        Column("form_version", String, nullable=False),
        Column("rule_version", String, nullable=False),
        Column("fields", JSONB, nullable=False),
        Column("helpers", JSONB, nullable=False),
        Column("bundle_id", String, nullable=False),
        Column("loaded_at", String, nullable=False),
        # Data-quality problems found at load, as bits (ISSUES), for the reports' ranking per county.
        Column("issues", Integer, nullable=False, server_default="0"),
    ]


# The bits of province_households.issues (povdesk.province.registry sets them at load).
ISSUES: dict[str, int] = {"no_attribute": 1, "no_main_cause": 2, "member_without_id": 4, "id_mismatch": 8,
                          "not_one_head": 16}


def _member_columns(pk: bool = True) -> list[Column[Any]]:
    return [
        Column("county_code", String(6), primary_key=pk, nullable=False),
        Column("household_id", String(36), primary_key=pk, nullable=False),
        Column("member_id", String(36), primary_key=pk, nullable=False),
        Column("position", Integer, nullable=False),
        Column("name", String, nullable=False),
        Column("id_number", String, nullable=False),
        Column("sex", String),
        Column("birth_date", String),
        Column("relation", String),
        Column("fields", JSONB, nullable=False),
    ]


def _year_columns(pk: bool = True) -> list[Column[Any]]:
    return [
        Column("county_code", String(6), primary_key=pk, nullable=False),
        Column("household_id", String(36), primary_key=pk, nullable=False),
        Column("year", Integer, primary_key=pk, nullable=False, autoincrement=False),
        Column("income", JSONB, nullable=False),
        Column("measures", JSONB, nullable=False),
    ]


def _event_columns(pk: bool = True) -> list[Column[Any]]:
    return [
        Column("county_code", String(6), primary_key=pk, nullable=False),
        Column("household_id", String(36), primary_key=pk, nullable=False),
        Column("event_id", String(36), primary_key=pk, nullable=False),
        Column("position", Integer, nullable=False),
        Column("procedure", String, nullable=False),
        Column("step", String, nullable=False),
        Column("step_date", String, nullable=False),
        Column("role", String, nullable=False),
        Column("user_name", String, nullable=False),
        Column("evidence", JSONB, nullable=False),
        Column("recorded_at", String, nullable=False),
    ]


def _flag_columns(pk: bool = True) -> list[Column[Any]]:
    return [
        Column("county_code", String(6), primary_key=pk, nullable=False),
        Column("household_id", String(36), primary_key=pk, nullable=False),
        Column("member_id", String(36), primary_key=pk, nullable=False),
        Column("rule", String, primary_key=pk, nullable=False),
        Column("other_county", String(6), primary_key=pk, nullable=False),
        Column("other_household_id", String(36), primary_key=pk, nullable=False),
        Column("other_member_id", String(36), primary_key=pk, nullable=False),
        Column("household_no", String, nullable=False),
        Column("other_household_no", String, nullable=False),
        Column("id_number", String, nullable=False),
        Column("name", String, nullable=False),
        Column("other_name", String, nullable=False),
        Column("created_at", String, nullable=False),
    ]


households = Table("province_households", metadata, *_household_columns(), postgresql_partition_by=PARTITION_BY)
members = Table("province_members", metadata, *_member_columns(), postgresql_partition_by=PARTITION_BY)
years = Table("province_years", metadata, *_year_columns(), postgresql_partition_by=PARTITION_BY)
events = Table("province_events", metadata, *_event_columns(), postgresql_partition_by=PARTITION_BY)
# A person (by ID number) registered in a household of this county and in one of another: one row
# for each side, so each county's next return bundle can carry its own.
flags = Table("province_flags", metadata, *_flag_columns(), postgresql_partition_by=PARTITION_BY)
Index("province_members_id_number", members.c.id_number)
# The same name, sex and birth date with another ID number inside one prefecture (DUP_NAME_RULE).
Index("province_members_person", members.c.name, members.c.birth_date)
Index("province_households_village", households.c.county_code, households.c.village_code)
# The households with a monitoring type (a few in a hundred): the report's monitoring tables.
_MONITORING_TYPED = text("province_households.fields ->> 'monitoring_type' IS NOT NULL")
Index("province_households_monitoring", households.c.county_code, households.c.household_id,
      postgresql_where=_MONITORING_TYPED)
Index("province_flags_other", flags.c.other_county, flags.c.other_household_id)
# The year's identified, exited and removed households (the reports).
Index("province_events_step", events.c.procedure, events.c.step, events.c.step_date)

PARTITIONED: dict[str, tuple[Table, ColumnsOf]] = {
    "households": (households, _household_columns), "members": (members, _member_columns),
    "years": (years, _year_columns), "events": (events, _event_columns), "flags": (flags, _flag_columns),
}

# The province's own identity (one row): the key file counties learn is made from it.
keys = Table(
    "province_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("device_id", String(64), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("name", String(200), nullable=False),
    Column("sign_private", LargeBinary, nullable=False),
    Column("sign_public", LargeBinary, nullable=False),
    Column("box_private", LargeBinary, nullable=False),
    Column("box_public", LargeBinary, nullable=False),
    Column("created_at", String(32), nullable=False),
)

# The county workspaces whose bundles the province accepts (from their key files).
counties = Table(
    "province_counties", metadata,
    Column("county_code", String(6), primary_key=True),
    Column("device_id", String(64), nullable=False, unique=True),
    Column("sign_public", LargeBinary, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("enrolled_at", String(32), nullable=False),
    # The county's X25519 key, which return bundles are encrypted to (added after the first
    # release: NULL for a county enrolled before it, which is then enrolled again).
    Column("box_public", LargeBinary),
)

# Return bundles made for each county (flags going back down): a sequence per county, so a county
# imports only a newer one, and the digest of the flags it carried, so an unchanged set is not sent.
returns = Table(
    "province_returns", metadata,
    Column("bundle_id", String(64), primary_key=True),
    Column("county_code", String(6), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("flags", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Index("province_returns_county", "county_code", "seq", unique=True),
)

# Each bundle applied, once: the primary key on the bundle id is what makes a second load a no-op.
bundles = Table(
    "province_bundles", metadata,
    Column("bundle_id", String(64), primary_key=True),
    Column("county_code", String(6), nullable=False),
    Column("sender", String(64), nullable=False),
    Column("ciphertext_sha256", String(64), nullable=False),
    Column("full", Boolean, nullable=False),
    Column("seq_first", BigInteger, nullable=False),
    Column("seq_last", BigInteger, nullable=False),
    Column("households", Integer, nullable=False),
    Column("applied", Integer, nullable=False),
    Column("audit_seq", BigInteger, nullable=False),
    Column("audit_hash", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("loaded_at", String(32), nullable=False),
    Index("province_bundles_county", "county_code", "seq_last"),
)


# ---------------------------------------------------------------------------------------------
# Engine


def make_engine(url: str) -> Engine:
    """`postgresql://…` or `postgresql+psycopg://…`: the province is PostgreSQL, nothing else."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        parsed = None
    if parsed is None or parsed.get_backend_name() != "postgresql":
        raise BadInput(tr("--database 应为 postgresql://…（省级库只用 PostgreSQL），而不是“{u}”",
                          "--database must be postgresql://… (the province runs on PostgreSQL only), not '{u}'",
                          u=url))
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        return create_engine(parsed, pool_size=2, max_overflow=2, pool_pre_ping=True,
                             connect_args={"application_name": APPLICATION_NAME})
    except NoSuchModuleError:
        raise BadInput(tr("不支持的数据库驱动：{u}", "unsupported database driver: {u}", u=url)) from None


def unreachable(exc: Exception, engine: Engine) -> BadInput:
    """One line naming the database (its password hidden) and what went wrong."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return BadInput(tr("无法连接省级数据库：{e}", "cannot reach the province database: {e}", e=first),
                    where=engine.url.render_as_string(hide_password=True))


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    with engine.begin() as conn:
        yield conn


# What create_all does not do to a database made by an earlier version (safe to repeat).
_UPGRADES = (
    "ALTER TABLE province_counties ADD COLUMN IF NOT EXISTS box_public bytea",
    "CREATE INDEX IF NOT EXISTS province_members_person ON province_members (name, birth_date)",
    "ALTER TABLE province_households ADD COLUMN IF NOT EXISTS issues integer NOT NULL DEFAULT 0",
    "CREATE INDEX IF NOT EXISTS province_events_step ON province_events (procedure, step, step_date)",
    "CREATE INDEX IF NOT EXISTS province_households_monitoring ON province_households (county_code, household_id)"
    " WHERE fields ->> 'monitoring_type' IS NOT NULL",
)


def create_schema(engine: Engine) -> None:
    metadata.create_all(engine)
    with engine.begin() as conn:
        for stmt in _UPGRADES:
            conn.execute(text(stmt))


def has_schema(conn: Connection) -> bool:
    return conn.execute(select(func.to_regclass("province_bundles"))).scalar() is not None


def require_schema(conn: Connection) -> None:
    if not has_schema(conn):
        raise BadInput(tr("省级数据库还没有建表：请先运行 povdesk province init --database URL",
                          "the province database has no tables yet: run povdesk province init --database URL "
                          "first"))


def check_county(code: str) -> str:
    if not _COUNTY.match(code):
        raise BadInput(tr("县级区划代码应为 6 位数字，而不是“{c}”", "a county code has 6 digits, not '{c}'", c=code))
    return code


def ensure_partitions(conn: Connection, county: str) -> list[str]:
    """The county's partition of every partitioned table, made if missing; returns those made."""
    check_county(county)
    made = []
    for parent, columns in PARTITIONED.values():
        name = f"{parent.name}_{county}"
        if conn.execute(select(func.to_regclass(name))).scalar() is not None:
            continue
        Table(name, MetaData(), *columns(True)).create(conn)
        conn.execute(text(f"ALTER TABLE {parent.name} ATTACH PARTITION {name} FOR VALUES IN ('{county}')"))
        made.append(name)
    return made


def partitions(conn: Connection) -> list[str]:
    """The counties that have partitions (the partitions of the households table, from the catalog)."""
    inherits = table("pg_inherits", column("inhrelid"), column("inhparent"))
    classes = table("pg_class", column("oid"), column("relname"))
    parent = func.to_regclass(households.name)
    rows = conn.execute(select(classes.c.relname).select_from(inherits.join(classes, classes.c.oid == inherits.c.inhrelid))
                        .where(inherits.c.inhparent == parent).order_by(classes.c.relname))
    return [str(r[0]).rsplit("_", 1)[1] for r in rows]


def lock_for_load(conn: Connection) -> None:
    conn.execute(select(func.pg_advisory_xact_lock(LOAD_LOCK)))


# ---------------------------------------------------------------------------------------------
# Keys and counties


@dataclass(frozen=True)
class ProvinceKeys:
    device_id: str
    region_code: str
    name: str
    sign_private: bytes
    sign_public: bytes
    box_private: bytes
    box_public: bytes
    created_at: str


def get_keys(conn: Connection) -> ProvinceKeys | None:
    row = conn.execute(select(keys).where(keys.c.id == 1)).mappings().first()
    if row is None:
        return None
    return ProvinceKeys(row["device_id"], row["region_code"], row["name"], bytes(row["sign_private"]),
                        bytes(row["sign_public"]), bytes(row["box_private"]), bytes(row["box_public"]),
                        row["created_at"])


def put_keys(conn: Connection, k: ProvinceKeys) -> bool:
    """Store the province's keys unless some are there (the first writer wins); True if stored."""
    stmt = postgresql.insert(keys).values(id=1, device_id=k.device_id, region_code=k.region_code, name=k.name,
                                          sign_private=k.sign_private, sign_public=k.sign_public,
                                          box_private=k.box_private, box_public=k.box_public,
                                          created_at=k.created_at)
    return conn.execute(stmt.on_conflict_do_nothing().returning(keys.c.id)).first() is not None


@dataclass(frozen=True)
class County:
    county_code: str
    device_id: str
    sign_public: bytes
    fingerprint: str
    name: str
    active: bool
    box_public: bytes | None = None


def _county(row: Any) -> County:
    box = row["box_public"]
    return County(row["county_code"], row["device_id"], bytes(row["sign_public"]), row["fingerprint"], row["name"],
                  bool(row["active"]), bytes(box) if box is not None else None)


def county_by_device(conn: Connection, device_id: str) -> County | None:
    row = conn.execute(select(counties).where(counties.c.device_id == device_id)).mappings().first()
    return _county(row) if row is not None else None


def county_by_code(conn: Connection, code: str) -> County | None:
    row = conn.execute(select(counties).where(counties.c.county_code == code)).mappings().first()
    return _county(row) if row is not None else None


def put_county(conn: Connection, c: County, at: str) -> None:
    """Enrol a county's workspace (a new key for the same county replaces the old one)."""
    stmt = postgresql.insert(counties).values(county_code=c.county_code, device_id=c.device_id,
                                              sign_public=c.sign_public, fingerprint=c.fingerprint, name=c.name,
                                              active=c.active, enrolled_at=at, box_public=c.box_public)
    conn.execute(stmt.on_conflict_do_update(index_elements=[counties.c.county_code], set_={
        "device_id": stmt.excluded.device_id, "sign_public": stmt.excluded.sign_public,
        "box_public": stmt.excluded.box_public,
        "fingerprint": stmt.excluded.fingerprint, "name": stmt.excluded.name, "active": stmt.excluded.active,
        "enrolled_at": stmt.excluded.enrolled_at}))


def list_counties(conn: Connection) -> list[County]:
    rows = conn.execute(select(counties).order_by(counties.c.county_code)).mappings()
    return [_county(r) for r in rows]


# ---------------------------------------------------------------------------------------------
# Loading one bundle (all inside one transaction)


def claim_bundle(conn: Connection, values: dict[str, Any]) -> bool:
    """Record the bundle; False when it was recorded before (then nothing else is done). A second
    loader of the same bundle waits here on the first one's row and then finds it."""
    stmt = postgresql.insert(bundles).values(**values).on_conflict_do_nothing().returning(bundles.c.bundle_id)
    return conn.execute(stmt).first() is not None


def bundle_loaded(conn: Connection, bundle_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(bundles).where(bundles.c.bundle_id == bundle_id)).mappings().first()
    return dict(row) if row else None


def set_applied(conn: Connection, bundle_id: str, applied: int) -> None:
    conn.execute(bundles.update().where(bundles.c.bundle_id == bundle_id).values(applied=applied))


@dataclass
class Staging:
    """Temporary tables (dropped at commit) the bundle's rows are copied into before the upsert."""

    tables: dict[str, Table]


def create_staging(conn: Connection) -> Staging:
    md = MetaData()
    out = {}
    for key in ("households", "members", "years", "events"):
        parent, columns = PARTITIONED[key]
        t = Table(f"stage_{key}", md, *columns(False), prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
        t.create(conn)
        out[key] = t
    return Staging(out)


def county_empty(conn: Connection, county: str) -> bool:
    """Whether the county has no household yet (its first bundle can be copied in directly)."""
    return conn.execute(select(literal(1)).select_from(households)
                        .where(households.c.county_code == county).limit(1)).first() is None


def direct_targets() -> dict[str, Table]:
    return {key: PARTITIONED[key][0] for key in ("households", "members", "years", "events")}


def copy_rows(conn: Connection, table: Table, rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows into a table through the connection's psycopg 3 connection (same transaction)."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    names = [c.name for c in table.columns]
    stmt = pgsql.SQL("COPY {} ({}) FROM STDIN").format(pgsql.Identifier(table.name),
                                                       pgsql.SQL(", ").join(map(pgsql.Identifier, names)))
    n = 0
    with raw.cursor() as cur, cur.copy(stmt) as cp:
        for row in rows:
            cp.write_row(row)
            n += 1
    return n


def copy_text(conn: Connection, table: Table, data: bytes) -> None:
    """COPY rows already rendered as COPY text (a line per row, tab between columns) into a table."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    names = [c.name for c in table.columns]
    stmt = pgsql.SQL("COPY {} ({}) FROM STDIN").format(pgsql.Identifier(table.name),
                                                       pgsql.SQL(", ").join(map(pgsql.Identifier, names)))
    with raw.cursor() as cur, cur.copy(stmt) as cp:
        cp.write(data)


def apply_staged(conn: Connection, st: Staging, county: str, bundle_id: str) -> int:
    """Upsert the staged households (a newer version replaces an older one, never the reverse),
    then replace the members, years and events of those that were written; returns how many were."""
    sh = st.tables["households"]
    names = [c.name for c in households.columns]
    ins = postgresql.insert(households).from_select(names, select(*[sh.c[n] for n in names]))
    keep = {"county_code", "household_id"}
    ins = ins.on_conflict_do_update(
        index_elements=[households.c.county_code, households.c.household_id],
        set_={n: ins.excluded[n] for n in names if n not in keep},
        where=households.c.version < ins.excluded.version)
    applied = conn.execute(ins.returning(households.c.household_id)).fetchall()
    written = (select(households.c.household_id)
               .where(households.c.county_code == county, households.c.bundle_id == bundle_id))
    for key, target in (("members", members), ("years", years), ("events", events)):
        stage = st.tables[key]
        conn.execute(delete(target).where(target.c.county_code == county, target.c.household_id.in_(written)))
        cols = [c.name for c in target.columns]
        conn.execute(postgresql.insert(target).from_select(
            cols, select(*[stage.c[n] for n in cols]).where(stage.c.household_id.in_(written))))
    return len(applied)


DUP_RULE = "DUP-PERSON-PROVINCE"  # one ID number in households of two counties
DUP_NAME_RULE = "DUP-NAME-PREFECTURE"  # one name, sex and birth date under two ID numbers, two counties of a prefecture
_FLAG_COLS = ["county_code", "household_id", "member_id", "rule", "other_county", "other_household_id",
              "other_member_id", "household_no", "other_household_no", "id_number", "name", "other_name",
              "created_at"]


def _pairs(rule: str, county: str | None, bundle_id: str | None) -> Any:
    """(member a, member b) of two counties that `rule` says may be one person; a restricted to the
    households `bundle_id` wrote in `county` when given, else every member of the province."""
    m1, m2 = members.alias("m1"), members.alias("m2")
    h1, h2 = households.alias("h1"), households.alias("h2")
    if rule == DUP_RULE:
        same = and_(m2.c.id_number == m1.c.id_number, m2.c.county_code != m1.c.county_code)
        where = [m1.c.id_number != ""]
    else:
        same = and_(m2.c.name == m1.c.name, m2.c.birth_date == m1.c.birth_date, m2.c.sex == m1.c.sex,
                    m2.c.id_number != m1.c.id_number, m2.c.county_code != m1.c.county_code,
                    func.left(m2.c.county_code, 4) == func.left(m1.c.county_code, 4), m2.c.id_number != "")
        where = [m1.c.id_number != "", m1.c.name != "", m1.c.birth_date.is_not(None), m1.c.birth_date != "",
                 m1.c.sex.is_not(None)]
        if county is not None:  # only that prefecture's partitions can hold the other side
            where.append(m2.c.county_code.startswith(county[:4]))
    if county is not None:
        where += [m1.c.county_code == county, h1.c.bundle_id == bundle_id]
    else:
        where.append(_candidates(rule, m1))
    return (
        select(m1.c.county_code.label("a_county"), m1.c.household_id.label("a_household"),
               m1.c.member_id.label("a_member"), h1.c.household_no.label("a_no"), m1.c.name.label("a_name"),
               m1.c.id_number.label("a_id"),
               m2.c.county_code.label("b_county"), m2.c.household_id.label("b_household"),
               m2.c.member_id.label("b_member"), h2.c.household_no.label("b_no"), m2.c.name.label("b_name"),
               m2.c.id_number.label("b_id"))
        .select_from(m1.join(h1, and_(h1.c.county_code == m1.c.county_code, h1.c.household_id == m1.c.household_id))
                     .join(m2, same)
                     .join(h2, and_(h2.c.county_code == m2.c.county_code,
                                    h2.c.household_id == m2.c.household_id)))
        .where(*where)
    ).subquery("pairs")


def _candidates(rule: str, m1: Any) -> Any:
    """The from-scratch check's first pass: the keys that can make a pair at all, by one GROUP BY
    over the members (an ID number in more than one county; a prefecture, name, sex and birth date
    with more than one county and more than one ID number). Only the members holding those keys
    are joined with each other, so the self-join is over a few thousand people, not the province."""
    m = members
    if rule == DUP_RULE:
        keys = (select(m.c.id_number).where(m.c.id_number != "").group_by(m.c.id_number)
                .having(func.count(m.c.county_code.distinct()) > 1))
        return m1.c.id_number.in_(keys)
    city = func.left(m.c.county_code, 4)
    keys = (select(city, m.c.name, m.c.sex, m.c.birth_date)
            .where(m.c.id_number != "", m.c.name != "", m.c.birth_date.is_not(None), m.c.birth_date != "",
                   m.c.sex.is_not(None))
            .group_by(city, m.c.name, m.c.sex, m.c.birth_date)
            .having(func.count(m.c.county_code.distinct()) > 1, func.count(m.c.id_number.distinct()) > 1))
    return tuple_(func.left(m1.c.county_code, 4), m1.c.name, m1.c.sex, m1.c.birth_date).in_(keys)


def _insert_pairs(conn: Connection, rule: str, county: str | None, bundle_id: str | None, at: str,
                  both_sides: bool) -> None:
    p = _pairs(rule, county, bundle_id).c
    sides = (("a", "b"), ("b", "a")) if both_sides else (("a", "b"),)
    for a, b in sides:
        sel = select(p[f"{a}_county"], p[f"{a}_household"], p[f"{a}_member"], literal(rule), p[f"{b}_county"],
                     p[f"{b}_household"], p[f"{b}_member"], p[f"{a}_no"], p[f"{b}_no"], p[f"{a}_id"],
                     p[f"{a}_name"], p[f"{b}_name"], literal(at))
        conn.execute(postgresql.insert(flags).from_select(_FLAG_COLS, sel).on_conflict_do_nothing())


RULES = (DUP_RULE, DUP_NAME_RULE)


def refresh_flags(conn: Connection, county: str, bundle_id: str, at: str) -> None:
    """The cross-county flags of the households this bundle wrote, found again: both sides' old
    rows go, and one row per side is made for each member whose ID number is also in a household
    of another county (DUP_RULE), or whose name, sex and birth date are those of a member with
    another ID number in another county of the same prefecture (DUP_NAME_RULE)."""
    written = (select(households.c.household_id)
               .where(households.c.county_code == county, households.c.bundle_id == bundle_id))
    conn.execute(delete(flags).where(flags.c.county_code == county, flags.c.household_id.in_(written)))
    conn.execute(delete(flags).where(flags.c.other_county == county, flags.c.other_household_id.in_(written)))
    for rule in RULES:
        _insert_pairs(conn, rule, county, bundle_id, at, both_sides=True)


def recheck_flags(conn: Connection, at: str) -> int:
    """Every flag of the province found again from scratch (each pair is met from both sides, so
    one pass gives both rows); returns how many rows there are."""
    conn.execute(delete(flags))
    for rule in RULES:
        _insert_pairs(conn, rule, None, None, at, both_sides=False)
    return int(conn.execute(select(func.count()).select_from(flags)).scalar() or 0)


def flag_rows(conn: Connection, county: str | None = None) -> list[dict[str, Any]]:
    q = select(flags).order_by(flags.c.county_code, flags.c.household_no, flags.c.member_id, flags.c.other_county)
    if county:
        q = q.where(flags.c.county_code == county)
    return [dict(r) for r in conn.execute(q).mappings()]


def count_rows(conn: Connection, county: str | None = None) -> dict[str, int]:
    out = {}
    for key, (t, _cols) in PARTITIONED.items():
        q = select(func.count()).select_from(t)
        if county:
            q = q.where(t.c.county_code == county)
        out[key] = int(conn.execute(q).scalar() or 0)
    q = select(func.count()).select_from(bundles)
    if county:
        q = q.where(bundles.c.county_code == county)
    out["bundles"] = int(conn.execute(q).scalar() or 0)
    return out


def household_versions(conn: Connection, county: str) -> dict[str, int]:
    rows = conn.execute(select(households.c.household_id, households.c.version)
                        .where(households.c.county_code == county))
    return {r[0]: int(r[1]) for r in rows}



# ---------------------------------------------------------------------------------------------
# Reports (povdesk.province.report lays them out)


def _in_region(t: Table, prefix: str) -> Any:
    """Rows of the counties under a 2-digit (province) or 4-digit (city) prefix."""
    return t.c.county_code.startswith(prefix)


def household_groups(conn: Connection, prefix: str) -> list[tuple[str, str, str | None, str | None, int, int]]:
    """(county, status, attribute, main cause, households, people) for every combination present."""
    h = households
    rows = conn.execute(select(h.c.county_code, h.c.status, h.c.attribute, h.c.main_cause, func.count(),
                               func.coalesce(func.sum(h.c.member_count), 0))
                        .where(_in_region(h, prefix))
                        .group_by(h.c.county_code, h.c.status, h.c.attribute, h.c.main_cause))
    return [(r[0], r[1], r[2], r[3], int(r[4]), int(r[5])) for r in rows]


def year_changes(conn: Connection, prefix: str, steps: dict[str, tuple[str, str]], year: int
                 ) -> dict[str, dict[str, int]]:
    """county -> kind -> households whose deciding step of that kind is dated in `year`."""
    e = events
    out: dict[str, dict[str, int]] = {}
    for kind, (procedure, step) in steps.items():
        rows = conn.execute(select(e.c.county_code, func.count(e.c.household_id.distinct()))
                            .where(_in_region(e, prefix), e.c.procedure == procedure, e.c.step == step,
                                   e.c.step_date >= f"{year:04d}-01-01", e.c.step_date < f"{year + 1:04d}-01-01")
                            .group_by(e.c.county_code))
        for county, n in rows:
            out.setdefault(county, {k: 0 for k in steps})[kind] = int(n)
    return out


def quality_counts(conn: Connection, prefix: str) -> dict[str, dict[str, Any]]:
    """county -> households, households with any issue, with each issue, flagged households, and the
    time its last bundle was loaded."""
    h = households
    cols = [func.count(), func.count().filter(h.c.issues != 0)]
    cols += [func.count().filter(h.c.issues.op("&")(bit) != 0) for bit in ISSUES.values()]
    out: dict[str, dict[str, Any]] = {}
    for r in conn.execute(select(h.c.county_code, *cols).where(_in_region(h, prefix)).group_by(h.c.county_code)):
        out[r[0]] = {"households": int(r[1]), "with_issues": int(r[2]),
                     **{k: int(v) for k, v in zip(ISSUES, r[3:], strict=True)}, "flagged": 0, "problem": 0,
                     "last_loaded": ""}
    f = flags
    for county, n in conn.execute(select(f.c.county_code, func.count(f.c.household_id.distinct()))
                                  .where(_in_region(f, prefix)).group_by(f.c.county_code)):
        if county in out:
            out[county]["flagged"] = int(n)
    # Households with an issue or a flag, counted once each.
    flagged = select(f.c.county_code, f.c.household_id).where(_in_region(f, prefix)).distinct().subquery()
    either = (select(h.c.county_code, func.count())
              .select_from(h.outerjoin(flagged, and_(flagged.c.county_code == h.c.county_code,
                                                     flagged.c.household_id == h.c.household_id)))
              .where(_in_region(h, prefix), (h.c.issues != 0) | flagged.c.household_id.is_not(None))
              .group_by(h.c.county_code))
    for county, n in conn.execute(either):
        out[county]["problem"] = int(n)
    b = bundles
    for county, at in conn.execute(select(b.c.county_code, func.max(b.c.loaded_at)).where(_in_region(b, prefix))
                                   .group_by(b.c.county_code)):
        if county in out:
            out[county]["last_loaded"] = str(at)
    return out


def monitoring_households(conn: Connection, prefix: str, procedures: Sequence[str], void: str
                          ) -> tuple[list[tuple[str, str, str, dict[str, Any], int]],
                                     dict[tuple[str, str], list[dict[str, Any]]]]:
    """The households of the region with a monitoring type or a step of `procedures` (a small share
    of a province): (county, household id, village, fields, members) each, and their events of those
    procedures and the void marks (`void`), in order, keyed (county, household id)."""
    h, e = households, events
    # Two index lookups, not a test of every household of the province: the households with a
    # type (province_households_monitoring, partial) and those with a step of the procedures
    # (province_events_step). The type's test is written as the index's predicate is, literally.
    typed = select(h.c.county_code, h.c.household_id).where(_in_region(h, prefix), _MONITORING_TYPED)
    stepped = (select(e.c.county_code, e.c.household_id)
               .where(_in_region(e, prefix), e.c.procedure.in_(list(procedures))))
    ids = union(typed, stepped).subquery()
    on_ids = and_(ids.c.county_code == h.c.county_code, ids.c.household_id == h.c.household_id)
    rows = [(str(r[0]), str(r[1]), str(r[2]), dict(r[3]), int(r[4])) for r in conn.execute(
        select(h.c.county_code, h.c.household_id, h.c.village_code, h.c.fields, h.c.member_count)
        .select_from(h.join(ids, on_ids)).order_by(h.c.county_code, h.c.household_no))]
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in conn.execute(
            select(e.c.county_code, e.c.household_id, e.c.event_id, e.c.procedure, e.c.step, e.c.step_date,
                   e.c.role, e.c.user_name, e.c.evidence)
            .select_from(e.join(ids, and_(ids.c.county_code == e.c.county_code,
                                          ids.c.household_id == e.c.household_id)))
            .where(_in_region(e, prefix), e.c.procedure.in_([*procedures, void]))
            .order_by(e.c.county_code, e.c.household_id, e.c.position)).mappings():
        found.setdefault((r["county_code"], r["household_id"]), []).append(dict(r))
    return rows, found
