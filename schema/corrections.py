"""Corrections (DESIGN.md §1.2): a judgment is corrected, never overwritten silently.

`correctJudgment` keeps the judgment as it was (a `JudgmentVersion`: every field, its seal
status and the person's basic information at the time) with who corrected it, when and
why, then decides sealing again for the whole person (DESIGN.md §1.4). The correction is
itself a notice (kind JUDGMENT_CORRECTION) from the corrector's agency to the authority
that kept the judgment, so that `ReportJudgmentPayload.notice` has something true to say.

Who may correct is policy (policies/defaults/corrections.json), asked with the resource
`CorrectionTarget` describes: a judge of the reporting court corrects the judgment's own
facts and reports its retrial, sealed or not (the sealed-record deny spares the organ that
made a record, `owner_agency`); the keeping authority's clerk corrects anything, the
person's details included. A court never corrects the person (`defendant`, even with the
values it reported): they are shared by every court's judgments of the person, and kept by
the registration authority (DESIGN.md §1.2). A requester who may neither correct nor read
the judgment gets the answer of a missing id, byte for byte (CONTRACT.md §6), whatever the
input. What the corrector reads back in the payload is policy too (`ReadBack`): by default
the court reads back nothing, so that a retrial's seal decision, taken over all of the
person's judgments, tells it nothing of other courts' judgments.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from strawberry.types import Info

from db.models import Agency, Judgment, JudgmentVersion, Notice, Offender
from policies.actions import Action
from policies.ages import age_in_full_years
from policies.attributes import judgment_attributes
from schema import validation as check
from schema.context import Context
from schema.errors import BadUserInput, Conflict, Forbidden
from schema.notices import authority_for, notice_view, requester_agency, set_queue
from schema.records import PenaltyKind
from schema.reporting import (
    CrimeInput,
    PenaltyInput,
    PersonInput,
    ReportJudgmentInput,
    ReportJudgmentPayload,
    content_hash,
    validate_report,
)
from schema.seals import redecide_seals

NO_SUCH_JUDGMENT = "no such judgment"
# The reason kept on the other judgments of a person whose basic information a correction
# changed. It does not name the corrected judgment: a reader of one judgment may not be
# allowed to know of the other.
CONSEQUENCE = "the person's basic information was corrected"


@strawberry.input(description=(
    "The corrected parts of a judgment; parts left out stay as they are."))
class CorrectJudgmentInput:
    """The fields to correct; those left out keep their value. `defendant`, `crimes` and
    `penalty` replace the whole value (a defendant's `gender` left out is kept)."""

    offense_date: date | None = None
    judgment_date: date | None = None
    effective_date: date | None = None
    defendant: PersonInput | None = None
    crimes: list[CrimeInput] | None = None
    penalty: PenaltyInput | None = None
    retrial: bool | None = False


@dataclass
class CorrectionTarget:
    """A judgment as `judgment:correct` is asked about it: the court that reported it
    (`owner_agency`), the authority that keeps it (`authority_agency`) and whether the
    correction changes the person's basic information (`corrects_person`)."""

    judgment: Judgment
    court: Agency | None
    authority: Agency | None
    corrects_person: bool
    subject: dict[str, Any]

    def authz_resource(self) -> dict[str, Any]:
        return {**judgment_attributes(self.judgment, self.subject),
                "owner_agency": self.court.code if self.court else "",
                "authority_agency": self.authority.code if self.authority else "",
                "corrects_person": "yes" if self.corrects_person else "no"}


class ReadBack:
    """The corrected judgment in the payload, read as the judgment (every field of
    `Judgment`) but decided on the correction's resource, which names the reporting court
    (`owner_agency`): a judgment read anywhere else names none. `judgment` in a payload is
    null where the requester may not read it back (CONTRACT.md §4); by default the keeping
    authority's clerk reads it back and the court does not, sealed or not: what the registry
    holds of it now (its seal status and seal events, decided over all of the person's
    judgments, other courts' too) is more than the court reported (policies/table.py,
    "corrections")."""

    def __init__(self, judgment: Judgment, resource: dict[str, Any]) -> None:
        self._judgment = judgment
        self._resource = resource

    def __getattr__(self, name: str) -> Any:
        return getattr(self._judgment, name)

    def authz_resource(self) -> dict[str, Any]:
        return self._resource


@dataclass(frozen=True)
class Correction:
    """Who corrects (`sub`, agency), why, and whether the correction records a retrial."""

    sub: str
    agency_id: int | None
    reason: str
    retrial: bool


# -- the mutation ---------------------------------------------------------------------------

async def correct_judgment(
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description=(
            "The Judgment's id."))],
        input: Annotated[CorrectJudgmentInput, strawberry.argument(description=(
            "The corrected parts."))],
        reason: Annotated[str, strawberry.argument(description=(
            "Why it is corrected (kept in its history)."))],
) -> ReportJudgmentPayload:
    ctx = info.context
    target = await _target(ctx, str(id), corrects_person=input.defendant is not None)
    judgment = target.judgment
    offender = await ctx.loaders.offender.load(judgment.offender_id)
    assert offender is not None  # a foreign key
    why = check.text("reason", reason, max_length=500)
    corrected = _validate(input, judgment, offender, datetime.now(UTC).date())
    if not corrected.person_differs(offender) and not corrected.judgment_differs(judgment):
        raise BadUserInput("input", "the correction changes nothing")
    corrector = await requester_agency(ctx)
    if corrector is None:
        raise Forbidden("a correction is sent by an agency")
    # Everything is read and checked before anything changes: the only flush that can
    # meet a concurrent correction is _apply's, where it becomes a CONFLICT.
    person_judgments: list[Judgment] = list(await ctx.scalars(
        select(Judgment).where(col(Judgment.offender_id) == offender.id)
        .order_by(col(Judgment.id))))
    authority = await _authority_after(ctx, target, offender, corrected)
    _check_other_offences(person_judgments, judgment, corrected)

    versioned = await _apply(ctx, target, offender, person_judgments, corrected, authority,
                             Correction(ctx.requester.sub, corrector.id, why,
                                        bool(input.retrial)))
    resealed = await redecide_seals(ctx, offender,
                                    cause="retrial" if input.retrial else "correction")
    notice = Notice(kind="JUDGMENT_CORRECTION", sender_agency_id=corrector.id or 0,
                    sender_sub=ctx.requester.sub, sender_role=ctx.requester.role,
                    notice_number=f"CORRECTION {judgment.public_id} v{judgment.version}",
                    content_hash=content_hash({"id": judgment.public_id, "input": input,
                                               "reason": why}),
                    payload={"judgment": judgment.public_id, "version": judgment.version},
                    judgment_id=judgment.id)
    # Received by the authority that kept the judgment when it was corrected.
    set_queue(notice, target.authority)
    await _save(ctx, notice)
    # Every record the correction changed, its consequences on the person's other
    # judgments included, and the notice: the audit event of the change (DESIGN.md §1.5).
    others = {j.public_id for j in (*versioned, *resealed)} - {judgment.public_id}
    ctx.authz.note(Action.JUDGMENT_CORRECT, "permit", "judgment",
                   [judgment.public_id, *sorted(others), notice.public_id])
    # Read back as corrected, on the correction's own resource (the reporting court, the
    # keeping authority now): whether the corrector reads it back is policy's to say.
    read_back = ReadBack(judgment, replace(target, authority=authority).authz_resource())
    return ReportJudgmentPayload(judgment=read_back,  # type: ignore[arg-type]
                                 notice=await notice_view(ctx, notice))  # type: ignore[arg-type]


