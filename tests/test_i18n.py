"""Interface languages: complete catalogs, plural forms, locale dates, and every source string translated."""

from __future__ import annotations

import string
from datetime import date
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.emulator import parse_html
from bot.i18n import DOMAIN, LOCALE_DIR, SUPPORTED, translator, ui_language_for
from bot.packing import digest_header

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("bot", "handlers")
KEYWORDS = {"gettext": None, "ngettext": (1, 2), "_": None}
DAY = date(2026, 11, 22)


def _catalog(language: str) -> Catalog:
    """The language's .po file as Babel reads it."""
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po_file:
        return read_po(po_file, locale=language, domain=DOMAIN)


def _entries(catalog: Catalog) -> list:
    """Every message of a catalog except its header."""
    return [message for message in catalog if message.id]


@pytest.fixture(scope="module")
def source_messages() -> list[tuple[str, int, str | tuple[str, ...]]]:
    """(file, line, msgid) of every translatable string in the bot's source, as Babel's extractor finds them."""
    found = []
    for folder in SOURCE_DIRS:
        for filename, lineno, message, _comments, _context in extract_from_dir(str(ROOT / folder), keywords=KEYWORDS):
            found.append((f"{folder}/{filename}", lineno, message))
    return found


def test_every_chinese_entry_is_translated_and_not_fuzzy() -> None:
    entries = _entries(_catalog("zh"))
    assert entries
    for message in entries:
        assert not message.fuzzy, message.id
        if message.pluralizable:
            assert isinstance(message.string, tuple) and message.string[0], message.id
        else:
            assert isinstance(message.string, str) and message.string.strip(), message.id


def test_english_catalog_is_valid_with_plural_slots() -> None:
    for message in _entries(_catalog("en")):
        assert not message.fuzzy, message.id
        if message.pluralizable:
            assert isinstance(message.string, tuple) and len(message.string) == 2, message.id


def test_both_catalogs_hold_the_same_messages() -> None:
    assert {m.id if isinstance(m.id, str) else m.id[0] for m in _entries(_catalog("zh"))} == {
        m.id if isinstance(m.id, str) else m.id[0] for m in _entries(_catalog("en"))}


def _placeholders(text: str) -> list[str]:
    """The {name} fields of a format string."""
    return [name for _literal, name, _spec, _conversion in string.Formatter().parse(text) if name]


def test_placeholders_survive_translation() -> None:
    for message in _entries(_catalog("zh")):
        source = message.id if isinstance(message.id, str) else message.id[0]
        targets = message.string if isinstance(message.string, tuple) else (message.string,)
        for target in targets:
            assert sorted(_placeholders(target)) == sorted(_placeholders(source)), (source, target)


@pytest.mark.parametrize(
    ("language", "date_text", "header"),
    [
        ("zh", "2026年11月22日 星期日", "2026年11月22日 星期日 · 5 篇新论文"),
        ("en", "Sunday, November 22, 2026", "Sunday, November 22, 2026 · 5 new papers"),
    ],
)
def test_digest_header_date_and_count(language: str, date_text: str, header: str) -> None:
    t = translator(language)
    assert t.format_date(DAY) == date_text
    assert parse_html(digest_header(5, t=t, day=DAY)).text == header


def test_english_plural_forms() -> None:
    t = translator("en")
    assert t.ngettext("{count} new paper", "{count} new papers", 1).format(count=1) == "1 new paper"
    assert t.ngettext("{count} new paper", "{count} new papers", 5).format(count=5) == "5 new papers"
    assert t.ngettext("{count} new paper", "{count} new papers", 0).format(count=0) == "0 new papers"


def test_chinese_has_one_plural_form() -> None:
    t = translator("zh")
    assert t.ngettext("{count} new paper", "{count} new papers", 1).format(count=1) == "1 篇新论文"
    assert t.ngettext("{count} new paper", "{count} new papers", 5).format(count=5) == "5 篇新论文"


def test_translators_translate() -> None:
    assert translator("zh").gettext("Code") == "代码"
    assert translator("en").gettext("Code") == "Code"
    assert translator("fr").language == "en"
    assert SUPPORTED == ("zh", "en")


@pytest.mark.parametrize(
    ("code", "expected"),
    [("zh-hans", "zh"), ("zh-Hant", "zh"), ("ZH", "zh"), ("en", "en"), ("en-GB", "en"), ("de", "en"), (None, "en"),
     ("", "en")],
)
def test_ui_language_for(code: str | None, expected: str) -> None:
    assert ui_language_for(code) == expected


def test_extractor_finds_the_card_strings(source_messages: list) -> None:
    """Guards the completeness check below: it would pass vacuously if extraction found nothing."""
    ids = {message for _file, _line, message in source_messages}
    assert "(category inferred)" in ids
    assert ("{count} new paper", "{count} new papers") in ids
    assert "EEEE, MMMM d, y" in ids


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_source_string_is_in_the_catalog(language: str, source_messages: list) -> None:
    catalog = _catalog(language)
    missing = []
    for filename, lineno, message in source_messages:
        msgid = message[0] if isinstance(message, tuple) else message
        entry = catalog.get(msgid)
        if entry is None or entry.pluralizable != isinstance(message, tuple):
            missing.append(f"{filename}:{lineno} {message!r}")
    assert not missing, f"{len(missing)} strings missing from {language} messages.po:\n" + "\n".join(missing)
