"""SQLAlchemy models: the schema that Alembic migrations create."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    inspect,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations can name what they change on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


@functools.lru_cache(maxsize=4096)
def _utc_text(value: dt.datetime) -> str:
    """A UTC instant as SQLite stores it. Kept for the instants bound again: a catch-up binds
    its NOW, a thousand due instants and their listing instants into a quarter of a million
    rows. (Keyed in UTC: two instants of a zone's fold are equal keys in their zone.)"""
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


@functools.lru_cache(maxsize=4096)
def _utc_instant(text: str) -> dt.datetime:
    """The instant SQLite stored as TEXT (UTC). Kept for the texts read again (a sweep's
    batch reads its cases' due instants, a thousand among a quarter of a million stages): an
    instant is immutable, one object serves every row."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps stored in UTC and always returned timezone-aware, on SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: streetflow stores only aware timestamps")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    @staticmethod
    def sqlite_bind(value: dt.datetime | None) -> str | None:
        """What process_bind_param and SQLite's DATETIME give together (the text SQLite stores),
        in one step: for store.direct's hot path."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: streetflow stores only aware timestamps")
        if value.tzinfo is not dt.UTC:
            value = value.astimezone(dt.UTC)
        return _utc_text(value)

    @staticmethod
    def sqlite_result(value: str | None) -> dt.datetime | None:
        """What SQLite's DATETIME and process_result_value give together, in one step."""
        if value is None:
            return None
        return _utc_instant(value)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON()}  # noqa: RUF012


