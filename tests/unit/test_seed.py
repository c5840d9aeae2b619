"""`registry seed --judgments N` writes in bulk what the reporting path would write: every
rule the registry holds of a judgment holds of the seeded ones (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlmodel import col, select

from api.seed import seed_demo
from db.engine import Database
from db.models import Agency, Judgment, Offender, SealEvent
from policies.ages import age_in_full_years
from policies.identity import is_valid_id_number
from policies.routing import route_to_authority
from policies.sealing import decide_seal


async def test_bulk_seeded_judgments_hold_every_rule_of_a_reported_one(
        database: Database) -> None:
    async with database.session() as session:
        first = await seed_demo(session, judgments=30, batch=7)
        again = await seed_demo(session, judgments=45, batch=7)
        await session.commit()
    assert (first.judgments, again.judgments, again.offenders) == (30, 15, 15)
    async with database.session() as session:
        agencies = {a.id: a for a in await session.scalars(select(Agency))}
        authorities = [(a.code, a.region) for a in agencies.values()
                       if a.kind == "REGISTRATION_AUTHORITY"]
        people = {p.id: p for p in await session.scalars(select(Offender))}
        judgments = list(await session.scalars(select(Judgment).order_by(col(Judgment.id))))
        seals = {(e.judgment_id, e.status, e.reason)
                 for e in await session.scalars(select(SealEvent))}
    assert len(judgments) == len(people) == len({p.id_number for p in people.values()}) == 45
    assert {j.seal_status for j in judgments} == {"open", "sealed"}
    for judgment in judgments:
        person = people[judgment.offender_id]
        assert is_valid_id_number(person.id_number)
        assert person.id_number[6:14] == f"{person.birth_date:%Y%m%d}"
        assert judgment.region == person.residence_region
        assert judgment.age_at_offense == age_in_full_years(person.birth_date,
                                                            judgment.offense_date)
        assert judgment.offense_date < judgment.judgment_date < judgment.effective_date
        seal = decide_seal(birth_date=person.birth_date, offense_date=judgment.offense_date,
                           penalty_kind=judgment.penalty_kind, term_months=judgment.term_months)
        assert (judgment.seal_status, judgment.seal_reason) == (seal.status, seal.reason)
        assert (judgment.id, seal.status, seal.reason) in seals
        authority = agencies[judgment.authority_agency_id or 0]
        assert authority.code == route_to_authority(judgment.region, authorities)
        assert agencies[judgment.court_agency_id].kind == "COURT"
        assert judgment.public_id.startswith("jdg") and person.public_id.startswith("ofd")
    assert len(seals) == 45
