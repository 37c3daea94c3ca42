"""Key names are data: bytes in, shown the way redis-cli shows them when they are not plain text."""

from __future__ import annotations

_ESCAPES = {
    ord("\\"): "\\\\",
    ord('"'): '\\"',
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    7: "\\a",
    8: "\\b",
}


def quote_bytes(raw: bytes) -> str:
    """redis-cli's quoted form: printable ASCII as is, the rest escaped, inside double quotes."""
    out = ['"']
    for byte in raw:
        esc = _ESCAPES.get(byte)
        if esc is not None:
            out.append(esc)
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    out.append('"')
    return "".join(out)


def _is_plain(text: str) -> bool:
    return text.isprintable() and '"' not in text[:1]


def display_key(raw: bytes) -> str:
    """Printable UTF-8 keys as they are; anything with control bytes or invalid UTF-8 quoted."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return quote_bytes(raw)
    return text if text and _is_plain(text) else quote_bytes(raw)


def json_key(raw: bytes) -> tuple[str, bool]:
    """The key for JSON: (text, escaped). Valid UTF-8 is kept verbatim (JSON escapes it);
    anything else is redis-cli's quoted form and escaped=True."""
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return quote_bytes(raw), True
