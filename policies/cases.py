"""Domain rules of cases (DESIGN.md §1.6, CONTRACT.md §4): which organs handle criminal
cases, the stages a case moves through, and which parties are accused."""

# The organs that handle criminal cases: they register, hand on and close them.
CASE_HANDLING_KINDS = frozenset({"COURT", "PROCURATORATE", "PUBLIC_SECURITY", "STATE_SECURITY"})
STAGES = ("INVESTIGATION", "PROSECUTION", "TRIAL")
PARTY_ROLES = ("SUSPECT", "DEFENDANT", "VICTIM", "WITNESS")
# A CASE_HANDLING or DEFENSE inquiry, and a counsel registration, are about one of these.
ACCUSED_ROLES = frozenset({"SUSPECT", "DEFENDANT"})
# Parties one registerCase or addCaseParty may name at most (a request is 256 KB anyway).
MAX_PARTIES = 500


def is_case_handling_kind(kind: str | None) -> bool:
    return (kind or "").upper() in CASE_HANDLING_KINDS
