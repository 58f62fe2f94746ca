"""Callback data for inline buttons: compact to encode, strict to decode, so forged data is refused."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from telegram.constants import InlineKeyboardButtonLimit

from storage.vocabulary import Language

MAX_CALLBACK_BYTES = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA  # Telegram refuses longer callback_data


class Action(StrEnum):
    """What a button does; the prefix is what travels in callback_data."""

    FAVOURITE = "f"  # toggle a paper's star under a digest card
    CATEGORY = "c"  # toggle a category in the /categories keyboard
    FAVOURITES_PAGE = "p"  # show a page of /favorites
    UNFAVOURITE = "u"  # remove a paper from the /favorites list, staying on that page
    SEARCH_PAGE = "s"  # show a page of a saved /search (its id, then the page)
    PAPER_DETAILS = "d"  # send a paper's full details
    CHANNEL = "m"  # manage a channel from a private chat: the channel's id, then what to do


class ChannelOp(StrEnum):
    """What a button under a channel's management message does."""

    SHOW = "show"
    FIELDS = "fields"
    PAUSE = "pause"
    RESUME = "resume"
    POST = "post"
    REMOVE = "remove"
    ZH = Language.ZH.value  # set the channel's card language
    EN = Language.EN.value
    BOTH = Language.BOTH.value


@dataclass(frozen=True, slots=True)
class Callback:
    """A decoded button press."""

    action: Action
    value: str
    page: int = 0
    channel: int | None = None  # the channel this button changes, when it is pressed in a private chat


_PATTERNS: dict[Action, re.Pattern[str]] = {
    Action.FAVOURITE: re.compile(r"f:(\d{1,12})"),
    Action.CATEGORY: re.compile(r"c:(?P<value>LG|CV|CL|AS|RO)(?::(?P<channel>-100\d{1,16}))?"),
    Action.FAVOURITES_PAGE: re.compile(r"p:(\d{1,6})"),
    Action.UNFAVOURITE: re.compile(r"u:(\d{1,12}):(\d{1,6})"),
    Action.SEARCH_PAGE: re.compile(r"s:(\d{1,12}):(\d{1,6})"),
    Action.PAPER_DETAILS: re.compile(r"d:(\d{1,12})"),
    Action.CHANNEL: re.compile(r"m:(?P<channel>-100\d{1,16}):(?P<value>" + "|".join(ChannelOp) + ")"),
}


def encode(action: Action, value: str | int, page: int | None = None, *, channel: int | None = None) -> str:
    """callback_data for a button; always well under Telegram's 64 bytes."""
    data = f"{action.value}:{value}" if page is None else f"{action.value}:{value}:{page}"
    if channel is not None:
        data = f"{action.value}:{channel}:{value}" if action is Action.CHANNEL else f"{data}:{channel}"
    if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def decode(data: str | None) -> Callback | None:
    """The button press, or None for anything this bot did not make (forged, stale format, garbage)."""
    if not data:
        return None
    action = next((a for a in Action if data.startswith(f"{a.value}:")), None)
    if action is None:
        return None
    match = _PATTERNS[action].fullmatch(data)
    if match is None:
        return None
    named = match.groupdict()
    if named:
        channel = named.get("channel")
        return Callback(action=action, value=named["value"], channel=int(channel) if channel else None)
    page = int(match.group(2)) if match.re.groups == 2 else 0
    return Callback(action=action, value=match.group(1), page=page)