async def _authority_after(ctx: Context, target: CorrectionTarget, offender: Offender,
                           corrected: Corrected) -> Agency | None:
    """The authority that keeps the person's judgments once corrected: that of the new
    residence when it changes (routing, DESIGN.md §1.2)."""
    if corrected.region == offender.residence_region:
        return target.authority
    authority = await authority_for(ctx, corrected.region)
    if authority is None:
        raise BadUserInput("input.defendant.residenceRegion",
                           "no registration authority covers this region")
    return authority


def _check_other_offences(person_judgments: list[Judgment], judgment: Judgment,
                          corrected: Corrected) -> None:
    """A corrected birth date must leave every offence of the person at 14 or older. (Only
    the keeping authority's clerks correct the person, and they read all of the person's
    judgments: this error tells them nothing they may not know.)"""
    for other in person_judgments:
        if other is judgment:
            continue  # checked by _validate, with its corrected offence date
        if other.offense_date <= corrected.birth_date or \
                age_in_full_years(corrected.birth_date, other.offense_date) < 14:
            raise BadUserInput("input.defendant.birthDate",
                               "would put another of the person's offences before the age "
                               "of 14")


async def _apply(ctx: Context, target: CorrectionTarget, offender: Offender,
                 person_judgments: list[Judgment], corrected: Corrected,
                 authority: Agency | None, by: Correction) -> list[Judgment]:
    """Corrects the judgment and the person, and keeps the previous version of every
    judgment that changes (the person's others too: their age at the offence, residence,
    keeping authority and the person's information). Returns those judgments."""
    judgment, now = target.judgment, datetime.now(UTC)
    before = {j.id: snapshot(j, offender) for j in person_judgments}
    moved = corrected.region != offender.residence_region
    if corrected.person_differs(offender):
        offender.updated_at = now
    corrected.apply(judgment, offender)
    for each in person_judgments:
        # The person's other judgments depend on the person too (DESIGN.md §1.4).
        each.age_at_offense = age_in_full_years(offender.birth_date, each.offense_date)
        if moved:
            each.region = offender.residence_region
            each.authority_agency_id = authority.id if authority else None
    versions: list[JudgmentVersion] = []
    versioned: list[Judgment] = []
    for each in person_judgments:
        ours = each is judgment
        if not ours and snapshot(each, offender) == before[each.id]:
            continue
        versions.append(JudgmentVersion(
            judgment_id=each.id or 0, version=each.version, snapshot=before[each.id],
            corrected_by=by.sub, corrected_by_agency_id=by.agency_id,
            reason=by.reason if ours else CONSEQUENCE, retrial=by.retrial and ours, at=now))
        each.version += 1
        each.updated_at = now
        versioned.append(each)
    await _save(ctx, offender, *versioned, *versions)
    return versioned


