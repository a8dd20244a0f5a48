"""The safety representative's desk: 6:6a requests with the employer's confirmation and answer, the annual SAM
follow-up, and the safety representative's report (docs/SAFETY.md)."""

from flask import Blueprint

from pulse.common.labels import (
    CHECKLIST_LABELS,
    COMPLAINT_CATEGORY_LABELS,
    FOLLOW_UP_STATUS_LABELS,
    REQUEST_EVENT_LABELS,
    REQUEST_KIND_LABELS,
    REQUEST_STATE_LABELS,
)

bp = Blueprint("safety", __name__)


@bp.app_context_processor
def _labels() -> dict[str, object]:
    return {"request_states": REQUEST_STATE_LABELS, "request_kinds": REQUEST_KIND_LABELS,
            "request_events": REQUEST_EVENT_LABELS, "checklist_labels": CHECKLIST_LABELS,
            "follow_up_statuses": FOLLOW_UP_STATUS_LABELS, "complaint_categories": COMPLAINT_CATEGORY_LABELS}


from pulse.staff.safety import report, views  # noqa: E402,F401
