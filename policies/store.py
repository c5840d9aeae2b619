"""The versioned policy table and the in-memory decision point built from it.

Rows are only ever added (db/models/policies.py): the newest row per uid wins, a
deletion is a row with deleted=True, and the policy set's version is the largest id.
Each API process polls that version at most once per `poll_seconds`, so an edit made
through any process reaches every other within about a second (DESIGN.md §2), and no
decision ever waits on the database.
"""

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.engine import Database, run_in_session
from db.models import PolicyRecord
from policies.pdp import DecisionPoint, PolicyProblem, validate_policy

LOG = logging.getLogger(__name__)
DEFAULTS_DIR = Path(__file__).parent / "defaults"


def _documents_in(path: Path) -> list[Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, list) else [data]


def load_default_documents() -> list[dict[str, Any]]:
    """The default policy set: policies/defaults/*.json, each a list of documents."""
    documents: list[dict[str, Any]] = []
    for path in sorted(DEFAULTS_DIR.glob("*.json")):
        documents.extend(_documents_in(path))
    return documents


async def ensure_defaults(session: AsyncSession, *, author: str = "system") -> int:
    """Insert the default policies as version 1 when the table has no rows at all.

    Any row (even a deletion) means the set has been managed, so it is left alone.
    The caller commits.
    """
    count = await session.scalar(select(func.count()).select_from(PolicyRecord))
    if count:
        return 0
    documents = load_default_documents()
    for document in documents:
        session.add(PolicyRecord(uid=document["uid"], version=1, document=document,
                                 author=author))
    await session.flush()
    return len(documents)


async def latest_records(session: AsyncSession, *, include_deleted: bool = False
                         ) -> list[PolicyRecord]:
    """The newest row per uid (deleted ones only when asked), ordered by uid."""
    newest = (
        select(col(PolicyRecord.uid), func.max(col(PolicyRecord.id)).label("id"))
        .group_by(col(PolicyRecord.uid))
        .subquery()
    )
    rows = (
        await session.scalars(
            select(PolicyRecord)
            .join(newest, col(PolicyRecord.id) == newest.c.id)
            .order_by(col(PolicyRecord.uid))
        )
    ).all()
    return [row for row in rows if include_deleted or not row.deleted]


async def policy_set_version(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.max(col(PolicyRecord.id)))) or 0)


def point_of(records: Sequence[PolicyRecord]) -> DecisionPoint:
    """The decision point of the newest rows per uid (`latest_records(include_deleted=True)`):
    the undeleted documents, at the set's version (the largest id, deletions included)."""
    version = max((r.id or 0 for r in records), default=0)
    return DecisionPoint([r.document for r in records if not r.deleted], version)


async def last_row(session: AsyncSession, uid: str) -> PolicyRecord | None:
    """The newest row of `uid` (a deletion included), or None."""
    statement = (
        select(PolicyRecord)
        .where(col(PolicyRecord.uid) == uid)
        .order_by(col(PolicyRecord.id).desc())
        .limit(1)
    )
    return (await session.scalars(statement)).first()


async def save_policy(session: AsyncSession, document: dict[str, Any], *, author: str
                      ) -> PolicyRecord | None:
    """Add a version of `document` (validated by the caller); None if nothing changed.

    Two writers racing on one uid collide on the (uid, version) unique constraint; the
    loser's transaction fails rather than silently overwriting. The caller commits.
    """
    uid = document["uid"]
    last = await last_row(session, uid)
    if last is not None and not last.deleted and last.document == document:
        return None
    record = PolicyRecord(uid=uid, version=(last.version + 1) if last else 1,
                          document=document, author=author)
    session.add(record)
    await session.flush()
    return record


async def delete_policy(session: AsyncSession, uid: str, *, author: str) -> bool:
    """Add a deletion row for `uid`; False if there is no such (undeleted) policy."""
    last = await last_row(session, uid)
    if last is None or last.deleted:
        return False
    session.add(PolicyRecord(uid=uid, version=last.version + 1, document=last.document,
                             deleted=True, author=author))
    await session.flush()
    return True