class DefinitionVersion(Base):
    """One published version of one definition (a route, the list, the units, ...)."""

    __tablename__ = "definition_versions"
    __table_args__ = (
        UniqueConstraint(
            "kind", "name", "version", name="uq_definition_versions_kind_name_version"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(
        String(32)
    )  # route | items | units | calendar | appraisal | street_routing
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[dt.datetime]
    published_by: Mapped[str] = mapped_column(String(64))
    # A street's variant of a district route: it applies to that street's new cases only.
    # None: the district's own version, in force wherever a street has no variant.
    street: Mapped[str | None] = mapped_column(String(32))


class Unit(Base):
    """The organisation as last published: looked up on every scope check, so kept as rows."""

    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    parent: Mapped[str | None] = mapped_column(String(32))
    host_street: Mapped[str | None] = mapped_column(String(32))
    agency_kind: Mapped[str | None] = mapped_column(String(16))


def normalise_name(name: str) -> str:
    """A user name as every sign-in, lookup and count of failed sign-ins compares it: without
    surrounding spaces, case-folded. ' Admin', 'admin ' and 'ADMIN' are one user, one count."""
    return name.strip().casefold()


def _name_key(context: Any) -> str:
    return normalise_name(context.get_current_parameters()["name"])


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # The name as sign-in and every lookup compare it (workflow.users.normalise_name): unique,
    # so 'Wang' and 'wang' cannot be two people, nor two counts of failed sign-ins.
    name_key: Mapped[str] = mapped_column(String(64), unique=True, default=_name_key)
    unit: Mapped[str] = mapped_column(ForeignKey("units.code"))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime]


class ConsoleSession(Base):
    """A signed-in console session: the cookie carries a random id, the database its SHA-256.
    Sign-out, disabling the user and a new password delete the rows, so a copied cookie dies."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]


class ApiToken(Base):
    """A bearer token, stored as its SHA-256 only."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiKey(Base):
    """An Open311 api_key of an outside channel (app, kiosk, hotline), stored hashed."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class Case(Base):
    """One resident's request for one item, pinned to the route version it started on."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_holder_state", "holder", "state"),
        Index("ix_cases_street_created", "street", "created_at"),
        Index("ix_cases_workstation_created", "workstation", "created_at"),
        Index("ix_cases_light", "light"),
        Index("ix_cases_merged_into", "merged_into"),
        # The sweep's two questions, answered from the stages still to be looked at. Nothing
        # asks by an instant alone: no index of one (each is two pages more a firing writes).
        Index("ix_cases_light_yellow", "light", "stage_yellow_at"),
        Index("ix_cases_light_due", "light", "stage_due_at"),
        Index("ix_cases_street_id", "street", "id"),
        Index("ix_cases_workstation_id", "workstation", "id"),
        Index("ix_cases_holder_id", "holder", "id"),
        Index("ix_cases_urgency_id", "urgency", "id"),
        Index("ix_cases_created_id", "created_at", "id"),
        Index("ix_cases_state_id", "state", "id"),
        Index("ix_cases_street_state", "street", "state"),
        # The open cases by id, with their whole limit: a list of the overdue ones counts and
        # samples them from the index alone, and its page walks it newest first (each case's
        # row was read: migration 0032_sql8). Closed_at too, though the condition fixes it:
        # SQLite reads an index alone only when it holds every column the query names.
        Index(
            "ix_cases_open_due",
            "id",
            "due_at",
            "closed_at",
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        # The whistles a street blew (its whistled cases), by street and id: a page and its
        # count read this index alone, where the count merged the street's every id with the
        # city's whistle events (migration 0035_lists10). Whistled too, though the condition
        # fixes it: SQLite reads an index alone only when it holds every column the query names.
        Index(
            "ix_cases_street_whistled",
            "street",
            "id",
            "whistled",
            sqlite_where=text("whistled = 1"),
            postgresql_where=text("whistled"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item: Mapped[str] = mapped_column(String(32), index=True)
    list_version: Mapped[int] = mapped_column(Integer)
    route_name: Mapped[str] = mapped_column(String(64))
    route_version: Mapped[int] = mapped_column(Integer)
    # The version of the street's routing table in force when opened (None: there was none).
    routing_version: Mapped[int | None] = mapped_column(Integer)
    workstation: Mapped[str] = mapped_column(ForeignKey("units.code"))
    street: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str | None] = mapped_column(String(32))
    holder: Mapped[str | None] = mapped_column(String(32))
    whistle_target: Mapped[str | None] = mapped_column(String(32))
    # Whether the case was ever whistled (an event of its trail has the trigger "whistle"):
    # set by a trigger on the trail in the statement that appends that event, whatever appends
    # it (migration 0035_lists10); the engine never writes it.
    whistled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    version: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(32), default="window")
    applicant_name: Mapped[str] = mapped_column(String(128))
    applicant_phone: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    form: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    closed_at: Mapped[dt.datetime | None]
    # Time: the current stage's start and limit, the whole case's limit, and the clock
    # stopped while the case waits on the applicant (seconds of working time left).
    stage_started_at: Mapped[dt.datetime]
    stage_due_at: Mapped[dt.datetime | None]
    due_at: Mapped[dt.datetime | None]
    light: Mapped[str] = mapped_column(String(8), default="none")
    paused_at: Mapped[dt.datetime | None]
    stage_left_s: Mapped[int | None] = mapped_column(BigInteger)
    case_left_s: Mapped[int | None] = mapped_column(BigInteger)
    # The trail event that began the stage (kept across a pause), the stage's whole limit in
    # working seconds (kept across a pause, grown by an extension) and when it turns yellow.
    stage_seq: Mapped[int | None] = mapped_column(BigInteger)
    stage_limit_s: Mapped[int | None] = mapped_column(BigInteger)
    stage_yellow_at: Mapped[dt.datetime | None]
    rating_score: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    # 紧急程度: normal (一般, working time), urgent (紧急) or critical (特急): clock time.
    urgency: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    # 办理结果: what was done, as written on resolving or completing (the latest one).
    result: Mapped[str | None] = mapped_column(Text)
    # Where it was reported (routing by place): a point in decimal degrees and the address as
    # given; null when the case was opened by naming its workstation only.
    lat: Mapped[float | None] = mapped_column(Float)
    long: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(500))
    # 合并: the case this one was merged into (a duplicate closes as merged; the master goes on).
    merged_into: Mapped[int | None] = mapped_column(Integer)
    # The trail partition the case's events are chained in: decided when it is opened (by its
    # street, workflow.audit.chain.partition_for_street), never changed afterwards.
    partition: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Task(Base):
    """One unit's part of a case in a task state (a whistle's 报到 and work): its own small life
    awaiting_report -> working -> done (or cancelled), its own clock, while the case stays with
    the commanding unit. ``round`` is the case's stage (the trail event that began it) the task
    belongs to: a later visit to the state opens new tasks, the old ones count no more."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_case_round", "case_id", "round"),
        Index("ix_tasks_unit_status", "unit", "status"),
        # A street's task board (its cases' tasks awaiting report), by status: without it each
        # page read every task (100,000 at a million cases; migration 0026_task_board).
        Index("ix_tasks_status_due", "status", "stage_due_at"),
        Index("ix_tasks_light_yellow", "light", "stage_yellow_at"),
        Index("ix_tasks_light_due", "light", "stage_due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    round: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(64))  # the case's state that opened it
    commander: Mapped[str] = mapped_column(String(32))  # the unit in command (the street)
    # The case's street, kept equal to it (set when the task is opened; a case placed in another
    # street moves its tasks along): a street's task boards read the tasks alone, without
    # asking each task's case (migration 0031_task_street).
    street: Mapped[str] = mapped_column(String(32), server_default="")
    unit: Mapped[str] = mapped_column(String(32))
    lead: Mapped[bool] = mapped_column(Boolean, default=False)
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(24))
    version: Mapped[int] = mapped_column(Integer)
    result: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    report_due_at: Mapped[dt.datetime | None]
    due_at: Mapped[dt.datetime | None]
    # The current step's clock (awaiting a report, or working), as a case's stage has it.
    stage_seq: Mapped[int | None] = mapped_column(BigInteger)
    stage_started_at: Mapped[dt.datetime | None]
    stage_due_at: Mapped[dt.datetime | None]
    stage_yellow_at: Mapped[dt.datetime | None]
    light: Mapped[str] = mapped_column(String(8), default="none")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class TrailHead(Base):
    """A chain's last sequence number and hash; locking this row serialises its appends. One row
    per trail partition: partition P's head is the row with id P + 1 (id 1: the default
    partition 0, the only one of a single-partition install)."""

    __tablename__ = "trail_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    # How many partitions (head rows) there are, on every head row: a writer reads it with the
    # head it locks (workflow.audit.chain).
    parts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Over how many partitions new cases are dealt (STREETFLOW_TRAIL_PARTITIONS as last applied;
    # at most `parts`: partitions are never removed, a lower count stops dealing to the others).
    dealt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class SweepMark(Base):
    """Where the last complete SLA sweep started: a partition's head seq then (a case of it
    changed since has an event after it in that partition) and the instant it swept at. One row
    per trail partition (id P + 1 for partition P), absent before the first complete sweep."""

    __tablename__ = "sweep_marks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    trail_seq: Mapped[int] = mapped_column(BigInteger)
    swept_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime]


class write_time(FunctionElement[dt.datetime]):
    """The database's clock at the moment a row is written: not the application's, and not
    the transaction's start."""

    type = DateTime(timezone=True)
    inherit_cache = True


