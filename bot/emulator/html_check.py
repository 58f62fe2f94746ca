"""HTML parse mode ported from tdlib (same rules, error texts, byte offsets): what Telegram rejects fails here too."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bot.emulator.errors import EntityParseError

_TRIMMED = " \t\r\n\v\f"


def _utf16_len(text: str) -> int:
    """Telegram measures text lengths and entity offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class FormattedText:
    """Message text as users see it, with Bot API entities (UTF-16 offsets)."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _OpenTag:
    tag: str
    argument: str
    utf16_offset: int
    byte_offset: int


@dataclass
class _Entity:
    type: str
    offset: int
    length: int
    argument: str = ""

    def sort_key(self) -> tuple[int, int, int]:
        """tdlib orders entities by offset, longer first, then by type priority."""
        priority = 10 if self.type == "pre" and self.argument else _ENTITY_PRIORITY[self.type]
        return (self.offset, -self.length, priority)

    def to_json(self) -> dict[str, Any]:
        """Bot API MessageEntity."""
        out: dict[str, Any] = {"type": self.type, "offset": self.offset, "length": self.length}
        if self.type == "text_link":
            out["url"] = self.argument
        elif self.type == "pre" and self.argument:
            out["language"] = self.argument
        elif self.type == "custom_emoji":
            out["custom_emoji_id"] = self.argument
        return out


_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_HTML_TAGS = frozenset(_SIMPLE_TAGS) | {"a", "code", "pre", "blockquote", "tg-emoji"}
_ENTITY_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
_NAMED_ENTITIES = {b"lt": ord("<"), b"gt": ord(">"), b"amp": ord("&"), b"quot": ord('"')}
_SPACES = frozenset(b" \t\r\n\v\f\0")
_ALNUM = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_AMP, _LT, _GT, _SLASH, _EQ = (ord(c) for c in "&<>/=")


def _decode_entity(data: bytes, pos: int) -> tuple[int, int] | None:
    """Decodes the character reference at data[pos] == '&' into (code point, next position), or None."""

    def at(index: int) -> int:
        return data[index] if index < len(data) else 0

    end = pos + 1
    if at(end) == ord("#"):
        end += 1
        hexadecimal = at(end) == ord("x")
        end += hexadecimal
        digits = _HEX if hexadecimal else frozenset(b"0123456789")
        start = end
        while at(end) in digits:
            end += 1
        code = int(data[start:end], 16 if hexadecimal else 10) if end > start else 0
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
    else:
        while chr(at(end)).isascii() and chr(at(end)).isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(data[pos + 1 : end])
        if named is None:
            return None
        code = named
    return code, end + (at(end) == ord(";"))


_MARKUP_BYTE = re.compile(rb"[<&]")


class _HtmlParser:
    """One pass over the UTF-8 bytes, exactly like tdlib, so byte offsets in errors match Telegram's."""

    def __init__(self, text: str, *, strict: bool) -> None:
        self.data = text.encode("utf-8")
        self.strict = strict
        self.pos = 0
        self.out = bytearray()
        self.utf16 = 0
        self.open: list[_OpenTag] = []
        self.entities: list[_Entity] = []
        self.surrogate = False

    def at(self, offset: int = 0) -> int:
        """Byte at pos+offset; 0 past the end, like tdlib's NUL-terminated buffer."""
        index = self.pos + offset
        return self.data[index] if index < len(self.data) else 0

    def parse(self) -> FormattedText:
        """Runs the parser; raises EntityParseError with Telegram's wording."""
        while self.pos < len(self.data):
            byte = self.data[self.pos]
            if byte == _AMP and self._character_reference():
                continue
            if byte != _LT:
                # Plain text up to the next markup byte in one step; "<" and "&" are ASCII, so the run ends on
                # a character boundary.
                found = _MARKUP_BYTE.search(self.data, self.pos + 1)
                end = found.start() if found else len(self.data)
                run = self.data[self.pos : end]
                self.out += run
                self.utf16 += len(run.decode("utf-8", errors="surrogatepass").encode("utf-16-le",
                                                                                    errors="surrogatepass")) // 2
                self.pos = end
            elif self.at(1) == _SLASH:
                self._end_tag()
            else:
                self._start_tag()
        if self.open:
            raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{self.open[-1].tag}"')
        if self.surrogate:
            raise EntityParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        entities = sorted(self.entities, key=_Entity.sort_key)
        return FormattedText(self.out.decode("utf-8"), [entity.to_json() for entity in entities])

    def _character_reference(self) -> bool:
        decoded = _decode_entity(self.data, self.pos)
        if self.strict and (decoded is None or self.data[decoded[1] - 1] != ord(";")):
            raise EntityParseError(f'Unescaped "&" at byte offset {self.pos}')
        if decoded is None:
            return False
        code, self.pos = decoded
        self.utf16 += 2 if code > 0xFFFF else 1
        if 0xD800 <= code <= 0xDFFF:
            self.surrogate = True
        else:
            self.out += chr(code).encode("utf-8")
        return True

    def _skip_spaces(self) -> None:
        while self.at() != 0 and self.at() in _SPACES:
            self.pos += 1

    def _start_tag(self) -> None:
        begin = self.pos
        self.pos += 1
        while self.at() not in _SPACES and self.at() != _GT:
            self.pos += 1
        if self.at() == 0:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
        tag = self.data[begin + 1 : self.pos].lower().decode("utf-8", "replace")
        if tag not in _HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
        argument = ""
        while self.at() != _GT:
            self._skip_spaces()
            if self.at() == _GT:
                break
            name_begin = self.pos
            while self.at() not in _SPACES and self.at() not in b"=>/\"'":
                self.pos += 1
            name = self.data[name_begin : self.pos]
            if not name:
                raise EntityParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
            self._skip_spaces()
            if self.at() != _EQ:
                if self.at() == 0:
                    raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                if tag == "blockquote" and name == b"expandable":
                    argument = "1"
                continue
            self.pos += 1
            self._skip_spaces()
            if self.at() == 0:
                raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
            value = self._attribute_value()
            if self.at() == 0:
                raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
            argument = _tag_argument(tag, name, value, argument)
        if tag == "span" and argument != "spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
        self.open.append(_OpenTag(tag, argument, self.utf16, len(self.out)))
        self.pos += 1

    def _attribute_value(self) -> str:
        quote = self.at()
        if quote not in b"'\"":
            # An SGML name token: letters, digits, periods, hyphens; case-insensitive.
            begin = self.pos
            while self.at() in _ALNUM or self.at() in b".-":
                self.pos += 1
            if self.at() not in _SPACES and self.at() != _GT:
                raise EntityParseError(f"Unexpected end of name token at byte offset {begin}")
            return self.data[begin : self.pos].lower().decode("utf-8", "replace")
        self.pos += 1
        value = bytearray()
        while self.at() != quote and self.at() != 0:
            decoded = _decode_entity(self.data, self.pos) if self.at() == _AMP else None
            if decoded is not None:
                code, self.pos = decoded
                value += chr(code).encode("utf-8", "surrogatepass")
                continue
            value.append(self.at())
            self.pos += 1
        if self.at() == quote:
            self.pos += 1
        return value.decode("utf-8", "replace")

    def _end_tag(self) -> None:
        begin = self.pos
        if not self.open:
            raise EntityParseError(f"Unexpected end tag at byte offset {begin}")
        self.pos += 2
        while self.at() not in _SPACES and self.at() != _GT:
            self.pos += 1
        end_name = self.data[begin + 2 : self.pos].lower().decode("utf-8", "replace")
        self._skip_spaces()
        if self.at() != _GT:
            raise EntityParseError(f"Unclosed end tag at byte offset {begin}")
        top = self.open[-1]
        if end_name and end_name != top.tag:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{top.tag}>", found "</{end_name}>"'
            )
        if self.utf16 > top.utf16_offset:
            self._close(top)
        self.open.pop()
        self.pos += 1

    def _close(self, top: _OpenTag) -> None:
        offset, length = top.utf16_offset, self.utf16 - top.utf16_offset
        last = self.entities[-1] if self.entities else None
        same_span = last is not None and (last.offset, last.length) == (offset, length)
        if top.tag in _SIMPLE_TAGS:
            self.entities.append(_Entity(_SIMPLE_TAGS[top.tag], offset, length))
        elif top.tag == "tg-emoji":
            if not top.argument.isdigit() or int(top.argument) == 0 or int(top.argument) >= 2**63:
                raise EntityParseError("Invalid custom emoji identifier specified")
            self.entities.append(_Entity("custom_emoji", offset, length, top.argument))
        elif top.tag == "a":
            url = _checked_link(top.argument or self.out[top.byte_offset :].decode("utf-8", "replace"))
            if url is not None:
                self.entities.append(_Entity("text_link", offset, length, url))
        elif top.tag == "pre" and last is not None and same_span and last.type == "code" and last.argument:
            last.type = "pre"  # <pre><code class="language-x">…</code></pre>: one pre block with a language
        elif top.tag == "code" and last is not None and same_span and last.type == "pre" and not last.argument:
            last.argument = top.argument  # <code class="language-x"><pre>…</pre></code>, same thing
        elif top.tag in ("pre", "code"):
            self.entities.append(_Entity(top.tag, offset, length, top.argument if top.tag == "code" else ""))
        else:
            kind = "expandable_blockquote" if top.argument else "blockquote"
            self.entities.append(_Entity(kind, offset, length))


