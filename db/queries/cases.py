"""The one statement that relates a case number to a requester and a person.

Asked the same way whether or not a case is registered under the number, so that a
number nobody registered, another agency's case and a closed one cost the same single
statement (DESIGN.md §1.6: the answer must not tell them apart, its timing included).
"""

from sqlalchemy import Select, exists, select
from sqlmodel import col

from db.models import CaseParty, CriminalCase, DefenseCounsel


def case_relation_query(case_number: str, *, person: str, lawyer: str,
                        accused_roles: frozenset[str]
                        ) -> Select[int | None, int, bool, bool, bool]:
    """(case id, handling agency id, open, person is accused, lawyer is counsel for the
    person in it): one row, or none where no case is registered under `case_number`."""
    accused = exists().where(col(CaseParty.case_id) == col(CriminalCase.id),
                             col(CaseParty.id_number) == person,
                             col(CaseParty.role).in_(sorted(accused_roles)))
    counsel = exists().where(col(DefenseCounsel.case_id) == col(CriminalCase.id),
                             col(DefenseCounsel.lawyer_sub) == lawyer,
                             col(DefenseCounsel.suspect_id_number) == person)
    return select(col(CriminalCase.id), col(CriminalCase.agency_id), col(CriminalCase.open),
                  accused.label("accused"), counsel.label("counsel")).where(
        col(CriminalCase.case_number) == case_number)