@compiles(write_time, "sqlite")
def _write_time_sqlite(_element: Any, _compiler: Any, **_kw: Any) -> str:
    # UTC, as every time is stored; milliseconds are as fine as SQLite's clock goes.
    return "(strftime('%Y-%m-%d %H:%M:%f', 'now'))"


@compiles(write_time, "postgresql")
def _write_time_postgresql(_element: Any, _compiler: Any, **_kw: Any) -> str:
    return "clock_timestamp()"


class TrailEvent(Base):
    """One link of the append-only, hash-chained trail."""

    __tablename__ = "trail_events"
    __table_args__ = (
        # The action (and instant) after the columns searched by: read from the index, not
        # the rows (migration 0022_appraisal_scale says why).
        # On PostgreSQL the holder too, beside the key: the appraisal's open overdue finds each
        # case's last clock event and whether the case is still held from the index alone
        # (migration 0034_appr9).
        Index(
            "ix_trail_events_case_seq_action_at",
            "case_id",
            "seq",
            "action",
            "at",
            postgresql_include=["to_holder"],
        ),
        # No index on (to_holder, case_id): a unit's cases are read from case_units (migration
        # 0036_catch11 says why).
        Index("ix_trail_events_at_action", "at", "action"),
        # Partial: for the loose scan of the actions and a list of an action's events, which
        # state its condition, only (migrations 0021_lists and 0040_trail_actions say why).
        Index(
            "ix_trail_events_action_seq",
            "action",
            "seq",
            sqlite_where=text("seq > 0"),
            postgresql_where=text("seq > 0"),
        ),
        # The trigger too, though the condition fixes it: SQLite reads an index alone only when
        # it holds every column the query names (migration 0028_console5).
        Index(
            "ix_trail_events_whistles",
            "case_id",
            "trigger",
            sqlite_where=text("\"trigger\" = 'whistle'"),
            postgresql_where=text("\"trigger\" = 'whistle'"),
        ),
        Index("ix_trail_events_partition_seq", "partition", "seq"),
    )

    # SQLite: INTEGER, so the key is the table's rowid (one b-tree, not a table and an index;
    # migration 0041_trail_rowid). Both hold 64 bits.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[dt.datetime]
    case_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(48))
    trigger: Mapped[str | None] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(64))
    to_state: Mapped[str | None] = mapped_column(String(64))
    from_holder: Mapped[str | None] = mapped_column(String(32))
    to_holder: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # When the database wrote the row (set by the database; not hashed: NULL for events written
    # before it was kept). verify warns of an event dated after it.
    written_at: Mapped[dt.datetime | None] = mapped_column(server_default=write_time())
    # The partition whose chain the event links into (not hashed: the chain is the proof).
    partition: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class CaseUnit(Base):
    """A unit that holds or has held a case, per the trail: one row for each (to_holder, case)
    of its events, written by a trigger on trail_events in the statement that appends the event
    (migration 0023_lists2), so a department's cases are read from here in id order instead
    of asking each case's trail."""

    __tablename__ = "case_units"
    __table_args__ = ({"sqlite_with_rowid": False},)

    unit: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class TrailBlock(Base):
    """The digest of a full block of trail seqs (workflow.audit.blocks): SHA-256 over the stored
    text of its events, computed once, when the block was full and first needed."""

    __tablename__ = "trail_blocks"

    first_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[dt.datetime]


