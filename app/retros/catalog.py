"""Built-in retro templates; the customer-journey template takes its columns from the lifecycle stages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.formatting import name_in

CUSTOMER_JOURNEY = "customer_journey"

BUILTIN_TEMPLATES: dict[str, tuple[object, list[tuple[str, object]]]] = {
    "start_stop_continue": (_l("Start / Stop / Continue"), [
        ("start", _l("Start")), ("stop", _l("Stop")), ("continue", _l("Continue"))]),
    "mad_sad_glad": (_l("Mad / Sad / Glad"), [
        ("mad", _l("Mad")), ("sad", _l("Sad")), ("glad", _l("Glad"))]),
    "four_ls": (_l("4Ls"), [
        ("liked", _l("Liked")), ("learned", _l("Learned")), ("lacked", _l("Lacked")),
        ("longed_for", _l("Longed for"))]),
    "sailboat": (_l("Sailboat"), [
        ("wind", _l("Wind: what pushes us forward")), ("anchors", _l("Anchors: what holds us back")),
        ("rocks", _l("Rocks: risks ahead")), ("island", _l("Island: where we want to be"))]),
    "well_didnt_ideas": (_l("What went well / What didn't / Ideas"), [
        ("went_well", _l("What went well")), ("didnt", _l("What didn't")), ("ideas", _l("Ideas"))]),
    CUSTOMER_JOURNEY: (_l("Customer journey"), []),
}

BUILTIN_COLUMN_TITLES = {key: title for _name, columns in BUILTIN_TEMPLATES.values() for key, title in columns}


def column_title(column: dict) -> str:
    """A column's title: stored for journey and custom templates (in the reader's language when the pod named it
    so), translated for built-in ones."""
    if column.get("title"):
        return name_in(column.get("titles"), column["title"])
    return str(BUILTIN_COLUMN_TITLES.get(column["key"], column["key"]))


def builtin_choices() -> list[tuple[str, str]]:
    return [(key, str(name)) for key, (name, _columns) in BUILTIN_TEMPLATES.items()]


def template_title(retro) -> str:
    """A retro's template name in the reader's language for built-in templates, as saved for the pod's own."""
    if retro.template_key in BUILTIN_TEMPLATES:
        return str(BUILTIN_TEMPLATES[retro.template_key][0])
    return name_in(getattr(retro, "template_names", None), retro.template_name)
