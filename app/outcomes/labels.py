"""How people read a case's codes: channels, request types and priorities, in the reader's language.

The codes themselves are the case model's (``app.outcomes.models``); the engine, the dashboards, the skills
matrix, pilots and the demo all name a code through these labels.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

CHANNEL_LABELS = {
    "in_person": _l("In person"), "phone": _l("Phone"), "web": _l("Web"), "email": _l("Email"),
    "chat": _l("Chat"), "social": _l("Social media"), "app": _l("App"),
}
REQUEST_TYPE_LABELS = {
    "information": _l("Information"), "quote": _l("Quote"), "service_request": _l("Service request"),
    "petition": _l("Petition"), "complaint": _l("Complaint"), "claim": _l("Claim"), "suggestion": _l("Suggestion"),
    "report": _l("Report (whistle-blow)"), "warranty": _l("Warranty"), "compliment": _l("Compliment"),
}
PRIORITY_LABELS = {"low": _l("Low priority"), "normal": _l("Normal priority"), "high": _l("High priority"),
                   "urgent": _l("Urgent priority")}
