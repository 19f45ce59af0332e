"""The case search index: what it holds and how each database keeps it.

SQLite: an FTS5 table ``cases_fts`` (trigram tokenizer: any three characters match, Chinese
included) with the applicant's name, phone and the place (description and address), rowid = the
case's id, kept by triggers on ``cases`` so that it changes in the transaction that changes the
case. PostgreSQL: ``pg_trgm`` GIN indexes on the same columns and expression (an index is
always in step with its table). Both: a binary-ordered index on the name for names shorter than
a trigram (王五, or a surname alone), searched by prefix.

Alembic's models know none of these (virtual tables, operator classes, expression indexes),
nor SQLite's index of the cases' ids (CASE_IDS_INDEX, one database's only): ``include_object``
keeps them out of the comparison with the models."""

from __future__ import annotations

from typing import Any

from workflow.store.board_index import (
    AWAITING_BOARD_INDEX,
    STREET_AWAITING_INDEX,
    STREET_BOARD_INDEX,
    UNIT_BOARD_INDEX,
)

FTS = "cases_fts"
NAME_PREFIX_INDEX = "search_cases_name_prefix"
PG_INDEXES = ("search_cases_name_trgm", "search_cases_phone_trgm", "search_cases_place_trgm")
# A workstation's cases by the applicant's name (binary order): a clerk's search by a name's
# first one or two characters reads the matches, not the workstation's every case.
WORKSTATION_NAME_INDEX = "search_cases_workstation_name"
SQLITE_WORKSTATION_NAME = (
    f"CREATE INDEX {WORKSTATION_NAME_INDEX} ON cases (workstation, applicant_name)"
)
PG_WORKSTATION_NAME = (
    f'CREATE INDEX {WORKSTATION_NAME_INDEX} ON cases (workstation, (applicant_name COLLATE "C"))'
)

# The place a case is about: its description, its address (reported with its location) and
# the address its form carries (an Open311 request's address_string).
SQLITE_PLACE = (
    "coalesce({r}.description, '') || ' ' || coalesce({r}.address, '') || ' ' || "
    "coalesce(json_extract({r}.form, '$.address'), '')"
    " || ' ' || coalesce(json_extract({r}.form, '$.open311.address_string'), '')"
)
PG_PLACE = (
    "(coalesce(description, '') || ' ' || coalesce(address, '') || ' ' || "
    "coalesce(form ->> 'address', '') || ' ' || "
    "coalesce((form -> 'open311') ->> 'address_string', ''))"
)


def _sqlite_row(r: str) -> str:
    return f"{r}.id, {r}.applicant_name, {r}.applicant_phone, " + SQLITE_PLACE.format(r=r)


# The index of the cases already there (add a WHERE to fill it for some only).
SQLITE_FILL = (
    f"INSERT INTO {FTS}(rowid, name, phone, place) SELECT {_sqlite_row('cases')} FROM cases"
)
SQLITE_INSERT_TRIGGER = (
    f"CREATE TRIGGER {FTS}_ai AFTER INSERT ON cases BEGIN "
    f"INSERT INTO {FTS}(rowid, name, phone, place) VALUES ({_sqlite_row('new')}); END"
)
SQLITE_UP = (
    f"CREATE VIRTUAL TABLE {FTS} USING fts5(name, phone, place, tokenize = 'trigram')",
    SQLITE_FILL,
    SQLITE_INSERT_TRIGGER,
    f"CREATE TRIGGER {FTS}_au AFTER UPDATE OF applicant_name, applicant_phone, description, address, form"
    f" ON cases BEGIN DELETE FROM {FTS} WHERE rowid = old.id; "
    f"INSERT INTO {FTS}(rowid, name, phone, place) VALUES ({_sqlite_row('new')}); END",
    f"CREATE TRIGGER {FTS}_ad AFTER DELETE ON cases BEGIN "
    f"DELETE FROM {FTS} WHERE rowid = old.id; END",
    f"CREATE INDEX {NAME_PREFIX_INDEX} ON cases (applicant_name)",
)
SQLITE_DOWN = (
    f"DROP INDEX IF EXISTS {NAME_PREFIX_INDEX}",
    f"DROP TRIGGER IF EXISTS {FTS}_ad",
    f"DROP TRIGGER IF EXISTS {FTS}_au",
    f"DROP TRIGGER IF EXISTS {FTS}_ai",
    f"DROP TABLE IF EXISTS {FTS}",
)
PG_UP = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX search_cases_name_trgm ON cases USING gin (applicant_name gin_trgm_ops)",
    "CREATE INDEX search_cases_phone_trgm ON cases USING gin (applicant_phone gin_trgm_ops)",
    f"CREATE INDEX search_cases_place_trgm ON cases USING gin ({PG_PLACE} gin_trgm_ops)",
    f'CREATE INDEX {NAME_PREFIX_INDEX} ON cases ((applicant_name COLLATE "C"))',
)
PG_DOWN = (
    f"DROP INDEX IF EXISTS {NAME_PREFIX_INDEX}",
    *(f"DROP INDEX IF EXISTS {name}" for name in reversed(PG_INDEXES)),
    "DROP EXTENSION IF EXISTS pg_trgm",
)