class PolicyStore:
    """The current DecisionPoint of one process, rebuilt when the table's version moves."""

    def __init__(self, database: Database, poll_seconds: float = 1.0) -> None:
        self._database = database
        self._poll_seconds = poll_seconds
        self._lock = asyncio.Lock()
        self._point: DecisionPoint | None = None
        self._checked_at = 0.0

    def _fresh(self) -> bool:
        return (
            self._point is not None
            and time.monotonic() - self._checked_at < self._poll_seconds
        )

    async def current(self) -> DecisionPoint:
        if self._fresh():
            assert self._point is not None
            return self._point
        async with self._lock:
            if self._fresh():  # another caller polled while we waited
                assert self._point is not None
                return self._point
            async with self._database.session() as session:
                version = await policy_set_version(session)
            if self._point is None or version != self._point.version:
                return await self._reload()
            self._checked_at = time.monotonic()
            return self._point

    async def refresh(self) -> DecisionPoint:
        async with self._lock:
            return await self._reload()

    async def _reload(self) -> DecisionPoint:
        """Build from the newest rows. If they do not build, keep the previous set: an
        invalid document must not take every decision down (writers validate first)."""
        async with self._database.session() as session:
            records = await latest_records(session, include_deleted=True)
        try:
            point = point_of(records)
        except ValueError:
            if self._point is None:
                raise
            LOG.exception("policy set version %s does not build; keeping version %s",
                          max((r.id or 0 for r in records), default=0), self._point.version)
            point = self._point
        self._point = point
        self._checked_at = time.monotonic()
        return point


# --- CLI handlers (api/cli.py calls these) ----------------------------------------------


def read_directory(directory: str) -> tuple[list[dict[str, Any]], list[str]]:
    documents: list[dict[str, Any]] = []
    problems: list[str] = []
    paths = sorted(Path(directory).glob("*.json"))
    if not paths:
        problems.append(f"{directory}: no *.json files")
    for path in paths:
        try:
            items = _documents_in(path)
        except (OSError, ValueError) as error:
            problems.append(f"{path}: {error}")
            continue
        for index, item in enumerate(items):
            problems.extend(_format(f"{path}[{index}]", validate_policy(item)))
            if isinstance(item, dict):
                documents.append(item)
    seen: set[str] = set()
    for document in documents:
        uid = document.get("uid")
        if isinstance(uid, str) and uid in seen:
            problems.append(f"uid: {uid} is defined more than once")
        if isinstance(uid, str):
            seen.add(uid)
    return documents, problems


def _format(where: str, problems: Sequence[PolicyProblem]) -> list[str]:
    return [f"{where} {p.path or '(document)'}: {p.message}" for p in problems]


def cmd_policy_validate(path: str) -> int:
    try:
        items = _documents_in(Path(path))
    except (OSError, ValueError) as error:
        print(f"{path}: {error}")
        return 1
    problems: list[PolicyProblem] = []
    for index, item in enumerate(items):
        prefix = f"{index}." if len(items) > 1 else ""
        problems.extend(
            PolicyProblem(f"{prefix}{p.path}".rstrip("."), p.message)
            for p in validate_policy(item)
        )
    for problem in problems:
        print(f"{problem.path or '(document)'}: {problem.message}")
    if problems:
        return 1
    print(f"valid: {len(items)} policies")
    return 0


def cmd_policy_list(database_url: str) -> int:
    for record in run_in_session(database_url, latest_records):
        effect = record.document.get("effect", "")
        description = " ".join(str(record.document.get("description", "")).split())
        print(f"{record.uid}\t{record.version}\t{effect}\t{description}")
    return 0


def cmd_policy_export(database_url: str, directory: str) -> int:
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    records = run_in_session(database_url, latest_records)
    for record in records:
        text = json.dumps(record.document, indent=2, ensure_ascii=False)
        (target / f"{record.uid}.json").write_text(text + "\n", encoding="utf-8")
    print(f"exported: {len(records)} policies to {target}")
    return 0
