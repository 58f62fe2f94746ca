"""Pure formatters for command replies: settings, categories keyboard, favourites pages, stats, ingest reports."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import Action, ChannelOp, encode
from bot.i18n import Translator
from bot.packing import markup_atom, pack_atoms
from storage.chats import chat_categories
from storage.documents import human_size
from storage.ingest import IngestReport
from storage.keywords import MAX_KEYWORDS, KeywordChange, KeywordSpec
from storage.library import ImportReport
from storage.library_formats import MAX_LIBRARY_BYTES, MAX_LIBRARY_ENTRIES, Library, LibraryProblem
from storage.models import CHANNEL_KIND, Channel, Chat, Paper, Source, SourceStatus, TasteMode
from storage.parsing import ET_AL
from storage.search import MAX_QUERY_LENGTH, MAX_QUERY_TERMS, MAX_RESULTS, QueryProblem
from storage.taste import TASTE_AUTO_MINIMUM, TasteSummary
from storage.vocabulary import CATEGORIES, Category, Language

FAVOURITES_PAGE_SIZE = 5
SEARCH_PAGE_SIZE = 5
SEARCH_TITLE_LIMIT = 120  # a result is one line: the title is cut, /paper shows it whole


def category_label(code: str) -> str:
    """'CV · 计算机视觉 · Computer vision': both names, whatever the interface language."""
    category = Category(code)
    return f"{code} · {category.chinese} · {category.english}"


def categories_keyboard(chosen: Sequence[str], *, channel: int | None = None) -> InlineKeyboardMarkup:
    """One toggle per category, marked when chosen; a channel's keyboard (shown in a private chat) names it."""
    rows = [[InlineKeyboardButton(f"{'✅' if code in chosen else '▫️'} {category_label(code)}",
                                  callback_data=encode(Action.CATEGORY, code, channel=channel))]
            for code in CATEGORIES]
    return InlineKeyboardMarkup(rows)


def categories_text(chosen: Sequence[str], t: Translator) -> str:
    """The text above the categories keyboard."""
    names = ", ".join(chosen)
    return t.gettext("Tap a field to follow or drop it. Following: {names}").format(names=html.escape(names))


def language_name(language: str, t: Translator) -> str:
    """How a card language reads in the interface."""
    return {Language.ZH: t.gettext("Chinese"), Language.EN: t.gettext("English"),
            Language.BOTH: t.gettext("Chinese and English")}[language]


def format_local(moment: datetime | None, timezone: str, t: Translator) -> str:
    """A due time in the chat's zone: the date as the locale writes it, then HH:MM."""
    if moment is None:
        return "—"
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{t.format_date(local.date())} {local:%H:%M}"


def settings_text(chat: Chat, t: Translator, *, taste: TasteSummary | None = None) -> str:
    """All of a chat's settings in one message (with whether its taste orders its digest, when given)."""
    state = t.gettext("active") if chat.active else t.gettext("paused (/subscribe to resume)")
    header = t.gettext("<b>Settings of this topic</b>") if chat.thread_id else t.gettext("<b>Settings of this chat</b>")
    if chat.kind == CHANNEL_KIND:
        state = t.gettext("active") if chat.active else t.gettext("paused")
        header = t.gettext("<b>Settings of the channel {title}</b>").format(title=channel_name(chat))
    lines = [
        header,
        t.gettext("Daily digest: {state}").format(state=state),
        t.gettext("Fields: {fields}").format(fields=", ".join(category_label(c) for c in chat_categories(chat))),
        t.gettext("Time: {time} ({zone})").format(time=chat.digest_time, zone=html.escape(chat.timezone)),
        t.gettext("Card language: {language}").format(language=language_name(chat.language, t)),
    ]
    if taste is not None:
        lines.append(t.gettext("Ranking by taste: on (/taste)") if taste.ranking
                     else t.gettext("Ranking by taste: off (/taste)"))
    if chat.active:
        lines.append(t.gettext("Next digest: {when}").format(when=format_local(chat.next_due_at, chat.timezone, t)))
    return "\n".join(lines)


