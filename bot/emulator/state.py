"""Chat state (chats, users, files, the bot's messages) in plain dataclasses, so tests read what the bot did."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal

from bot.emulator.markup import _inline_buttons

BlockReason = Literal["blocked", "kicked", "deactivated"]
ChatType = Literal["private", "group", "supergroup", "channel"]


@dataclass(frozen=True, slots=True)
class EmulatedUser:
    """A Telegram user (or the bot itself) as the emulator presents it."""

    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_json(self) -> dict[str, Any]:
        """Bot API User."""
        out: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            out["username"] = self.username
        if self.language_code:
            out["language_code"] = self.language_code
        return out


@dataclass(frozen=True)
class EmulatedFile:
    """A file stored by the emulator (uploaded by the bot or sent by a user), downloadable via getFile."""

    file_id: str
    file_unique_id: str
    file_name: str
    mime_type: str
    content: bytes
    file_path: str

    def document_json(self) -> dict[str, Any]:
        """Bot API Document."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_size": len(self.content),
        }


@dataclass(frozen=True)
class UploadedFile:
    """A multipart file part as received; appears in RequestRecord.params."""

    file_name: str
    content: bytes
    mime_type: str


@dataclass(frozen=True)
class MessageVersion:
    """One earlier state of an edited bot message."""

    text: str | None
    parse_mode: str | None
    plain_text: str
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    at: float


@dataclass
class SentMessage:
    """A message the bot sent, in its current state; ``history`` holds the states before each edit.

    ``text`` is what the bot sent (markup included), or the caption for documents; ``plain_text`` is what users
    see after entity parsing and trimming.
    """

    chat_id: int
    message_id: int
    text: str | None
    parse_mode: str | None
    plain_text: str
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    message_thread_id: int | None
    reply_to_message_id: int | None
    link_preview_options: dict[str, Any] | None
    document: EmulatedFile | None
    sent_at: float
    date: int
    edited_at: float | None = None
    edit_date: int | None = None
    deleted: bool = False
    history: list[MessageVersion] = field(default_factory=list)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Inline keyboard buttons, row by row."""
        return _inline_buttons(self.reply_markup)

    def version(self) -> MessageVersion:
        """Snapshot of the current content, kept in ``history`` when the message is edited."""
        at = self.sent_at if self.edited_at is None else self.edited_at
        return MessageVersion(self.text, self.parse_mode, self.plain_text, self.entities, self.reply_markup, at)


@dataclass(frozen=True)
class RequestRecord:
    """One Bot API call as the emulator saw it; ``at`` is in emulator seconds."""

    method: str
    params: dict[str, Any]
    status: int
    at: float
    description: str | None


@dataclass
class EmulatorStats:
    """Counters: calls by method name, error answers by HTTP status."""

    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)

    @property
    def too_many_requests(self) -> int:
        """How many 429 answers were given (flood control and injected)."""
        return self.errors[429]


@dataclass
class _ForumTopic:
    """A forum topic as the emulator keeps it: open or closed until deleted."""

    thread_id: int  # the message_id of its forum_topic_created service message, as on Telegram
    name: str
    closed: bool = False


@dataclass
class _Chat:
    """A chat as the emulator keeps it: who is in it, who may post, its topics, and whether it still takes messages."""

    id: int
    type: ChatType
    title: str | None = None
    first_name: str | None = None
    username: str | None = None
    is_forum: bool = False
    creator: int | None = None
    admins: set[int] = field(default_factory=set)
    members: set[int] = field(default_factory=set)
    blocked: BlockReason | None = None
    migrated_to: int | None = None
    last_message_id: int = 0
    topics: dict[int, _ForumTopic] = field(default_factory=dict)  # open and closed forum topics; deleted ones go
    posters: set[int] = field(default_factory=set)  # a channel's administrators with can_post_messages

    def next_message_id(self) -> int:
        """Message ids increase per chat."""
        self.last_message_id += 1
        return self.last_message_id

    def to_json(self) -> dict[str, Any]:
        """Bot API Chat."""
        out: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "first_name", "username"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.is_forum:
            out["is_forum"] = True
        return out


@dataclass
class _CallbackQuery:
    created_at: float
    answer: dict[str, Any] | None = None


@dataclass
class _Fault:
    status: int
    description: str
    parameters: dict[str, Any] | None
    remaining: int


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


def _commands_key(scope: dict[str, Any] | None, language_code: str | None) -> tuple[str, str]:
    """Commands are stored per (scope, language); no fallback between them, as with getMyCommands."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code or ""


