"""`registry policy import`: a directory of policy documents into the policy set, held to
the rules of a change made through the API (DESIGN.md §1.5, CONTRACT.md §1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from api.auth import CLI_CLIENT_ID
from api.settings import Settings
from db.audit import AuditChain, AuditRecord
from db.audit_keys import AuditKeys
from db.engine import Database, run_in_session
from db.ids import new_id
from db.locks import POLICY_KEYS, lock_key
from db.models import Agency, PolicyChange, PolicyRecord
from db.models.base import utcnow
from policies.admin import (
    POLICY_SET,
    SUBJECT_DEFAULTS,
    agency_attributes,
    apply_change,
    change_refusal,
    consequences,
    matches_everything,
    writer_candidates,
)
from policies.pdp import DecisionPoint
from policies.store import latest_records, point_of, read_directory, save_policy
from schema.policy_changes import flip_entry


def import_refusal(needed: int, by: str | None, approved_by: Sequence[str]) -> str | None:
    """Why an import may not run with these names, when approvals are needed (CONTRACT.md
    §1): the admin importing (`--by`) and `needed - 1` other admins who approved it."""
    if needed <= 1:
        return None
    others = sorted(set(approved_by) - {by or ""})
    if not by:
        return (f"REGISTRY_POLICY_APPROVERS is {needed}: name the security admin importing "
                "with --by SUB")
    if len(others) < needed - 1:
        return (f"REGISTRY_POLICY_APPROVERS is {needed}: name {needed - 1} other security "
                f"admin(s) who approved this import with --approved-by SUB (not --by)")
    return None


def cmd_policy_import(settings: Settings, directory: str, *, by: str | None = None,
                      approved_by: Sequence[str] = ()) -> int:
    """Validate every file first: if any document is invalid nothing is imported. The
    import is held to the rules of a change made through the API (DESIGN.md §1.5): approved
    by other admins when REGISTRY_POLICY_APPROVERS asks for it, no lock-out, policy writing
    only for security staff, nothing matching everything; recorded as applied policy
    changes, and audited (`policy:import`, naming who imported and who approved)."""
    documents, problems = read_directory(directory)
    if problems:
        for problem in problems:
            print(problem)
        print("nothing imported")
        return 1
    needed = settings.approvers_needed
    refusal = import_refusal(needed, by, approved_by)
    if refusal is not None:
        print(f"refused: {refusal}; nothing imported")
        return 1
    everything = [str(d["uid"]) for d in documents if matches_everything(d)]
    if everything:
        print(f"refused: {', '.join(everything)} match(es) every subject, resource and action;"
              " nothing imported")
        return 1
    author = by or "cli"
    approvers = sorted(set(approved_by) - {author})
    keys = AuditKeys.load_or_create(settings.audit_key_path)

    async def save_all(session: AsyncSession) -> tuple[int, int, list[str]] | str:
        await lock_key(session, POLICY_KEYS, POLICY_SET)
        rows = await latest_records(session, include_deleted=True)
        before = point_of(rows)
        last = {r.uid: r for r in rows}
        changed: list[tuple[dict[str, Any], PolicyRecord, int]] = []
        for document in documents:
            base = last[document["uid"]].version if document["uid"] in last else 0
            record = await save_policy(session, document, author=author)
            if record is not None:
                changed.append((document, record, base))
        after = point_of(await latest_records(session, include_deleted=True))
        agencies = agency_attributes(await session.scalars(select(Agency)))
        candidates = list(writer_candidates(SUBJECT_DEFAULTS, agencies))
        # The API's rules (policies/admin.change_refusal); a set nobody could administer
        # before (a first import) is no lock-out of this import's making.
        refused = change_refusal([d for d, _, _ in changed], after, candidates,
                                 approvers_needed=needed, before=before)
        if refused is not None:
            await session.rollback()
            if refused.reason == "LOCKS_OUT_POLICY_WRITERS":
                return "after this import nobody could write or approve policies"
            if refused.reason == "MATCHES_EVERYTHING":
                return (f"{', '.join(refused.names)} match(es) every subject, resource and "
                        "action")
            return ("only security staff write and approve policies, not "
                    f"{', '.join(refused.names)}")
        now = utcnow()
        approvals = [{"sub": sub, "at": now.isoformat()} for sub in approvers]
        widens: set[str] = set()
        for document, record, base in changed:
            # Each document's own change, from the set before the import: its flips of the
            # policy test table and what it widens, as a change through the API records them.
            alone = DecisionPoint(apply_change(before.documents, record.uid, document), 0)
            was = last[record.uid].document if record.uid in last else None
            found, own = consequences(before, alone, [was, document])
            widens.update(own)
            session.add(PolicyChange(
                public_id=new_id("pch"), uid=record.uid, kind="UPDATE" if base else "CREATE",
                status="APPLIED", document=document, base_version=base, proposed_by=author,
                proposed_at=now, approvals=approvals, approvals_needed=needed - 1,
                decided_at=now, widens=own, flips=[flip_entry(f) for f in found],
                applied_row=record.id))
        database = Database(settings.database_url)
        try:
            await AuditChain(database, keys).append(session, [AuditRecord(
                action="policy:import", outcome="permit", sub=author, client_id=CLI_CLIENT_ID,
                operation="registry policy import", resource_type="policy",
                resource_ids=[r.uid for _, r, _ in changed][:500],
                policy_version=after.version,
                detail={"approved_by": approvers, "changed": len(changed),
                        "unchanged": len(documents) - len(changed),
                        "widens": sorted(widens)})])
            await session.commit()
        finally:
            await database.dispose()
        return len(changed), len(documents) - len(changed), sorted(widens)

    result = run_in_session(settings.database_url, save_all)
    if isinstance(result, str):
        print(f"refused: {result}; nothing imported")
        return 1
    changed, unchanged, widens = result
    print(f"imported: {changed} changed or new, {unchanged} unchanged")
    for pair in widens:
        print(f"widens: {pair}")
    return 0