async def _target(ctx: Context, id: str, *, corrects_person: bool) -> CorrectionTarget:
    """The judgment to correct, once the policies allow it.

    Denied, a requester learns that the judgment exists (FORBIDDEN) only if they could know
    it anyway: they may read it, or they may correct its own facts (a judge of the reporting
    court asking to correct the person, sealed judgment or not). Anyone else (another court,
    the court's staff who are not judges, a court for a judgment it did not report) gets
    the answer of a missing id, before the input is looked at.
    """
    judgment: Judgment | None = await ctx.scalar(
        select(Judgment).where(col(Judgment.public_id) == id))
    if judgment is None:
        # Asked all the same, so that the attempt is audited as one on an existing id is.
        ctx.authz.decide(Action.JUDGMENT_CORRECT, {"type": "judgment", "id": id})
        raise BadUserInput("id", NO_SUCH_JUDGMENT)
    court = await ctx.loaders.agency.load(judgment.court_agency_id)
    authority = (await ctx.loaders.agency.load(judgment.authority_agency_id)
                 if judgment.authority_agency_id is not None else None)
    target = CorrectionTarget(judgment, court, authority, corrects_person, ctx.authz.subject)
    resource = target.authz_resource()
    if ctx.authz.can(Action.JUDGMENT_CORRECT, resource):
        return target
    # Hypothetical questions, not attempts: the denial above is the audited event.
    if corrects_person and ctx.authz.decide(Action.JUDGMENT_CORRECT,
                                            {**resource, "corrects_person": "no"},
                                            record=False).allowed:
        raise Forbidden("not permitted to correct the person's basic information "
                        "(input.defendant); the keeping registration authority corrects it")
    if ctx.authz.decide(Action.JUDGMENT_READ, judgment_attributes(judgment, ctx.authz.subject),
                        record=False).allowed:
        raise Forbidden("not permitted to correct this judgment")
    raise BadUserInput("id", NO_SUCH_JUDGMENT)


