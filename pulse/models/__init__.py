"""The database models. Import them from here; each module holds one area."""

from pulse.models.answering import (
    Comment,
    CountingMerge,
    Credential,
    CredentialHash,
    Invitation,
    PendingResponse,
    Response,
    RetiredCredential,
    RoundKey,
    RoundParticipation,
    SchedulerLease,
)
from pulse.models.audit import AuditEntry
from pulse.models.auth import ApiToken, PasswordReset, RateLimitBucket, RevokedSession
from pulse.models.box import BoxItem, BoxMessage, BoxSettings
from pulse.models.org import Management, OrgImport, Person, PersonStatus, SafetyAreaUnit, Unit
from pulse.models.release import PooledRelease, PooledReleaseCell, Release, ReleaseCell
from pulse.models.safety import FollowUp, SafetyAttachment, SafetyRequest, SafetyRequestEvent
from pulse.models.sam import Action, ActionReminder, AptMeeting, AptPrompt, Feedback, FeedbackAction, HelpText, Risk
from pulse.models.survey import Question, Round, RoundQuestion, Survey, SurveyQuestion, SurveyUnit

__all__ = [
    "Action",
    "ActionReminder",
    "AptMeeting",
    "AptPrompt",
    "Feedback",
    "FeedbackAction",
    "HelpText",
    "Risk",
    "ApiToken",
    "AuditEntry",
    "BoxItem",
    "BoxMessage",
    "BoxSettings",
    "Comment",
    "FollowUp",
    "CountingMerge",
    "Credential",
    "CredentialHash",
    "Invitation",
    "PendingResponse",
    "PooledRelease",
    "PooledReleaseCell",
    "Question",
    "Release",
    "ReleaseCell",
    "Response",
    "RetiredCredential",
    "RevokedSession",
    "Round",
    "RoundKey",
    "RoundParticipation",
    "RoundQuestion",
    "SafetyAttachment",
    "SafetyRequest",
    "SafetyRequestEvent",
    "SchedulerLease",
    "Survey",
    "SurveyQuestion",
    "SurveyUnit",
    "Management",
    "OrgImport",
    "PasswordReset",
    "Person",
    "PersonStatus",
    "RateLimitBucket",
    "SafetyAreaUnit",
    "Unit",
]
