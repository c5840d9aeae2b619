"""The attribute names a policy may use, per part (CONTRACT.md §5).

A policy that names anything else is refused by `validate_policy`: an attribute that no
resolver ever sets would silently never match, which for a deny policy means a hole.
"""

SUBJECT_ATTRIBUTES = frozenset(
    {"sub", "role", "agency", "agency_kind", "agency_level", "region", "id_number", "scopes"}
)
RESOURCE_ATTRIBUTES = frozenset(
    {
        "type",
        "id",
        "seal_status",
        "region",
        "owner_agency",
        "in_requester_division",
        "record_kind",
        "verdict",
        "purpose",
        "status",
        "kind",
        "receiving_agency",
        # counsel:register: whether the lawyer named is the requester ("yes"/"no").
        "counsel_is_requester",
        # judgment:correct: the keeping registration authority's code, and whether the
        # correction changes the person's basic information ("yes"/"no").
        "authority_agency",
        "corrects_person",
        # inquiry: the requester's sub (a relation: "is this my inquiry?").
        "requester",
        # Cases (DESIGN.md §1.6). A case: its stage; a case, a counsel registration or an
        # inquiry naming a case number: whether the requester's agency handles that case now
        # ("yes"/"no"), and for counsel and inquiries whether the person is a suspect or
        # defendant in it ("yes"/"no") and whether it is "open", "closed" or "none" (no case
        # is registered under the number).
        "stage",
        "handled_by_requester",
        "subject_is_accused",
        "case_status",
        # case:transfer: the kind of agency the case goes to (lower case).
        "receiving_agency_kind",
    }
)
ACTION_ATTRIBUTES = frozenset({"name"})
CONTEXT_ATTRIBUTES = frozenset(
    {"purpose", "case_number", "inquiry_id", "is_counsel", "is_own_record"}
)

VOCABULARY: dict[str, frozenset[str]] = {
    "subject": SUBJECT_ATTRIBUTES,
    "resource": RESOURCE_ATTRIBUTES,
    "action": ACTION_ATTRIBUTES,
    "context": CONTEXT_ATTRIBUTES,
}

# The roles of CONTRACT.md §3. The anonymous principal's role is "anonymous".
ROLES = (
    "registry_clerk",
    "judge",
    "prosecutor",
    "police_officer",
    "state_security_officer",
    "judicial_admin_officer",
    "prison_officer",
    "defense_lawyer",
    "employer",
    "recruiter",
    "school",
    "individual",
    "auditor",
    "security_admin",
)
ANONYMOUS_ROLE = "anonymous"
