"""Demo data and agency administration (`registry seed --demo`, `registry agency add`).

The demo judgments go through the same rules as reported ones (age in full years,
sealing); running the seed twice adds nothing the second time.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, select

from db.models import Agency, Judgment, Notice, Offender, SealEvent
from db.models.agencies import AGENCY_KINDS
from policies.ages import age_in_full_years
from policies.identity import id_number_check_char, is_valid_region
from policies.routing import in_division, route_to_authority
from policies.sealing import decide_seal
from policies.store import ensure_defaults

DEMO_AGENCIES = [
    ("REG-110000", "REGISTRATION_AUTHORITY", "Beijing Municipal Criminal Record Registry",
     "110000"),
    ("REG-110101", "REGISTRATION_AUTHORITY", "Dongcheng District Criminal Record Registry",
     "110101"),
    ("REG-310000", "REGISTRATION_AUTHORITY", "Shanghai Municipal Criminal Record Registry",
     "310000"),
    ("COURT-110101", "COURT", "Dongcheng District People's Court", "110101"),
    ("COURT-310101", "COURT", "Huangpu District People's Court", "310101"),
    ("PROC-110101", "PROCURATORATE", "Dongcheng District People's Procuratorate", "110101"),
    ("PSB-110101", "PUBLIC_SECURITY", "Dongcheng Public Security Sub-bureau", "110101"),
    ("PRISON-110000", "PRISON", "Beijing Municipal Prison", "110000"),
    ("JA-110101", "JUDICIAL_ADMINISTRATION", "Dongcheng District Bureau of Justice", "110101"),
    ("LAW-110101", "LAW_FIRM", "Dongcheng Legal Aid Law Firm", "110101"),
    ("EMP-110101", "EMPLOYER", "Capital Transit Company", "110101"),
]

# (who, role, agency, id_number): the demo tokens `registry seed --demo` prints.
DEMO_PRINCIPALS = [
    ("clerk.dongcheng", "registry_clerk", "REG-110101", None),
    ("judge.dongcheng", "judge", "COURT-110101", None),
    # The organs a case passes through before the court (README: "Cases").
    ("police.dongcheng", "police_officer", "PSB-110101", None),
    ("prosecutor.dongcheng", "prosecutor", "PROC-110101", None),
    ("lawyer.zhang", "defense_lawyer", "LAW-110101", None),
    ("security.admin", "security_admin", "REG-110000", None),
]

SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu"]
GIVEN = ["Wei", "Fang", "Min", "Jing", "Lei", "Jun", "Yan", "Tao", "Ming", "Hui", "Qiang"]
CRIMES = [("Theft", "Art. 264"), ("Fraud", "Art. 266"), ("Intentional injury", "Art. 234"),
          ("Dangerous driving", "Art. 133-1"), ("Robbery", "Art. 263")]
REGIONS = ["110101", "110102", "110105", "310101", "310104"]


@dataclass(frozen=True)
class SeedResult:
    agencies: int
    offenders: int
    judgments: int


def make_id_number(region: str, birth: date, serial: int) -> str:
    first17 = f"{region}{birth:%Y%m%d}{serial % 1000:03d}"
    return first17 + id_number_check_char(first17)


async def add_agency(session: AsyncSession, *, code: str, kind: str, name: str,
                     region: str) -> Agency:
    if kind not in AGENCY_KINDS:
        raise ValueError(f"--kind must be one of: {', '.join(AGENCY_KINDS)}")
    if not is_valid_region(region):
        raise ValueError("--region must be a 6-digit administrative division code")
    if not code.strip() or not name.strip():
        raise ValueError("--code and --name must not be empty")
    if await session.scalar(select(Agency).where(col(Agency.code) == code)) is not None:
        raise ValueError(f"--code {code} already exists")
    agency = Agency(code=code, kind=kind, name=name, region=region)
    session.add(agency)
    await session.flush()
    if kind == "REGISTRATION_AUTHORITY":
        await adopt_unrouted_notices(session, agency)
    return agency


async def adopt_unrouted_notices(session: AsyncSession, authority: Agency) -> int:
    """Queued notices that no authority covered wait in the queue of a new authority whose
    division contains the person's residence (or, failing that, the sender's region)."""
    waiting = list(await session.scalars(select(Notice).where(
        col(Notice.receiving_authority_id).is_(None), col(Notice.status) == "UNMATCHED")))
    adopted = 0
    for notice in waiting:
        sender = await session.get(Agency, notice.sender_agency_id)
        given = notice.payload.get("region") or notice.payload.get("input", {}).get(
            "residence_region")
        regions = [r for r in (given, sender.region if sender else None) if r]
        if any(in_division(authority.region, r) for r in regions):
            notice.receiving_authority_id = authority.id
            notice.queue_region = authority.region
            adopted += 1
    await session.flush()
    return adopted


# Rows written per statement batch: `registry seed --judgments 1000000` runs in minutes.
BATCH = 5000


async def seed_demo(session: AsyncSession, *, judgments: int = 12, seed: int = 7,
                    batch: int = BATCH) -> SeedResult:
    """Adds the demo agencies and `judgments` demo judgments; idempotent.

    Each judgment is written as the reporting path writes one (routed authority, region of
    residence, age in full years, sealing decided by the rules, its seal event), one person
    each, `batch` rows per INSERT: a million judgments take minutes, not hours.
    """
    await ensure_defaults(session)
    agencies = {a.code: a for a in await session.scalars(select(Agency))}
    added_agencies = 0
    for code, kind, name, region in DEMO_AGENCIES:
        if code not in agencies:
            agencies[code] = await add_agency(session, code=code, kind=kind, name=name,
                                              region=region)
            added_agencies += 1
    existing = int(await session.scalar(select(func.count()).select_from(Judgment)) or 0)
    rng = random.Random(seed)  # noqa: S311 - demo names, not secrets
    authorities = [(a.code, a.region) for a in agencies.values()
                   if a.kind == "REGISTRATION_AUTHORITY"]
    used = set(await session.scalars(select(Offender.id_number)))
    for first in range(existing, judgments, batch):
        rows = [_demo_row(n, rng, used, agencies, authorities)
                for n in range(first, min(first + batch, judgments))]
        ids = await _write(session, Offender, [person for person, _ in rows])
        judgments_written = [judgment | {"offender_id": person_id}
                             for (_, judgment), person_id in zip(rows, ids, strict=True)]
        judgment_ids = await _write(session, Judgment, judgments_written)
        await _write(session, SealEvent, [
            _values(SealEvent, judgment_id=judgment_id, status=judgment["seal_status"],
                    reason=judgment["seal_reason"])
            for judgment, judgment_id in zip(judgments_written, judgment_ids, strict=True)])
    added = max(0, judgments - existing)
    return SeedResult(added_agencies, added, added)


def _values(model: Any, **given: Any) -> dict[str, Any]:
    """A row of `model` as constructing the model would fill it (its defaults and default
    factories: public ids, timestamps), without building a model instance, which costs
    more than everything else a seeded row takes."""
    row: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name == "id":
            continue
        if name in given:
            row[name] = given[name]
        elif field.default_factory is not None:
            row[name] = field.default_factory()
        elif field.is_required():
            raise ValueError(f"{model.__name__}.{name} has no value")
        else:
            row[name] = field.default
    return row


async def _write(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """`rows` written, their new ids in the order of `rows`: on PostgreSQL by COPY under ids
    taken from the table's sequence, elsewhere by multi-row INSERTs."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        result = await session.execute(insert(model).returning(
            model.id, sort_by_parameter_order=True), rows)
        return [int(i) for i in result.scalars()]
    table = model.__tablename__
    ids = [int(i) for i in (await session.execute(
        text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
        {"t": table, "n": len(rows)})).scalars()]
    columns = ["id", *rows[0]]
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    async with driver.cursor() as cursor, cursor.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row_id, row in zip(ids, rows, strict=True):
            await copy.write_row([row_id, *(json.dumps(v) if isinstance(v, list | dict) else v
                                            for v in row.values())])
    return ids


