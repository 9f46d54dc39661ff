"""The four operating principles pods work by; retro actions and recognitions are each tagged with one."""

from flask_babel import lazy_gettext as _l

from app.extensions import Labelled


class Principle(Labelled):
    END_TO_END = "end_to_end", _l("End-to-end")
    AUTONOMY = "autonomy", _l("Autonomy")
    CUSTOMER_CENTRIC = "customer_centric", _l("Customer-centric")
    CONTINUOUS_IMPROVEMENT = "continuous_improvement", _l("Continuous improvement")


principle_label = Principle.label_of
