"""The autonomy error: a refused rule, answered by the app's one ServiceError handler."""

from __future__ import annotations

from app.errors import ServiceError


class AutonomyError(ServiceError):
    """A refused autonomy rule (400 unless said otherwise); views let it propagate or re-show their form."""

    status = 400