def import_problem_text(problem: LibraryProblem, t: Translator, *, count: int = 0) -> str:
    """Why a library was not imported, in one line; nothing was changed."""
    if problem is LibraryProblem.TOO_LARGE:
        return t.gettext("That file is larger than {size}; nothing was imported. Export a collection rather than "
                         "the whole library.").format(size=human_size(MAX_LIBRARY_BYTES))
    if problem is LibraryProblem.TOO_MANY:
        return t.gettext("That library has {count} entries, more than the {limit} I take; nothing was imported. "
                         "Export a collection rather than the whole library.").format(count=count,
                                                                                      limit=MAX_LIBRARY_ENTRIES)
    if problem is LibraryProblem.EMPTY:
        return t.gettext("That file has no entries; nothing was imported.")
    return t.gettext("That is not a BibTeX (.bib), RIS (.ris) or Zotero CSV (.csv) export; nothing was imported.")


def import_text(library: Library, report: ImportReport, taste: TasteSummary, t: Translator) -> str:
    """What /import did: papers added (and matched to stored ones), already there, skipped for want of a title."""
    lines = [t.ngettext("Imported {count} paper from your {format} library.",
                        "Imported {count} papers from your {format} library.", report.added).format(
        count=report.added, format=library.format.value)]
    if report.matched:
        lines.append(t.ngettext("{count} of them is a paper I have; its full text counts.",
                                "{count} of them are papers I have; their full text counts.",
                                report.matched).format(count=report.matched))
    if report.already:
        lines.append(t.ngettext("{count} was imported before.", "{count} were imported before.",
                                report.already).format(count=report.already))
    if library.untitled:
        lines.append(t.ngettext("{count} entry without a title was skipped.",
                                "{count} entries without a title were skipped.",
                                library.untitled).format(count=library.untitled))
    return "\n".join(lines) + "\n\n" + taste_text(taste, t)


def taste_text(taste: TasteSummary, t: Translator) -> str:
    """/taste: whether ranking is on and why, what the taste rests on, the words that weigh most, how to switch."""
    if taste.ranking:
        state = t.gettext("<b>Ranking by taste: on.</b> Among your next unseen papers, those closest to what you keep "
                          "come first; their cards say which favourite they are close to (≈ ⭐).")
    elif taste.mode is TasteMode.OFF:
        state = t.gettext("<b>Ranking by taste: off.</b> Your digest comes in the usual order.")
    else:
        state = t.gettext("<b>Ranking by taste: not yet.</b> It starts by itself at {count} favourites or imported "
                          "papers; ⭐ a few papers you like, or /import your library.").format(count=TASTE_AUTO_MINIMUM)
    rests = t.ngettext("It rests on {count} favourite", "It rests on {count} favourites", taste.favourites).format(
        count=taste.favourites) + t.ngettext(" and {count} imported paper.", " and {count} imported papers.",
                                              taste.imported).format(count=taste.imported)
    lines = [state, rests]
    if taste.words:
        lines.append(t.gettext("Words that weigh most: {words}").format(words=html.escape(", ".join(taste.words))))
    lines.append(t.gettext("/taste off orders the digest as usual; /taste on ranks it by taste, even with fewer "
                           "favourites."))
    return "\n".join(lines)


def _keyword_list(words: Sequence[str]) -> str:
    """'diffusion, graph neural' with every word escaped."""
    return ", ".join(html.escape(word) for word in words)