# On SQLite, the cases' ids alone (migration 0028_console5): a page chosen by its number skips
# the ids before it in this index, not in the table's rows (15-19 ms for 50,000 ids, 1-1.5 ms
# here); an estimate samples runs of ids in it. PostgreSQL's primary key is such an index.
CASE_IDS_INDEX = "ix_cases_id"
# SQLite's cases by the day (UTC) they were opened, then id (migration 0033_lists9): a period's
# cases newest first, read day by day (workflow.queries.search.opened_days).
OPENED_DAY_INDEX = "ix_cases_opened_day"
# PostgreSQL's (migration 0037_pg11): the day in the city's time zone (STREETFLOW_TIMEZONE's
# default), so that a period of whole days there is read day by day with no day cut at its ends
# (in UTC a period's first and last days are partly out of it, and PostgreSQL's planner,
# misjudging how much, sorted the last day's every case). A list asked in another zone reads the
# period's range of ids as before.
PG_OPENED_DAY_ZONE = "Asia/Shanghai"
PG_OPENED_DAY = (
    f"CREATE INDEX {OPENED_DAY_INDEX} ON cases "
    f"((CAST(timezone('{PG_OPENED_DAY_ZONE}', created_at) AS date)), id)"
)
# PostgreSQL's cases by the first two characters of the applicant's name, then id (migration
# 0037_pg11): a search by a name's first two characters (王五) reads its page newest first
# from here, where it read the name index's every match and sorted their ids (11,000 of them
# for each two characters at five million cases). The name beside, so that the page and the
# count read the index alone (workflow.queries.search._name_start2 asks its third character).
# PostgreSQL's cases a unit holds in its inbox's order (workflow.queries.search.MOST_URGENT_FIRST
# as PostgreSQL sees it once its bound values are known: critical, urgent, then the others; the
# nearest stage limit first, none after every real instant; then id), of the cases held (migration
# 0037_pg11): the console's inbox reads its page of 26 in order, where it collected and sorted
# every case the unit holds (1,057 of a workstation's at 200,000 cases, 26,000 at five million).
INBOX_INDEX = "ix_cases_inbox"
PG_INBOX = (
    f"CREATE INDEX {INBOX_INDEX} ON cases (holder, "
    "(CASE WHEN urgency = 'critical' THEN 0 WHEN urgency = 'urgent' THEN 1 ELSE 2 END), "
    "(coalesce(stage_due_at, '9999-12-31 00:00:00+00'::timestamptz)), id) "
    "WHERE holder IS NOT NULL"
)
NAME_START2_INDEX = "search_cases_name_start2"
PG_NAME_START2 = (
    f"CREATE INDEX {NAME_START2_INDEX} ON cases ((left(applicant_name, 2)), id)"
    " INCLUDE (applicant_name)"
)