class ChatState:
    """Bot API JSON for what the emulator holds, shared by the control API and the Bot API methods."""

    def _store_file(self, file_name: str, content: bytes, mime_type: str) -> EmulatedFile:
        number = next(self._ids)
        file = EmulatedFile(
            file_id=f"BQACAgIAAxkBAAI{number:08d}",
            file_unique_id=f"AgAD{number:06d}",
            file_name=file_name,
            mime_type=mime_type,
            content=content,
            file_path=f"documents/file_{number}{PurePosixPath(file_name).suffix}",
        )
        self._files[file.file_id] = file
        return file

    def _add_thread(self, message: dict[str, Any], chat: _Chat, thread_id: int | None) -> None:
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            if chat.is_forum:
                message["is_topic_message"] = True

    def _sent_json(self, message: SentMessage, *, with_reply: bool = True) -> dict[str, Any]:
        """Bot API Message for a bot message in its current state."""
        chat = self._chats[message.chat_id]
        out: dict[str, Any] = {
            "message_id": message.message_id,
            "from": self.bot_user.to_json(),
            "chat": chat.to_json(),
            "date": message.date,
        }
        if chat.type == "channel":  # a channel's posts come from the channel itself, not from a user
            del out["from"]
            out["sender_chat"] = chat.to_json()
        self._add_thread(out, chat, message.message_thread_id)
        if with_reply and message.reply_to_message_id is not None:
            replied = self._message_json(chat.id, message.reply_to_message_id)
            if replied is not None:
                out["reply_to_message"] = replied
        if message.edit_date is not None:
            out["edit_date"] = message.edit_date
        prefix = "caption_" if message.document is not None else ""
        if message.document is not None:
            out["document"] = message.document.document_json()
        if message.plain_text:
            out["caption" if prefix else "text"] = message.plain_text
        if message.entities:
            out[f"{prefix}entities"] = message.entities
        if message.buttons:
            out["reply_markup"] = message.reply_markup
        return out

    def _message_json(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """Any live message (bot's or user's) as Telegram embeds it in reply_to_message."""
        sent = self._sent.get((chat_id, message_id))
        if sent is not None and not sent.deleted:
            return self._sent_json(sent, with_reply=False)
        message = self._user_messages.get((chat_id, message_id))
        if message is None:
            return None
        return {key: value for key, value in message.items() if key != "reply_to_message"}

    def _member_json(self, chat: _Chat, user: EmulatedUser) -> dict[str, Any]:
        """Bot API ChatMember: creator, administrator, member or left."""
        base: dict[str, Any] = {"user": user.to_json()}
        if chat.type == "private":
            return {**base, "status": "member"}
        if user.id == chat.creator:
            return {**base, "status": "creator", "is_anonymous": False}
        if user.id not in chat.admins:
            return {**base, "status": "member" if user.id in chat.members else "left"}
        rights = (
            "can_manage_chat",
            "can_delete_messages",
            "can_manage_video_chats",
            "can_restrict_members",
            "can_change_info",
            "can_invite_users",
            "can_pin_messages",
        )
        no_rights = ("can_be_edited", "is_anonymous", "can_promote_members", "can_post_stories")
        posting = user.id in chat.posters
        return {
            **base,
            "status": "administrator",
            **dict.fromkeys(rights, True),
            **dict.fromkeys((*no_rights, "can_edit_stories", "can_delete_stories"), False),
            **({"can_manage_topics": True} if chat.is_forum else {}),
            **({"can_post_messages": posting, "can_edit_messages": posting} if chat.type == "channel" else {}),
        }
