"""Time helpers: Podium stores naive UTC datetimes and shows them in a pod's or user's zone."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

__all__ = ["utcnow", "to_local", "local_day_bounds", "is_valid_timezone", "timezone_choices"]


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def to_local(moment: datetime, tz: str) -> datetime:
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(tz))


def local_to_utc(moment: datetime, tz: str) -> datetime:
    """Read a naive local wall-clock time in `tz` and return naive UTC."""
    return moment.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC).replace(tzinfo=None)


def local_day_bounds(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """UTC [start, end) covering the local calendar days first..last inclusive."""
    start = local_to_utc(datetime.combine(first, time.min), tz)
    end = local_to_utc(datetime.combine(last + timedelta(days=1), time.min), tz)
    return start, end


def is_valid_timezone(name: str) -> bool:
    if not isinstance(name, str) or not name or len(name) > 64:
        return False  # a 10,000-character name made ZoneInfo raise OSError (file name too long)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        return False
    return "/" in name or name == "UTC"


_CHOICES: list[str] | None = None


def timezone_choices() -> list[str]:
    global _CHOICES
    if _CHOICES is None:
        _CHOICES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
        _CHOICES.insert(0, "UTC")
    return _CHOICES
