"""The one rule for characters no person types, checked against its definition for every code point."""

from app.validators import forbidden_characters


def _by_definition(code: int) -> bool:
    return (code < 32 and chr(code) not in "\t\n\r") or 0xD800 <= code <= 0xDFFF  # C0 controls, lone surrogates


def test_every_code_point_is_judged_by_the_definition():
    wrong = [hex(c) for c in range(0x110000) if forbidden_characters(chr(c)) != _by_definition(c)]
    assert wrong == []


def test_texts_and_other_values():
    assert not forbidden_characters("Café ☕ 😀 línea\nnueva\ttab\r")
    assert forbidden_characters("x" * 500 + "\x00") and forbidden_characters("ok \ud83d")
    assert not forbidden_characters(None) and not forbidden_characters(12) and not forbidden_characters("")
