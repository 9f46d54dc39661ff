"""Form validators shared by every feature: clean text, no control characters, sane lengths."""

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

_CONTROL = {chr(c) for c in range(32)} - {"\t", "\n", "\r"}


class CleanText:
    """Refuse NUL and other control characters that no person types."""

    def __init__(self, message=None):
        self.message = message

    def __call__(self, form, field):
        value = field.data
        if isinstance(value, str) and any(ch in _CONTROL for ch in value):
            raise ValidationError(self.message or _l("This field contains characters that are not allowed."))


def strip_filter(value):
    return value.strip() if isinstance(value, str) else value
