"""The contacts a vCard attachment holds: each card's name and phone numbers, read from a sender's file.

A small strict reader of the FN, N and TEL lines (RFC 6350, and 2.1's quoted-printable names) rather than a
general vCard library: the bubble needs two fields, the file is a stranger's, and every limit is ours. Anything
it cannot read is left out; it never raises on any input.
"""

import quopri
import re
import unicodedata

MAX_BYTES = 64 * 1024  # a contact shared from a phone is a few kilobytes; a larger file is not read at all
MAX_CARDS = 20
MAX_PHONES = 10
MAX_NAME = 200
MAX_PHONE = 40
MAX_LINES = 2000
PHONE_CHARACTERS = re.compile(r"^\+?[0-9 ()./-]+$")


def _clean(text: str, limit: int) -> str:
    """No control or format characters (no bidi overrides), whitespace collapsed, at most `limit` characters."""
    kept = "".join(
        " " if char.isspace() else char
        for char in text
        if char.isspace() or unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    return " ".join(kept.split())[:limit]


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _split_line(line: str) -> tuple[str, dict[str, str], str] | None:
    """(NAME, params, value) of a content line; None when it has no value. The name loses its group (`item1.`)."""
    quoted, colon = False, -1
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            colon = index
            break
    if colon < 0:
        return None
    head, value = line[:colon], line[colon + 1 :]
    name, *raw_params = head.split(";")
    params = {}
    for raw in raw_params:
        key, _, param_value = raw.partition("=")
        params[key.strip().upper()] = param_value.strip().strip('"')
    return name.rpartition(".")[2].strip().upper(), params, value


def _decoded(value: str, params: dict[str, str]) -> str:
    if params.get("ENCODING", "").upper() == "QUOTED-PRINTABLE":
        charset = params.get("CHARSET") or "utf-8"
        raw = quopri.decodestring(value.encode("ascii", "replace"))
        try:
            return raw.decode(charset, "replace")
        except LookupError:
            return raw.decode("utf-8", "replace")
    return _unescape(value)


def _lines(text: str) -> list[str]:
    """Unfolded content lines: a line starting with a space or tab continues the previous one (2.1's
    quoted-printable soft breaks, `=` at the end, too)."""
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[: MAX_LINES * 4]:
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        elif lines and lines[-1].endswith("=") and "QUOTED-PRINTABLE" in lines[-1].upper():
            lines[-1] = lines[-1][:-1] + raw
        else:
            lines.append(raw)
    return lines[:MAX_LINES]


def read_contacts(data: bytes) -> list[dict]:
    """[{"name": …, "phones": […]}] for each card with a name or a number; [] for a file too large or unreadable."""
    if not isinstance(data, bytes | bytearray) or len(data) > MAX_BYTES:
        return []
    text = bytes(data).decode("utf-8", "replace").lstrip("\ufeff")
    cards, card = [], None
    for line in _lines(text):
        parsed = _split_line(line)
        if parsed is None:
            continue
        name, params, value = parsed
        if name == "BEGIN" and value.strip().upper() == "VCARD":
            card = {"fn": "", "n": "", "phones": []}
        elif card is None:
            continue
        elif name == "END" and value.strip().upper() == "VCARD":
            contact = _contact(card)
            if contact:
                cards.append(contact)
            card = None
            if len(cards) >= MAX_CARDS:
                break
        elif name == "FN" and not card["fn"]:
            card["fn"] = _clean(_decoded(value, params), MAX_NAME)
        elif name == "N" and not card["n"]:
            family, given, *_rest = [*_decoded(value, params).split(";"), "", ""]
            card["n"] = _clean(f"{given} {family}", MAX_NAME)
        elif name == "TEL" and len(card["phones"]) < MAX_PHONES:
            phone = _clean(_decoded(value, params), MAX_PHONE).removeprefix("tel:")
            if phone and PHONE_CHARACTERS.match(phone) and phone not in card["phones"]:
                card["phones"].append(phone)
    return cards


def _contact(card: dict) -> dict | None:
    name = card["fn"] or card["n"]
    if not name and not card["phones"]:
        return None
    return {"name": name, "phones": card["phones"]}