def _demo_row(n: int, rng: random.Random, used: set[str], agencies: dict[str, Agency],
              authorities: list[tuple[str, str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The `n`th demo person and their judgment (its `offender_id` set once written)."""
    region = REGIONS[n % len(REGIONS)]
    # Every fourth person offended as a minor with a light penalty: a sealed record.
    minor = n % 4 == 1
    birth = date(1970, 1, 1) + timedelta(days=rng.randrange(0, 30 * 365))
    number = make_id_number(region, birth, n)
    while number in used:  # the serial has three digits: move the birth date instead
        birth += timedelta(days=1)
        number = make_id_number(region, birth, n)
    used.add(number)
    offence = birth + timedelta(days=(16 if minor else 25) * 366 + rng.randrange(0, 300))
    person = _values(Offender, id_number=number, name=_name(rng),
                     birth_date=birth, gender=rng.choice(["male", "female"]),
                     residence_region=region)
    kind, term = ("FIXED_TERM_IMPRISONMENT", rng.choice([6, 18, 36, 96])) if n % 3 else \
        ("CRIMINAL_DETENTION", rng.choice([2, 4, 6]))
    if minor:
        term = min(term, 36)
    seal = decide_seal(birth_date=birth, offense_date=offence, penalty_kind=kind,
                       term_months=term)
    court = agencies["COURT-110101" if region.startswith("11") else "COURT-310101"]
    authority_code = route_to_authority(region, authorities)
    judged = offence + timedelta(days=120)
    crime = CRIMES[n % len(CRIMES)]
    judgment = _values(
        Judgment, offender_id=0, court_agency_id=court.id or 0,
        authority_agency_id=agencies[authority_code].id if authority_code else None,
        judgment_number=f"({judged.year}) Demo Xing Chu No. {n + 1}",
        prosecutor="Dongcheng District People's Procuratorate",
        judgment_date=judged, effective_date=judged + timedelta(days=10),
        offense_date=offence, age_at_offense=age_in_full_years(birth, offence),
        region=region, crimes=[{"name": crime[0], "article": crime[1]}], penalty_kind=kind,
        term_months=term, supplementary=["Deprivation of political rights"] if term > 60
        else [], seal_status=seal.status, seal_reason=seal.reason)
    return person, judgment


def _name(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"
