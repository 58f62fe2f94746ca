"""The Bot API methods the bot calls (send, edit, delete, chats, members, files, commands), answered as Telegram."""

from __future__ import annotations

import re
import time
from typing import Any

from bot.emulator.errors import BotApiError, _bad_request
from bot.emulator.html_check import FormattedText, _trimmed, _utf16_len, parse_html
from bot.emulator.markup import _parse_reply_markup
from bot.emulator.params import _Params
from bot.emulator.state import EmulatedFile, SentMessage, UploadedFile, _Chat, _commands_key

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_COMMANDS = 100
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
CALLBACK_QUERY_TTL = 15.0  # emulator seconds a callback query stays answerable

_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a "
    "current content and reply markup of the message"
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")


class BotApiMethods:
    """The Bot API methods BotApiEmulator serves by name, working on the state its __init__ sets up."""

    # -- Bot API methods -----------------------------------------------------------------------------------------

    async def _get_me(self, p: _Params) -> dict[str, Any]:
        return {
            **self.bot_user.to_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _set_my_commands(self, p: _Params) -> bool:
        commands = p.json("commands") or []
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        if len(commands) > MAX_COMMANDS:
            raise _bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            for key in ("command", "description"):
                if not isinstance(command, dict) or not isinstance(command.get(key), str):
                    raise _bad_request(f"can't parse BotCommand: Can't find field \"{key}\"")
            if not _COMMAND_NAME.fullmatch(command["command"]):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not command["description"].strip():
                raise _bad_request("command description must be non-empty")
        key = _commands_key(p.json("scope"), p.text("language_code"))
        if commands:
            self._commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        else:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, p: _Params) -> list[dict[str, str]]:
        return self.commands(p.text("language_code"), scope=p.json("scope"))

    async def _delete_my_commands(self, p: _Params) -> bool:
        self._commands.pop(_commands_key(p.json("scope"), p.text("language_code")), None)
        return True

    async def _send_message(self, p: _Params) -> dict[str, Any]:
        chat = self._target_chat(p, writing=True)
        text, formatted = self._message_text(p)
        return self._store(self._new_message(chat, p, text, formatted))

    async def _send_document(self, p: _Params) -> dict[str, Any]:
        chat = self._target_chat(p, writing=True)
        source = self._document_source(p)
        caption = p.text("caption")
        formatted = self._format(caption or "", p.text("parse_mode"), p.json("caption_entities"))
        if _utf16_len(formatted.text) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        message = self._new_message(chat, p, caption, formatted)
        if isinstance(source, UploadedFile):
            source = self._store_file(source.file_name, source.content, source.mime_type)
        message.document = source
        return self._store(message)

    def _document_source(self, p: _Params) -> EmulatedFile | UploadedFile:
        """The document parameter: a fresh upload, an attach:// reference or an existing file_id."""
        value = p.raw.get("document")
        if isinstance(value, str) and value.startswith("attach://"):
            value = p.raw.get(value.removeprefix("attach://"))
        if isinstance(value, UploadedFile):
            if not value.content:
                raise _bad_request("file must be non-empty")
            return value
        if value is None:
            raise _bad_request("there is no document in the request")
        file = self._files.get(str(value))
        if file is None:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        return file

    def _new_message(self, chat: _Chat, p: _Params, text: str | None, formatted: FormattedText) -> SentMessage:
        """Validates the common send parameters, then applies flood control (rejected sends cost nothing)."""
        markup = _parse_reply_markup(p.raw.get("reply_markup"))
        reply_to = self._reply_target(p, chat)
        thread_id = p.integer("message_thread_id")
        if chat.is_forum and thread_id is not None:
            self._check_topic(chat, thread_id)
        preview = self._link_preview(p)
        self._throttle(chat, paid=p.flag("allow_paid_broadcast"))
        return SentMessage(
            chat_id=chat.id,
            message_id=chat.next_message_id(),
            text=text,
            parse_mode=p.text("parse_mode"),
            plain_text=formatted.text,
            entities=formatted.entities,
            reply_markup=markup,
            message_thread_id=thread_id,
            reply_to_message_id=reply_to,
            link_preview_options=preview,
            document=None,
            sent_at=self.now(),
            date=int(time.time()),
        )

    def _store(self, message: SentMessage) -> dict[str, Any]:
        self._sent[(message.chat_id, message.message_id)] = message
        return self._sent_json(message)

    async def _edit_message_text(self, p: _Params) -> dict[str, Any]:
        return self._edit(p, new_text=True)

    async def _edit_message_reply_markup(self, p: _Params) -> dict[str, Any]:
        return self._edit(p, new_text=False)

    def _edit(self, p: _Params, *, new_text: bool) -> dict[str, Any]:
        chat = self._target_chat(p, writing=True)
        key = (chat.id, p.integer("message_id") or 0)
        message = self._sent.get(key)
        if message is None or message.deleted:
            if key in self._user_messages:
                raise _bad_request("message can't be edited")
            raise _bad_request("message to edit not found")
        text, parse_mode = message.text, message.parse_mode
        formatted = FormattedText(message.plain_text, message.entities)
        if new_text:
            if message.document is not None:
                raise _bad_request("there is no text in the message to edit")
            text, formatted = self._message_text(p)
            parse_mode = p.text("parse_mode")
        # Leaving reply_markup out of an edit removes the inline keyboard.
        markup = _parse_reply_markup(p.raw.get("reply_markup"))
        if (formatted.text, formatted.entities, markup) == (message.plain_text, message.entities, message.reply_markup):
            raise _bad_request(_NOT_MODIFIED)
        message.history.append(message.version())
        message.text, message.parse_mode, message.reply_markup = text, parse_mode, markup
        message.plain_text, message.entities = formatted.text, formatted.entities
        if new_text:
            message.link_preview_options = self._link_preview(p)
        message.edited_at, message.edit_date = self.now(), int(time.time())
        return self._sent_json(message)

    async def _delete_message(self, p: _Params) -> bool:
        chat = self._target_chat(p, writing=True)
        key = (chat.id, p.integer("message_id") or 0)
        message = self._sent.get(key)
        if message is not None and not message.deleted:
            message.deleted = True
        elif self._user_messages.pop(key, None) is None:
            raise _bad_request("message to delete not found")
        return True

    async def _answer_callback_query(self, p: _Params) -> bool:
        query = self._queries.get(p.text("callback_query_id") or "")
        if query is None or query.answer is not None or self.now() - query.created_at > CALLBACK_QUERY_TTL:
            raise _bad_request("query is too old and response timeout expired or query ID is invalid")
        query.answer = {
            "text": p.text("text"),
            "show_alert": p.flag("show_alert"),
            "url": p.text("url"),
            "cache_time": p.integer("cache_time") or 0,
        }
        return True

    async def _send_chat_action(self, p: _Params) -> bool:
        self._target_chat(p, writing=True)
        if p.text("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    async def _get_file(self, p: _Params) -> dict[str, Any]:
        file = self._files.get(p.text("file_id") or "")
        if file is None:
            raise _bad_request("invalid file_id")
        if len(file.content) > MAX_DOWNLOAD_BYTES:
            raise _bad_request("file is too big")
        return {
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "file_size": len(file.content),
            "file_path": file.file_path,
        }

    async def _get_chat(self, p: _Params) -> dict[str, Any]:
        chat = self._target_chat(p, writing=False)
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels")
        return {
            **chat.to_json(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(gifts, False),
        }

    async def _get_chat_member(self, p: _Params) -> dict[str, Any]:
        chat = self._target_chat(p, writing=False)
        user_id = p.integer("user_id")
        user = self._users.get(user_id) if user_id is not None else None
        if user is None or (chat.type == "private" and user.id not in (chat.id, self.bot_user.id)):
            raise _bad_request("user not found")
        if chat.type == "channel" and self.bot_user.id not in chat.admins and user.id != self.bot_user.id:
            raise _bad_request("member list is inaccessible")
        return self._member_json(chat, user)

    async def _get_chat_administrators(self, p: _Params) -> list[dict[str, Any]]:
        chat = self._target_chat(p, writing=False)
        if chat.type == "private":
            raise _bad_request("there are no administrators in the private chat")
        if chat.type == "channel" and self.bot_user.id not in chat.admins:
            raise _bad_request("member list is inaccessible")
        ids = sorted(chat.admins | ({chat.creator} if chat.creator is not None else set()))
        return [self._member_json(chat, self._users[user_id]) for user_id in ids]

    # -- helpers -------------------------------------------------------------------------------------------------

    def _target_chat(self, p: _Params, *, writing: bool) -> _Chat:
        """Resolve chat_id and fail like Telegram for unknown, kicked, blocked, deactivated or migrated chats."""
        ref = p.raw.get("chat_id")
        if ref is None or ref == "":
            raise _bad_request("chat_id is empty")
        chat = self._lookup_chat(ref)
        if chat is None:
            raise _bad_request("chat not found")
        if chat.blocked == "kicked":
            raise BotApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")
        if not writing:
            return chat
        if chat.migrated_to is not None:
            raise BotApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.type == "channel" and self.bot_user.id not in chat.members:
            raise BotApiError(403, "Forbidden: bot is not a member of the channel chat")
        if chat.type == "channel" and self.bot_user.id not in chat.posters:
            raise _bad_request("need administrator rights in the channel chat")
        if chat.blocked == "blocked":
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        if chat.blocked == "deactivated":
            raise BotApiError(403, "Forbidden: user is deactivated")
        return chat

    def _lookup_chat(self, ref: Any) -> _Chat | None:
        if isinstance(ref, str) and ref.startswith("@"):
            name = ref[1:].lower()
            return next(
                (c for c in self._chats.values() if c.type != "private" and (c.username or "").lower() == name),
                None,
            )
        try:
            return self._chats.get(int(ref))
        except (TypeError, ValueError):
            return None

    def _format(self, text: str, parse_mode: str | None, entities: Any) -> FormattedText:
        """Entity parsing then trimming, as Telegram does before any length check."""
        mode = (parse_mode or "").lower()
        if mode == "html":
            formatted = parse_html(text, strict=self.strict_html)
        elif mode in ("", "markdown", "markdownv2"):  # Markdown is accepted unvalidated: the bot uses HTML
            formatted = FormattedText(text, entities if mode == "" and isinstance(entities, list) else [])
        else:
            raise _bad_request("unsupported parse_mode")
        return _trimmed(formatted)

    def _message_text(self, p: _Params) -> tuple[str, FormattedText]:
        text = p.text("text") or ""
        formatted = self._format(text, p.text("parse_mode"), p.json("entities"))
        if not formatted.text:
            raise _bad_request("message text is empty")
        if _utf16_len(formatted.text) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        return text, formatted

    def _reply_target(self, p: _Params, chat: _Chat) -> int | None:
        """reply_parameters (or legacy reply_to_message_id) must name an existing message."""
        params = p.json("reply_parameters")
        if isinstance(params, dict):
            message_id, allow_missing = params.get("message_id"), bool(params.get("allow_sending_without_reply"))
        else:
            message_id, allow_missing = p.integer("reply_to_message_id"), p.flag("allow_sending_without_reply")
        if message_id is None:
            return None
        if self._message_json(chat.id, int(message_id)) is None:
            if allow_missing:
                return None
            raise _bad_request("message to be replied not found")
        return int(message_id)

    def _check_topic(self, chat: _Chat, thread_id: int) -> None:
        """Telegram's answers for a deleted (or never created) topic and for a closed one."""
        topic = chat.topics.get(thread_id)
        if topic is None:
            raise _bad_request("message thread not found")
        if topic.closed:
            raise _bad_request("TOPIC_CLOSED")

    def _link_preview(self, p: _Params) -> dict[str, Any] | None:
        options = p.json("link_preview_options")
        if options is None and p.flag("disable_web_page_preview"):
            options = {"is_disabled": True}
        return options