def keywords_text(keywords: Sequence[KeywordSpec], t: Translator) -> str:
    """/keywords: the included and excluded keywords, or how to add some."""
    if not keywords:
        return t.gettext("No keywords yet. /keywords add diffusion \"graph neural\" brings papers that mention them "
                         "beyond your fields; a -word (e.g. -survey) keeps papers that mention it away.")
    included = [spec.keyword for spec in keywords if not spec.exclude]
    excluded = [spec.keyword for spec in keywords if spec.exclude]
    lines = [t.gettext("<b>Keywords</b> ({count} of at most {limit})").format(count=len(keywords), limit=MAX_KEYWORDS)]
    if included:
        lines.append(t.gettext("Included (papers that mention one come too): {words}").format(
            words=_keyword_list(included)))
    if excluded:
        lines.append(t.gettext("Excluded (papers that mention one never come): {words}").format(
            words=_keyword_list(excluded)))
    lines.append(t.gettext("Matching ignores case and looks in titles, summaries and abstracts, Chinese and "
                           "English. /keywords remove WORD, /keywords clear."))
    return "\n".join(lines)


def keyword_change_text(change: KeywordChange, t: Translator) -> str:
    """What /keywords add changed, one line per kind of change."""
    lines = []
    if change.added:
        lines.append(t.gettext("Added: {words}").format(words=_keyword_list([spec.label for spec in change.added])))
    if change.switched:
        lines.append(t.gettext("Changed: {words}").format(
            words=_keyword_list([spec.label for spec in change.switched])))
    if change.unchanged:
        lines.append(t.gettext("Already there: {words}").format(
            words=_keyword_list([spec.label for spec in change.unchanged])))
    return "\n".join(lines)


def keyword_removal_text(removed: Sequence[str], missing: Sequence[str], t: Translator) -> str:
    """What /keywords remove did, naming keywords that were not there."""
    lines = []
    if removed:
        lines.append(t.gettext("Removed: {words}").format(words=_keyword_list(removed)))
    if missing:
        lines.append(t.gettext("Not among the keywords here: {words}").format(words=_keyword_list(missing)))
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class FavouritesPage:
    """One page of /favorites: its text and buttons."""

    text: str
    keyboard: InlineKeyboardMarkup | None