# PostgreSQL's cases by workstation and the applicant's phone read backwards (migration
# 0038_pg12): a clerk's search by a phone's last digits (1497) reads the workstation's cases
# whose phone ends so, as a range of this index (its reversed phone begins with 7941), where it
# read the workstation's every entry of another index (4,000 at 200,000 cases, 100,000 at five
# million) and the trigram index's matches, and kept those in both (a BitmapAnd).
# (text_pattern_ops: a LIKE of a prefix is a range of it whatever the database's collation.)
WORKSTATION_PHONE_INDEX = "search_cases_workstation_phone_tail"
PG_WORKSTATION_PHONE = (
    f"CREATE INDEX {WORKSTATION_PHONE_INDEX} ON cases "
    "(workstation, (reverse(applicant_phone)) text_pattern_ops)"
)
# PostgreSQL's held cases by holder, workstation and id (migration 0038_pg12): a clerk's inbox
# (the cases its workstation holds, of its workstation) is counted to the cap from this index
# alone and paged newest first from it, where the count read a bitmap of the workstation's
# every case and the holder's and then the rows of the first 1,001 (366 buffers at 200,000).
HELD_WORKSTATION_INDEX = "ix_cases_holder_workstation"
PG_HELD_WORKSTATION = (
    f"CREATE INDEX {HELD_WORKSTATION_INDEX} ON cases (holder, workstation, id) "
    "WHERE holder IS NOT NULL"
)
# PostgreSQL's open cases (not merged) by workstation, item and opening instant (migration
# 0038_pg12): the likely duplicates of a case (workflow.dispatch.duplicates: the open cases of
# its item at its workstation opened within days of it, the newest first), which a case page
# shows, are read in order from here, where the item's every case was read into a bitmap
# (7,300 entries at 200,000 cases for PS-03; 180,000 at five million) and ANDed with the
# workstation's cases of the window.
SIMILAR_INDEX = "ix_cases_similar"
PG_SIMILAR = (
    f"CREATE INDEX {SIMILAR_INDEX} ON cases (workstation, item, created_at, id) "
    "WHERE closed_at IS NULL AND merged_into IS NULL"
)

# PostgreSQL's cases by workstation, the applicant's name's first two characters and id, the
# name beside (migration 0038_pg12): a clerk's search by a name's first two characters reads its
# page newest first and its count from here. It read the workstation's index of names (every
# match of the workstation, its rows, a sort) or, when the planner expected a match or two in
# the city, the city's every match from the index of names, keeping the workstation's (the
# planner's choice followed its sample of the names: 600 of the city's read for 67 at 200,000).
WORKSTATION_NAME_START2_INDEX = "search_cases_workstation_name_start2"
PG_WORKSTATION_NAME_START2 = (
    f"CREATE INDEX {WORKSTATION_NAME_START2_INDEX} ON cases "
    "(workstation, (left(applicant_name, 2)), id) INCLUDE (applicant_name)"
)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """For Alembic's comparison: the search index's tables and indexes are not the models', nor
    the task board's on PostgreSQL (workflow.store.board_index)."""
    if name is None:
        return True
    ours = (
        FTS,
        NAME_PREFIX_INDEX,
        WORKSTATION_NAME_INDEX,
        CASE_IDS_INDEX,
        OPENED_DAY_INDEX,
        NAME_START2_INDEX,
        INBOX_INDEX,
        WORKSTATION_PHONE_INDEX,
        WORKSTATION_NAME_START2_INDEX,
        HELD_WORKSTATION_INDEX,
        SIMILAR_INDEX,
        *PG_INDEXES,
        UNIT_BOARD_INDEX,
        AWAITING_BOARD_INDEX,
        STREET_BOARD_INDEX,
        STREET_AWAITING_INDEX,
    )
    return not (name in ours or name.startswith(FTS + "_"))