async def _save(ctx: Context, *objects: Any) -> None:
    try:
        await ctx.flush(*objects)
    except IntegrityError:
        # Another correction of the same judgment took the same version number first.
        raise Conflict("the judgment was corrected at the same time by someone else; read it "
                       "again and send the correction again", field="id") from None


# -- validation -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Corrected:
    """The judgment and person as they will be: validated, cleaned values."""

    clean: dict[str, Any]
    judgment_date: date
    effective_date: date
    offense_date: date
    penalty_kind: str
    term_months: int | None
    probation_months: int | None

    @property
    def region(self) -> str:
        return str(self.clean["region"])

    @property
    def birth_date(self) -> date:
        return self.clean["birth_date"]  # type: ignore[no-any-return]

    def person_differs(self, offender: Offender) -> bool:
        return (self.clean["name"], self.birth_date, self.clean["gender"], self.region) != \
            (offender.name, offender.birth_date, offender.gender, offender.residence_region)

    def judgment_differs(self, judgment: Judgment) -> bool:
        return self._judgment_fields() != (
            judgment.judgment_date, judgment.effective_date, judgment.offense_date,
            list(judgment.crimes or []), judgment.penalty_kind, judgment.term_months,
            judgment.probation_months, list(judgment.supplementary or []),
            judgment.fine_amount)

    def _judgment_fields(self) -> tuple[Any, ...]:
        return (self.judgment_date, self.effective_date, self.offense_date,
                self.clean["crimes"], self.penalty_kind, self.term_months,
                self.probation_months, self.clean["supplementary"], self.clean["fine_amount"])

    def apply(self, judgment: Judgment, offender: Offender) -> None:
        offender.name, offender.birth_date = self.clean["name"], self.birth_date
        offender.gender, offender.residence_region = self.clean["gender"], self.region
        (judgment.judgment_date, judgment.effective_date, judgment.offense_date,
         judgment.crimes, judgment.penalty_kind, judgment.term_months,
         judgment.probation_months, judgment.supplementary,
         judgment.fine_amount) = self._judgment_fields()


# A relation between two fields is checked on one of them (validate_report); when only the
# other was corrected, that one is named. (field, the start of the message, the other field)
_RELATIONS = (
    ("input.offenseDate", "must not be after the judgment date", "input.judgmentDate"),
    ("input.offenseDate", "must be after the defendant's birth date",
     "input.defendant.birthDate"),
    ("input.offenseDate", "the defendant was under 14", "input.defendant.birthDate"),
    ("input.judgmentDate", "must not be after the effective date", "input.effectiveDate"),
)