class Checkpoint(Base):
    """A signed chain head (HMAC with the instance secret, which is not in the database)."""

    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime]
    signature: Mapped[str] = mapped_column(String(64))
    # With more than one partition: every partition's head ([partition, seq, hash], in partition
    # order) and their Merkle root, which the signature covers (workflow.audit.checkpoints).
    heads: Mapped[list[Any] | None] = mapped_column(JSON)
    root: Mapped[str | None] = mapped_column(String(64))


class IdempotencyKey(Base):
    """The first answer to a transition request, returned again for a retry with the same key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(128))
    request_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime]


class Supervision(Base):
    """督办: raised once when a stage passes its limit, addressed to the supervising unit."""

    __tablename__ = "supervisions"
    __table_args__ = (
        UniqueConstraint("case_id", "stage_seq", name="uq_supervisions_case_stage"),
        # What a sweep's listing (挂牌督办) looks at: the supervisions not listed yet, by list_at.
        Index(
            "ix_supervisions_to_list",
            "list_at",
            sqlite_where=text("listed_at IS NULL"),
            postgresql_where=text("listed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Found by case through uq_supervisions_case_stage (case_id first): no index of its own.
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    stage_seq: Mapped[int] = mapped_column(BigInteger)  # the trail event that began the stage
    state: Mapped[str] = mapped_column(String(64))
    holder: Mapped[str | None] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(32), index=True)  # the supervising unit
    also_unit: Mapped[str | None] = mapped_column(String(32))  # an agency's host street
    # A task's late step (the department's supervisor; the street copied), not the case's.
    task_id: Mapped[int | None] = mapped_column(Integer)
    stage_due_at: Mapped[dt.datetime]
    raised_at: Mapped[dt.datetime]
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    # The ladder: the holder answers (a written explanation and the date it will be done by);
    # past LIST_AT, still on the same stage, the district lists it (挂牌督办).
    explanation: Mapped[str | None] = mapped_column(Text)
    fix_date: Mapped[dt.date | None] = mapped_column(Date)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[dt.datetime | None]
    # Asked by the listing only, through ix_supervisions_to_list (migration 0027_sweep5).
    list_at: Mapped[dt.datetime | None]
    listed_at: Mapped[dt.datetime | None]
    listed_unit: Mapped[str | None] = mapped_column(String(32))


class Reminder(Base):
    """催办: the first step of the ladder, sent to the holder once when a stage turns yellow."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("case_id", "stage_seq", name="uq_reminders_case_stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    stage_seq: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(64))
    holder: Mapped[str] = mapped_column(String(32), index=True)
    stage_due_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime]


