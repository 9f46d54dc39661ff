"""The four operating principles pods work by; retro actions and recognitions are each tagged with one."""

import enum

from flask_babel import lazy_gettext as _l


class Principle(enum.StrEnum):
    END_TO_END = "end_to_end"
    AUTONOMY = "autonomy"
    CUSTOMER_CENTRIC = "customer_centric"
    CONTINUOUS_IMPROVEMENT = "continuous_improvement"


PRINCIPLE_LABELS = {
    Principle.END_TO_END.value: _l("End-to-end"),
    Principle.AUTONOMY.value: _l("Autonomy"),
    Principle.CUSTOMER_CENTRIC.value: _l("Customer-centric"),
    Principle.CONTINUOUS_IMPROVEMENT.value: _l("Continuous improvement"),
}


def principle_label(value: str) -> str:
    return str(PRINCIPLE_LABELS.get(value, value))