def _validate(input: CorrectJudgmentInput, judgment: Judgment, offender: Offender,
              today: date) -> Corrected:
    """The judgment merged with the correction, checked as a report is (`validate_report`),
    so that each error names the input field it is about."""
    given = {"input.offenseDate": input.offense_date is not None,
             "input.judgmentDate": input.judgment_date is not None,
             "input.effectiveDate": input.effective_date is not None,
             "input.defendant": input.defendant is not None,
             "input.crimes": input.crimes is not None,
             "input.penalty": input.penalty is not None}
    if not any(given.values()):
        raise BadUserInput("input", "name at least one field to correct")
    merged = _merged(input, judgment, offender)
    try:
        clean = validate_report(merged, today)
    except BadUserInput as error:
        raise _blame(error, given) from None
    if clean["id_number"] != offender.id_number:
        # Refused, not moved: the identity number says whose criminal record this is.
        # Moving the judgment would change two people's records, sealing and certificates
        # at once, and leave the first person listed as an offender; giving a record to
        # another person needs a reviewed workflow of its own, not a field correction.
        raise BadUserInput("input.defendant.idNumber",
                           "cannot be corrected: a judgment recorded against the wrong person "
                           "is not moved to another by a correction")
    return Corrected(clean=clean, judgment_date=merged.judgment_date,
                     effective_date=merged.effective_date, offense_date=merged.offense_date,
                     penalty_kind=merged.penalty.kind.value,
                     term_months=merged.penalty.term_months,
                     probation_months=merged.penalty.probation_months)


def _merged(input: CorrectJudgmentInput, judgment: Judgment, offender: Offender
            ) -> ReportJudgmentInput:
    person = input.defendant or PersonInput(
        id_number=offender.id_number, name=offender.name, birth_date=offender.birth_date,
        gender=offender.gender, residence_region=offender.residence_region)
    if person.gender is None:
        person = replace(person, gender=offender.gender)
    crimes = input.crimes if input.crimes is not None else [
        CrimeInput(name=str(c["name"]), article=c.get("article")) for c in judgment.crimes or []]
    penalty = input.penalty or PenaltyInput(
        kind=PenaltyKind(judgment.penalty_kind), term_months=judgment.term_months,
        probation_months=judgment.probation_months,
        supplementary=list(judgment.supplementary or []), fine_amount=judgment.fine_amount)
    return ReportJudgmentInput(
        notice_number="correction", judgment_number=judgment.judgment_number,
        prosecutor=judgment.prosecutor,
        judgment_date=input.judgment_date or judgment.judgment_date,
        effective_date=input.effective_date or judgment.effective_date,
        offense_date=input.offense_date or judgment.offense_date,
        defendant=person, crimes=crimes, penalty=penalty)


def _blame(error: BadUserInput, given: dict[str, bool]) -> BadUserInput:
    def was_given(field: str) -> bool:
        return any(field == name or field.startswith((name + ".", name + "["))
                   for name, present in given.items() if present)

    if was_given(error.field):
        return error
    message = error.message.removeprefix(f"{error.field}: ")
    for field, start, other in _RELATIONS:
        if error.field == field and message.startswith(start) and was_given(other):
            return BadUserInput(other, f"would make {field} invalid ({message})")
    return error


def snapshot(judgment: Judgment, offender: Offender) -> dict[str, Any]:
    """The judgment as it is now, and the person's basic information, as plain JSON."""
    return {
        "judgment_number": judgment.judgment_number,
        "prosecutor": judgment.prosecutor,
        "judgment_date": judgment.judgment_date.isoformat(),
        "effective_date": judgment.effective_date.isoformat(),
        "offense_date": judgment.offense_date.isoformat(),
        "age_at_offense": judgment.age_at_offense,
        "region": judgment.region,
        "authority_agency_id": judgment.authority_agency_id,
        "crimes": [dict(c) for c in judgment.crimes or []],
        "penalty": {"kind": judgment.penalty_kind, "term_months": judgment.term_months,
                    "probation_months": judgment.probation_months,
                    "supplementary": list(judgment.supplementary or []),
                    "fine_amount": judgment.fine_amount},
        "verdict": judgment.verdict,
        "seal_status": judgment.seal_status,
        "seal_reason": judgment.seal_reason,
        "defendant": {"id_number": offender.id_number, "name": offender.name,
                      "birth_date": offender.birth_date.isoformat(),
                      "gender": offender.gender,
                      "residence_region": offender.residence_region},
    }