class ReturnRequest(Base):
    """退单: a holder's request to return a case (or its task), decided by a reviewer; the
    second return of a case goes to the district's arbitration, whose decision is final."""

    __tablename__ = "returns"
    __table_args__ = (
        Index("ix_returns_status_reviewer", "status", "reviewer"),
        Index("ix_returns_unit_status", "unit", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(32))  # the requesting unit
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime]
    stage_seq: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(64))
    # The unit that handed the case to the requester (None: the case began there).
    sender: Mapped[str | None] = mapped_column(String(32))
    reviewer: Mapped[str] = mapped_column(String(32))
    arbitration: Mapped[bool] = mapped_column(Boolean, default=False)
    review_due_at: Mapped[dt.datetime]
    review_late_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    to_unit: Mapped[str | None] = mapped_column(String(32))
    # Who carries it in the appraisal: the requester when refused; a mis-sending dispatcher
    # when the reviewer says so; else nobody.
    at_fault: Mapped[str | None] = mapped_column(String(32))


class Extension(Base):
    """延期: a holder's request for more time on a stage, and the supervising unit's decision."""

    __tablename__ = "extensions"
    __table_args__ = (Index("ix_extensions_case_status", "case_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    stage_seq: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(64))
    holder: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(32), index=True)  # who decides
    task_id: Mapped[int | None] = mapped_column(Integer)  # a task's step, not the case's stage
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime]
    reason: Mapped[str] = mapped_column(Text)
    days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    new_stage_due_at: Mapped[dt.datetime | None]


class Assessment(Base):
    """考核评价: a street's assessment of one of its stationed agencies for a period."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("unit", "period", name="uq_assessments_unit_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit: Mapped[str] = mapped_column(ForeignKey("units.code"))
    period: Mapped[str] = mapped_column(String(7))
    score: Mapped[float]
    comment: Mapped[str] = mapped_column(Text)
    entered_by: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[dt.datetime]


class AppraisalRecord(Base):
    """A unit's measured performance over a period: a draft, then frozen with its inputs' digest."""

    __tablename__ = "appraisal_records"
    __table_args__ = (
        UniqueConstraint(
            "period", "unit", "status", name="uq_appraisal_records_period_unit_status"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    unit: Mapped[str] = mapped_column(ForeignKey("units.code"))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # draft | final
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    # None: 不参评, fewer cases than the scheme's minimum (no score, not ranked).
    score: Mapped[float | None]
    rank: Mapped[int | None]
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[dt.datetime]
    finalized_at: Mapped[dt.datetime | None]


# A finalized appraisal record is immutable; a migration adds the same rule in the database
# (triggers) for changes that bypass the ORM.
@event.listens_for(AppraisalRecord, "before_update")
@event.listens_for(AppraisalRecord, "before_delete")
def _final_records_are_frozen(_mapper: Any, _connection: Any, target: AppraisalRecord) -> None:
    history = inspect(target).attrs.status.history
    was = history.deleted[0] if history.deleted else target.status
    if was == "final":
        from workflow.errors import Conflict

        raise Conflict(
            f"appraisal record {target.id} is finalized: it cannot be changed",
            code="record_finalized",
            params={"record": target.id},
        )


class Feedback(Base):
    """回访 / 好差评: the resident's answer on a finished case, asked once per round (the second
    round follows a rectification). Pending until answered by the one-time link or a call."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("case_id", "round", name="uq_feedback_case_round"),
        Index("ix_feedback_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | given
    # 承办单位: the unit that handled and decided the case; and the street office that handed
    # it on to that unit (whistle, dispatch), if any.
    handler: Mapped[str | None] = mapped_column(String(32), index=True)
    commander: Mapped[str | None] = mapped_column(String(32))
    street: Mapped[str] = mapped_column(String(32))
    code: Mapped[str | None] = mapped_column(String(16), unique=True)
    expires_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]
    level: Mapped[int | None] = mapped_column(Integer)
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(16))
    given_at: Mapped[dt.datetime | None]
    given_by: Mapped[str | None] = mapped_column(String(64))
    # An upheld appeal takes the rating out of the appraisal.
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)