def _tag_argument(tag: str, name: bytes, value: str, current: str) -> str:
    """The one attribute each tag cares about; others are ignored, as Telegram does."""
    if tag == "a" and name == b"href":
        return value
    if tag == "code" and name == b"class" and value.startswith("language-"):
        return value.removeprefix("language-")
    if tag == "span" and name == b"class" and value.startswith("tg-"):
        return value.removeprefix("tg-")
    if tag == "tg-emoji" and name == b"emoji-id":
        return value
    if tag == "blockquote" and name == b"expandable":
        return "1"
    return current


def _checked_link(url: str) -> str | None:
    """Normalises a link the way Telegram does (scheme-less → http, empty path → '/'), None if unusable."""
    if not url or any(char.isspace() for char in url):
        return None
    if url.lower().startswith("tg:"):
        return url
    if "://" not in url:
        url = f"http://{url}"
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        return None
    return urlunsplit(parts._replace(path=parts.path or "/"))


def parse_html(text: str, *, strict: bool = False) -> FormattedText:
    """Parses Telegram HTML into plain text + entities, raising EntityParseError exactly where Telegram would.

    Like Telegram, a bare '&' that does not start &lt; &gt; &amp; &quot; or a numeric reference is kept
    literally; ``strict=True`` rejects it instead (stricter than Telegram) to catch text that was not escaped.
    """
    return _HtmlParser(text, strict=strict).parse()


def validate_html(text: str, *, strict: bool = False) -> str:
    """Returns the plain text Telegram would show for HTML ``text``, or raises EntityParseError."""
    return parse_html(text, strict=strict).text


def _trimmed(formatted: FormattedText) -> FormattedText:
    """Telegram strips surrounding whitespace from texts and clips entities to what remains."""
    text = formatted.text.strip(_TRIMMED)
    shift = _utf16_len(formatted.text[: len(formatted.text) - len(formatted.text.lstrip(_TRIMMED))])
    total = _utf16_len(text)
    entities = []
    for entity in formatted.entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return FormattedText(text, entities)
