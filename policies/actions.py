"""The actions a resolver asks the decision point about, as `resource:verb` strings."""

from enum import StrEnum


class Action(StrEnum):
    ME_READ = "subject:read"
    AGENCY_READ = "agency:read"
    OFFENDER_READ = "offender:read"
    OFFENDER_LIST = "offender:list"
    JUDGMENT_READ = "judgment:read"
    JUDGMENT_LIST = "judgment:list"
    JUDGMENT_REPORT = "judgment:report"
    JUDGMENT_CORRECT = "judgment:correct"
    DETENTION_READ = "detention:read"
    DETENTION_REGISTER = "detention:register"
    DETENTION_CLOSE = "detention:close"
    DETENTION_EXPUNGE = "detention:expunge"
    COUNSEL_REGISTER = "counsel:register"
    # Cases (DESIGN.md §1.6): registered, read, handed on and closed by the organ handling it.
    CASE_REGISTER = "case:register"
    CASE_READ = "case:read"
    CASE_LIST = "case:list"
    CASE_ADD_PARTY = "case:add_party"
    CASE_TRANSFER = "case:transfer"
    CASE_CLOSE = "case:close"
    NOTICE_READ = "notice:read"
    NOTICE_LIST = "notice:list"
    NOTICE_REPORT = "notice:report"
    NOTICE_RESOLVE = "notice:resolve"
    # Read why a notice could not be matched and which authority truly received it; who
    # may not reads one generic reason and the authority of the notice's own fields.
    NOTICE_EXAMINE = "notice:examine"
    NOTICE_COMPLIANCE = "notice:compliance"
    INQUIRY_SUBMIT = "inquiry:submit"
    INQUIRY_DECIDE = "inquiry:decide"
    INQUIRY_READ = "inquiry:read"
    INQUIRY_LIST = "inquiry:list"
    # Decided at once (approve), or sent for examination (refer); neither: rejected.
    INQUIRY_APPROVE = "inquiry:approve"
    INQUIRY_REFER = "inquiry:refer"
    # May this judgment count on a certificate or result letter of this purpose?
    JUDGMENT_CERTIFY = "judgment:certify"
    CERTIFICATE_VERIFY = "certificate:verify"
    POLICY_READ = "policy:read"
    POLICY_WRITE = "policy:write"
    # Approve (or reject) a policy change another security admin proposed (DESIGN.md §1.5).
    POLICY_APPROVE = "policy:approve"
    AUDIT_READ = "audit:read"