class Rectification(Base):
    """整改: what the handling unit does about a 差评, within a limit; a second 回访 follows."""

    __tablename__ = "rectifications"
    __table_args__ = (Index("ix_rectifications_unit_status", "unit", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    unit: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | reported
    opened_at: Mapped[dt.datetime]
    due_at: Mapped[dt.datetime]
    report: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[dt.datetime | None]
    reported_by: Mapped[str | None] = mapped_column(String(64))


class Appeal(Base):
    """申诉: the handling unit disputes a rating (malicious, off-topic); the district decides."""

    __tablename__ = "appeals"
    __table_args__ = (Index("ix_appeals_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    unit: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|upheld|rejected
    appealed_by: Mapped[str] = mapped_column(String(64))
    appealed_at: Mapped[dt.datetime]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)


class Attachment(Base):
    """A photo or a scanned document on a case (at intake, a checklist material, a task's part,
    a result's before/after photo). The file itself is stored by its SHA-256 outside the database
    (workflow.attachments.storage); this row and its trail event (attachment.added) name it."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_case_id", "case_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[int | None] = mapped_column(Integer)
    # intake | material | before | after | task
    purpose: Mapped[str] = mapped_column(String(16))
    # The checklist material the file is (the item's materials), for purpose "material".
    material: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # Shown to Open311 readers (only on a case Open311 publishes).
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    # The photo kept its EXIF GPS position (asked for); otherwise every metadata field is gone.
    location_kept: Mapped[bool] = mapped_column(Boolean, default=False)
    added_by: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str | None] = mapped_column(String(32))
    added_at: Mapped[dt.datetime]


# ---------------------------------------------------------------- notifications (issue 21)


class OutboxEvent(Base):
    """A trail event still to be told: written in the transaction that appended the event,
    removed when the worker has turned it into deliveries and staff notifications."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)


class Webhook(Base):
    """An outside system's subscription: the events it wants, signed with its secret."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[Any] = mapped_column(JSON)  # names, 'prefix.*' or '*'
    # Only the cases that came in through this channel (e.g. open311 for a hotline platform).
    channel: Mapped[str | None] = mapped_column(String(32))
    secret: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]


class Delivery(Base):
    """One message to one receiver (a webhook, a resident's SMS, a duty address), delivered at
    least once under its stable delivery id; retried with backoff, then dead."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_next_at", "status", "next_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(80), unique=True)
    channel: Mapped[str] = mapped_column(String(16))  # webhook | sms | email
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("webhooks.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    event: Mapped[str] = mapped_column(String(64))
    # What is sent, without a resident's phone (read from the case when sending).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # pending | sending | delivered | dead
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[dt.datetime]
    lease_until: Mapped[dt.datetime | None]
    claim: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime]
    delivered_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class DeliveryAttempt(Base):
    """One try of a delivery and the receiver's answer, for the administrator's list."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    at: Mapped[dt.datetime]
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    answer: Mapped[str | None] = mapped_column(Text)


class Notification(Base):
    """A staff notification to a unit, shown in the console until read."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_unit_id", "unit", "id"),
        # A sweep asks which stages' lights were told already (lights.tell): by case.
        Index("ix_notifications_case_seq", "case_id", "seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(BigInteger)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime]
    read_at: Mapped[dt.datetime | None]
    read_by: Mapped[str | None] = mapped_column(String(64))
