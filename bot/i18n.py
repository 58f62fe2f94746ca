"""Interface languages: gettext catalogs (compiled from the .po files at start) and locale-aware dates."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from storage.vocabulary import INTERFACE_LANGUAGES

LOCALE_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
SUPPORTED = INTERFACE_LANGUAGES
_BABEL_LOCALES = {"zh": "zh_Hans_CN", "en": "en"}


def ui_language_for(telegram_language_code: str | None) -> str:
    """Chinese for any zh* Telegram language, English otherwise."""
    return "zh" if (telegram_language_code or "").lower().startswith("zh") else "en"


@functools.cache
def _translations(language: str) -> NullTranslations:
    """Compile the language's .po into gettext form in memory, once per process."""
    po_path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=_BABEL_LOCALES[language], domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)


@functools.cache
def _locale(language: str) -> Locale:
    """Parsing a locale reads Babel's data files: once per language is enough."""
    return Locale.parse(_BABEL_LOCALES[language])


@dataclass(frozen=True)
class Translator:
    """Everything a handler or card needs to speak one interface language."""

    language: str

    @property
    def locale(self) -> Locale:
        """The Babel locale for dates and numbers."""
        return _locale(self.language)

    def gettext(self, message: str) -> str:
        """Translate one message (English source text is the message id)."""
        return _translations(self.language).gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        """Translate a message whose wording depends on a count."""
        return _translations(self.language).ngettext(singular, plural, count)

    def format_date(self, day: date) -> str:
        """A full date as the locale writes it: 'Sunday, November 22, 2026' / '2026年11月22日 星期日'."""
        # Translators: a Babel/CLDR date pattern for a digest's header date.
        return babel_format_date(day, self.gettext("EEEE, MMMM d, y"), locale=self.locale)


@functools.cache
def translator(language: str) -> Translator:
    """The translator for 'zh' or 'en' (anything else falls back to English)."""
    return Translator(language if language in SUPPORTED else "en")
