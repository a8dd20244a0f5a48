"""The database models. Import them from here; each module holds one area."""

from pulse.models.audit import AuditEntry
from pulse.models.auth import PasswordReset, RateLimitBucket
from pulse.models.org import Management, OrgImport, Person, PersonStatus, SafetyAreaUnit, Unit

__all__ = [
    "AuditEntry",
    "Management",
    "OrgImport",
    "PasswordReset",
    "Person",
    "PersonStatus",
    "RateLimitBucket",
    "SafetyAreaUnit",
    "Unit",
]
