"""The text of an uncompressed fpdf2 PDF that uses embedded Unicode fonts, for tests (no PDF library needed).

fpdf2 writes each string as 2-byte glyph ids of the current font (``/F1 9 Tf`` … ``(…) Tj``); each font's
``/ToUnicode`` CMap maps those ids back to characters.
"""

from __future__ import annotations

import re

_OBJECT = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}


def _unescape(raw: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(raw):
        if raw[i:i + 1] == b"\\":
            nxt = raw[i + 1:i + 2]
            octal = re.match(rb"[0-7]{1,3}", raw[i + 1:i + 4])
            if octal:
                out.append(int(octal.group(0), 8))
                i += 1 + len(octal.group(0))
                continue
            out += _ESCAPES.get(nxt, nxt)
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


def _cmap(body: bytes) -> dict[int, str]:
    mapping = {}
    for gid, uni in re.findall(rb"<([0-9A-Fa-f]{4})> <([0-9A-Fa-f]+)>", body):
        mapping[int(gid, 16)] = bytes.fromhex(uni.decode()).decode("utf-16-be", "replace")
    return mapping


def pdf_text(data: bytes) -> str:
    objects = {int(n): body for n, body in _OBJECT.findall(data)}
    fonts: dict[bytes, dict[int, str]] = {}
    for body in objects.values():
        for name, ref in re.findall(rb"/(F\d+) (\d+) 0 R", body):
            to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", objects.get(int(ref), b""))
            if to_unicode:
                fonts[name] = _cmap(objects[int(to_unicode.group(1))])
    lines, current = [], {}
    for block in re.findall(rb"\bBT\b(.*?)\bET\b", data, re.S):  # text objects: Tj strings and TJ arrays
        line = []
        for font, raw in re.findall(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\)", block, re.S):
            if font:
                current = fonts.get(font, {})
                continue
            glyphs = _unescape(raw)
            line.append("".join(current.get(int.from_bytes(glyphs[i:i + 2], "big"), "\ufffd")
                                for i in range(0, len(glyphs) - 1, 2)))
        if line:
            lines.append("".join(line))
    return "\n".join(lines)