def favourites_page(papers: Sequence[Paper], *, total: int, page: int, t: Translator) -> FavouritesPage:
    """Saved papers, newest first, each with a remove button, and page navigation."""
    if total == 0:
        return FavouritesPage(t.gettext("No favourites yet. Tap ⭐ under a paper to save it."), None)
    pages = -(-total // FAVOURITES_PAGE_SIZE)
    header = t.ngettext("<b>{count} saved paper</b>", "<b>{count} saved papers</b>", total).format(count=total)
    lines = [header + f" · {page + 1}/{pages}"]
    removes = []
    for number, paper in enumerate(papers, start=page * FAVOURITES_PAGE_SIZE + 1):
        title = paper.title_en or paper.title_zh or (paper.abstract_en or paper.summary_zh or "")[:80]
        tag = paper.category or "--"
        link = f' <a href="{html.escape(paper.url, quote=True)}">🔗</a>' if paper.url else ""
        lines.append(f"{number}. <b>[{tag}]</b> {html.escape(title)}{link}")
        removes.append(InlineKeyboardButton(f"❌ {number}", callback_data=encode(Action.UNFAVOURITE, paper.id, page)))
    navigation = []
    if page > 0:
        navigation.append(InlineKeyboardButton("◀", callback_data=encode(Action.FAVOURITES_PAGE, page - 1)))
    if page + 1 < pages:
        navigation.append(InlineKeyboardButton("▶", callback_data=encode(Action.FAVOURITES_PAGE, page + 1)))
    rows = [removes] + ([navigation] if navigation else [])
    return FavouritesPage("\n".join(lines), InlineKeyboardMarkup(rows))


@dataclass(frozen=True, slots=True)
class StoreStats:
    """The numbers /stats shows."""

    subscribers: int
    channels: int
    papers: int
    deliveries_today: int
    chats_served_today: int
    favourites: int


def stats_text(stats: StoreStats, t: Translator) -> str:
    """The /stats reply."""
    return "\n".join([
        t.gettext("<b>Statistics</b>"),
        t.ngettext("Subscribers: {count} active chat", "Subscribers: {count} active chats",
                   stats.subscribers).format(count=stats.subscribers),
        t.ngettext("Channels: {count} active channel", "Channels: {count} active channels",
                   stats.channels).format(count=stats.channels),
        t.gettext("Papers in store: {count}").format(count=stats.papers),
        t.ngettext("Delivered today: {count} paper to {chats} chats",
                   "Delivered today: {count} papers to {chats} chats",
                   stats.deliveries_today).format(count=stats.deliveries_today, chats=stats.chats_served_today),
        t.gettext("Favourites: {count}").format(count=stats.favourites),
    ])


def ingest_text(report: IngestReport, t: Translator) -> str:
    """The /ingest reply, mirroring the CLI's line."""
    source = html.escape(report.source)
    if report.error:
        return t.gettext("Could not ingest {source}: {error}").format(source=source, error=html.escape(report.error))
    if report.already_ingested:
        return t.gettext("{source} was ingested before; nothing changed.").format(source=source)
    text = t.gettext("{source}: {found} papers found, {new} new, {merged} merged.").format(
        source=source, found=report.found, new=report.new, merged=report.merged)
    if report.not_papers:
        text += " " + t.ngettext("{count} item was skipped as not a paper.",
                                 "{count} items were skipped as not papers.",
                                 report.not_papers).format(count=report.not_papers)
    if report.problems:
        text += "\n" + "\n".join(f"⚠️ {html.escape(problem)}" for problem in report.problems[:10])
    return text


SOURCE_URL_SHOWN = 200  # characters of a source's URL shown in lists and notices
SOURCE_ERROR_SHOWN = 300


def _shown(text: str, limit: int) -> str:
    """Escaped and cut to a readable length."""
    return html.escape(text if len(text) <= limit else text[:limit - 1] + "…")


def source_state(source: Source, timezone: str, t: Translator) -> str:
    """How a source's last check ended, as the admin reads it."""
    when = format_local(source.last_checked_at, timezone, t)
    if source.last_status == SourceStatus.INGESTED:
        return t.gettext("new digest ingested {when}").format(when=when)
    if source.last_status == SourceStatus.UNCHANGED:
        return t.gettext("unchanged {when}").format(when=when)
    if source.last_status == SourceStatus.FAILED:
        return t.gettext("⚠️ failing since {since}: {error}").format(
            since=format_local(source.failing_since, timezone, t), error=_shown(source.last_error or "", 200))
    return t.gettext("not checked yet")


def sources_list_texts(sources: Sequence[Source], *, poll_minutes: float, timezone: str, t: Translator,
                       limit: int = 4000) -> list[str]:
    """/sources list: one line per source, split into messages that fit Telegram's limit."""
    if poll_minutes > 0:
        header = t.gettext("<b>Digest sources</b> (each checked every {minutes} min)").format(
            minutes=f"{poll_minutes:g}")
    else:
        header = t.gettext("<b>Digest sources</b> — automatic fetching is off (SOURCE_POLL_MINUTES=0)")
    if not sources:
        return [header + "\n" + t.gettext("None yet. Add one with /sources add URL.")]
    lines = [header]
    for source in sources:
        origin = " " + t.gettext("(from DIGEST_SOURCES)") if source.added_by is None else ""
        lines.append(f"{source.id}. {_shown(source.url, SOURCE_URL_SHOWN)}{origin} — "
                     f"{source_state(source, timezone, t)}")
    lines.append(t.gettext("Remove one with /sources remove N."))
    return pack_atoms([markup_atom(line, "\n") for line in lines], limit)


def source_failing_text(source_id: int, url: str, error: str, poll_minutes: float, t: Translator) -> str:
    """Told to admins once when a source starts failing."""
    return t.gettext("⚠️ Digest source {number} fails: {url}\n{error}\nI keep trying every {minutes} min and "
                     "will tell you when it works again.").format(
        number=source_id, url=_shown(url, SOURCE_URL_SHOWN), error=_shown(error, SOURCE_ERROR_SHOWN),
        minutes=f"{poll_minutes:g}")


def source_recovered_text(source_id: int, url: str, t: Translator) -> str:
    """Told to admins once when a reported source works again."""
    return t.gettext("✅ Digest source {number} works again: {url}").format(
        number=source_id, url=_shown(url, SOURCE_URL_SHOWN))
def _first_author(paper: Paper, t: Translator) -> str:
    """'Wei Wang et al.' or the only author, for a one-line result."""
    names = [name for name in paper.authors if name and name != ET_AL]
    if not names:
        return ""
    more = len(names) > 1 or paper.authors[-1] == ET_AL or paper.authors_truncated
    return t.gettext("{authors} et al.").format(authors=names[0]) if more else names[0]


def _result_line(paper: Paper, number: int, t: Translator) -> str:
    """'3. [CV] Title — Wei Wang et al. · #1234': everything to recognise a paper in one line."""
    title = paper.title_en or paper.title_zh or (paper.abstract_en or paper.summary_zh or "")
    if len(title) > SEARCH_TITLE_LIMIT:
        title = title[:SEARCH_TITLE_LIMIT - 1].rstrip() + "…"
    tag = f"<b>[{html.escape(paper.category)}]</b> " if paper.category else ""
    author = _first_author(paper, t)
    byline = f" — {html.escape(author)}" if author else ""
    return f"{number}. {tag}{html.escape(title)}{byline} · <code>#{paper.id}</code>"


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of /search results: its text and buttons."""

    text: str
    keyboard: InlineKeyboardMarkup | None


def search_page(papers: Sequence[Paper], *, query: str, total: int, page: int, search_id: int, saved: set[int],
                t: Translator) -> SearchPage:
    """Matches best first, numbered across pages, each with ⭐ (✅ once saved) and 📄 (details), and page buttons."""
    quoted = html.escape(query)
    if total == 0:
        return SearchPage(t.gettext("No papers match <b>{query}</b>. Try other or fewer words.").format(query=quoted),
                          None)
    pages = -(-total // SEARCH_PAGE_SIZE)
    if total >= MAX_RESULTS:
        header = t.gettext("<b>{count}+ papers</b> match <b>{query}</b>; the newest {count} are ranked").format(
            count=total, query=quoted)
    else:
        header = t.ngettext("<b>{count} paper</b> matches <b>{query}</b>",
                            "<b>{count} papers</b> match <b>{query}</b>", total).format(count=total, query=quoted)
    first = page * SEARCH_PAGE_SIZE + 1
    lines = [f"{header} · {page + 1}/{pages}"]
    lines += [_result_line(paper, number, t) for number, paper in enumerate(papers, start=first)]
    lines.append(t.gettext("⭐ saves a paper, 📄 shows all of it (or /paper ID)."))
    stars = [InlineKeyboardButton(f"{'✅' if paper.id in saved else '⭐'} {number}",
                                  callback_data=encode(Action.FAVOURITE, paper.id))
             for number, paper in enumerate(papers, start=first)]
    details = [InlineKeyboardButton(f"📄 {number}", callback_data=encode(Action.PAPER_DETAILS, paper.id))
               for number, paper in enumerate(papers, start=first)]
    navigation = []
    if page > 0:
        navigation.append(InlineKeyboardButton("◀", callback_data=encode(Action.SEARCH_PAGE, search_id, page - 1)))
    if page + 1 < pages:
        navigation.append(InlineKeyboardButton("▶", callback_data=encode(Action.SEARCH_PAGE, search_id, page + 1)))
    rows = [stars, details] + ([navigation] if navigation else [])
    return SearchPage("\n".join(lines), InlineKeyboardMarkup(rows))


def query_problem_text(problem: QueryProblem, t: Translator) -> str:
    """Why a /search query was refused, and how to write one."""
    usage = t.gettext('Usage: /search words or "a phrase", e.g. /search diffusion 扩散模型 "Wei Wang"')
    reasons = {
        QueryProblem.EMPTY: t.gettext("What should I look for?"),
        QueryProblem.TOO_LONG: t.gettext("That query is too long (at most {limit} characters).").format(
            limit=MAX_QUERY_LENGTH),
        QueryProblem.UNBALANCED_QUOTES: t.gettext("A quotation mark is not closed."),
        QueryProblem.TOO_MANY_TERMS: t.gettext("Too many words (at most {limit} words and phrases).").format(
            limit=MAX_QUERY_TERMS),
        QueryProblem.NOTHING_SEARCHABLE: t.gettext("There are no letters, digits or Chinese characters to look for."),
    }
    return f"{reasons[problem]}\n{html.escape(usage)}"


def channel_name(chat: Chat) -> str:
    """A channel as its managers know it: its title, else its id; escaped for HTML."""
    return html.escape(chat.title or str(chat.id))


def channel_state(chat: Chat, channel: Channel, t: Translator) -> str:
    """Lost, paused, or when its next digest comes."""
    if channel.lost:
        return t.gettext("inactive: I was removed or may not post there (add me back, then /channels add {id})"
                         ).format(id=chat.id)
    if not chat.active:
        return t.gettext("paused")
    return t.gettext("next digest {when}").format(when=format_local(chat.next_due_at, chat.timezone, t))


def channels_list(channels: Sequence[tuple[Chat, Channel]], t: Translator) -> tuple[str, InlineKeyboardMarkup | None]:
    """The /channels reply: each channel with its state, and a button each to manage it."""
    if not channels:
        return t.gettext("You manage no channels here yet. Make me an administrator of your channel with the right "
                         "to post messages, then send /channels add @channelname (or its id, or forward me any of "
                         "its posts)."), None
    lines = [t.gettext("<b>Your channels</b>")]
    lines += [f"📢 {channel_name(chat)} (<code>{chat.id}</code>): {channel_state(chat, channel, t)}"
              for chat, channel in channels]
    lines.append(t.gettext("Add another: /channels add @channelname"))
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(
        f"⚙️ {chat.title or chat.id}", callback_data=encode(Action.CHANNEL, ChannelOp.SHOW, channel=chat.id))]
        for chat, _channel in channels])
    return "\n".join(lines), keyboard


def channel_manage_text(chat: Chat, t: Translator) -> str:
    """A channel's settings, and the commands that change what buttons cannot (they name the channel first)."""
    return "\n\n".join([settings_text(chat, t), t.gettext(
        "From this chat: /categories {id} CV CL · /time {id} 08:30 Asia/Shanghai · /lang {id} en · "
        "/keywords {id} add diffusion · /post_now {id} (bot admins)").format(id=chat.id)])


def channel_manage_keyboard(chat: Chat, t: Translator) -> InlineKeyboardMarkup:
    """The controls a chat has, as buttons for one channel."""
    def button(label: str, op: ChannelOp) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=encode(Action.CHANNEL, op, channel=chat.id))

    pause = (button(t.gettext("⏸ Pause"), ChannelOp.PAUSE) if chat.active
             else button(t.gettext("▶️ Resume"), ChannelOp.RESUME))
    return InlineKeyboardMarkup([
        [button(t.gettext("🏷 Fields"), ChannelOp.FIELDS), pause, button(t.gettext("📨 Post now"), ChannelOp.POST)],
        [button("中文", ChannelOp.ZH), button("English", ChannelOp.EN), button("中文 + English", ChannelOp.BOTH)],
        [button(t.gettext("🗑 Remove"), ChannelOp.REMOVE)],
    ])
