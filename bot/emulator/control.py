"""The control API tests drive to play Telegram's side: add chats, act as users, inject faults, read replies."""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from bot.emulator.errors import BotApiError
from bot.emulator.html_check import _utf16_len
from bot.emulator.state import (
    BlockReason,
    EmulatedUser,
    SentMessage,
    _CallbackQuery,
    _Chat,
    _commands_key,
    _Fault,
    _ForumTopic,
)

_BOT_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")


class ControlApi:
    """What tests call on the emulator; it works on the state BotApiEmulator.__init__ sets up."""

    # -- chats and users -----------------------------------------------------------------------------------------

    def add_private_chat(
        self,
        user_id: int,
        *,
        first_name: str = "Test User",
        language_code: str | None = None,
        username: str | None = None,
    ) -> EmulatedUser:
        """Register a user who has started the bot; their private chat id equals their user id."""
        user = EmulatedUser(user_id, first_name, username, language_code)
        self._users[user_id] = user
        chat = self._chats.setdefault(user_id, _Chat(user_id, "private"))
        chat.first_name, chat.username = first_name, username
        return user

    def add_group(
        self,
        chat_id: int,
        *,
        title: str,
        supergroup: bool = False,
        is_forum: bool = False,
        username: str | None = None,
        creator: int | None = None,
        admins: Iterable[int] = (),
        members: Iterable[int] = (),
    ) -> None:
        """Register a group the bot is a member of (put the bot's id in ``admins`` to make it an admin)."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if is_forum and not supergroup:
            raise ValueError("only supergroups can be forums")
        chat = _Chat(
            chat_id,
            "supergroup" if supergroup else "group",
            title=title,
            username=username,
            is_forum=is_forum,
            creator=creator,
            admins=set(admins),
        )
        chat.members = {self.bot_user.id, *chat.admins, *members, *([creator] if creator is not None else [])}
        for user_id in chat.members:
            self._user(user_id)
        self._chats[chat_id] = chat

    def set_admin(self, chat_id: int, user_id: int, admin: bool = True) -> None:
        """Promote or demote a group member."""
        chat = self._chats[chat_id]
        self._user(user_id)
        chat.members.add(user_id)
        if admin:
            chat.admins.add(user_id)
        else:
            chat.admins.discard(user_id)

    def add_channel(
        self,
        chat_id: int,
        *,
        title: str,
        creator: int,
        username: str | None = None,
        admins: Iterable[int] = (),
        bot_can_post: bool | None = True,
    ) -> None:
        """Register a channel: the creator may post, so may ``admins``; the bot is an administrator that may post
        (True), one that may not (False), or not in the channel at all (None). No update is sent."""
        if not str(chat_id).startswith("-100"):
            raise ValueError("channel ids start with -100")
        chat = _Chat(chat_id, "channel", title=title, username=username, creator=creator, admins=set(admins))
        chat.posters = {creator, *chat.admins}
        if bot_can_post is not None:
            chat.admins.add(self.bot_user.id)
            if bot_can_post:
                chat.posters.add(self.bot_user.id)
        chat.members = {creator, *chat.admins}
        for user_id in chat.members:
            self._user(user_id)
        self._chats[chat_id] = chat

    def set_channel_admin(self, chat_id: int, user_id: int, *, admin: bool = True, can_post: bool = True,
                          by: int | None = None) -> None:
        """Promote, change the rights of, or demote a channel administrator (the bot included: it is told with a
        my_chat_member update, as from ``by``, the creator unless given)."""
        chat = self._chats[chat_id]
        if chat.type != "channel":
            raise ValueError(f"chat {chat_id} is not a channel")
        old = self._channel_status(chat, user_id)
        self._user(user_id)
        chat.members.add(user_id)
        chat.admins.discard(user_id)
        chat.posters.discard(user_id)
        if admin:
            chat.admins.add(user_id)
            if can_post:
                chat.posters.add(user_id)
        if user_id == self.bot_user.id:
            chat.blocked = None
            self._enqueue("my_chat_member", self._channel_member_update(chat, old, by))

    def remove_from_channel(self, chat_id: int, user_id: int, *, by: int | None = None) -> None:
        """Take someone out of a channel; for the bot, sends then fail with 403 and a my_chat_member update comes."""
        chat = self._chats[chat_id]
        old = self._channel_status(chat, user_id)
        for members in (chat.members, chat.admins, chat.posters):
            members.discard(user_id)
        if user_id == self.bot_user.id:
            self._enqueue("my_chat_member", self._channel_member_update(chat, old, by))

    def channel_post(self, chat_id: int, text: str, *, by: int | None = None) -> int:
        """An administrator (the creator unless ``by``) posts in the channel; the bot gets a channel_post update if
        it is an administrator there. Returns the post's message id."""
        chat = self._chats[chat_id]
        author = chat.creator if by is None else by
        if chat.type != "channel" or author not in chat.posters:
            raise ValueError(f"user {author} may not post in chat {chat_id}")
        message: dict[str, Any] = {"message_id": chat.next_message_id(), "sender_chat": chat.to_json(),
                                   "chat": chat.to_json(), "date": int(time.time()), "text": text}
        self._user_messages[(chat_id, message["message_id"])] = message
        if self.bot_user.id in chat.admins:
            self._enqueue("channel_post", message)
        return message["message_id"]

    def user_forwards(self, user_id: int, from_chat_id: int, message_id: int) -> int:
        """A user forwards a channel post to the bot in their private chat (forward_origin of type channel)."""
        post = self._user_messages.get((from_chat_id, message_id))
        if post is None:
            raise KeyError(f"no post {message_id} in chat {from_chat_id}")
        message = self._user_message(user_id, user_id, None, None)
        message["forward_origin"] = {"type": "channel", "chat": self._chats[from_chat_id].to_json(),
                                     "message_id": message_id, "date": post["date"]}
        message["forward_date"] = post["date"]
        message["text"] = post["text"]
        return self._deliver_user_message(message)

    def _channel_status(self, chat: _Chat, user_id: int) -> dict[str, Any]:
        """A channel member's ChatMember as it stands now."""
        return self._member_json(chat, self._user(user_id))

    def _channel_member_update(self, chat: _Chat, old: dict[str, Any], by: int | None) -> dict[str, Any]:
        """my_chat_member: the bot was added to, promoted or demoted in, or removed from a channel."""
        return {
            "chat": chat.to_json(),
            "from": self._user(chat.creator if by is None else by).to_json(),
            "date": int(time.time()),
            "old_chat_member": old,
            "new_chat_member": self._channel_status(chat, self.bot_user.id),
        }

    def block(self, chat_id: int, reason: BlockReason = "blocked") -> None:
        """Make the bot's calls to this chat fail with Telegram's 403 for ``reason``."""
        chat = self._chats[chat_id]
        if (chat.type == "private") != (reason in ("blocked", "deactivated")):
            raise ValueError(f"{reason!r} does not apply to a {chat.type} chat")
        chat.blocked = reason
        if reason == "blocked":
            self._enqueue("my_chat_member", self._bot_status_update(chat, old="member", new="kicked"))

    def unblock(self, chat_id: int) -> None:
        """Undo block(): the user restarted the bot or re-added it."""
        chat = self._chats[chat_id]
        was_blocked = chat.blocked == "blocked"
        chat.blocked = None
        if was_blocked:
            self._enqueue("my_chat_member", self._bot_status_update(chat, old="kicked", new="member"))

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        """Upgrade a group to a supergroup: sends to the old id now fail with migrate_to_chat_id."""
        old = self._chats[chat_id]
        if old.type != "group" or new_chat_id in self._chats:
            raise ValueError("only a basic group can migrate, to an unused chat id")
        new = _Chat(
            new_chat_id,
            "supergroup",
            title=old.title,
            creator=old.creator,
            admins=set(old.admins),
            members=set(old.members),
        )
        self._chats[new_chat_id] = new
        old.migrated_to = new_chat_id
        for chat, key, value in ((old, "migrate_to_chat_id", new_chat_id), (new, "migrate_from_chat_id", chat_id)):
            message = {"message_id": chat.next_message_id(), "chat": chat.to_json(), "date": int(time.time())}
            self._deliver_user_message({**message, key: value})

    def create_forum_topic(self, chat_id: int, name: str, *, by: int | None = None) -> int:
        """Open a topic in a forum supergroup; returns its message_thread_id (the forum_topic_created message's id).

        The bot receives the forum_topic_created service message, sent by user ``by`` if given.
        """
        chat = self._chats[chat_id]
        if not chat.is_forum:
            raise ValueError(f"chat {chat_id} is not a forum")
        thread_id = chat.next_message_id()
        chat.topics[thread_id] = _ForumTopic(thread_id, name)
        self._topic_service_message(chat, thread_id, "forum_topic_created", {"name": name, "icon_color": 7322096},
                                    by=by)
        return thread_id

    def close_forum_topic(self, chat_id: int, thread_id: int, *, by: int | None = None) -> None:
        """Close a topic: sends into it fail with TOPIC_CLOSED until it is reopened."""
        self._topic(chat_id, thread_id).closed = True
        self._topic_service_message(self._chats[chat_id], thread_id, "forum_topic_closed", {}, by=by)

    def reopen_forum_topic(self, chat_id: int, thread_id: int, *, by: int | None = None) -> None:
        """Reopen a closed topic."""
        self._topic(chat_id, thread_id).closed = False
        self._topic_service_message(self._chats[chat_id], thread_id, "forum_topic_reopened", {}, by=by)

    def delete_forum_topic(self, chat_id: int, thread_id: int) -> None:
        """Delete a topic with its messages; sends into it fail with "message thread not found" (no update comes)."""
        self._topic(chat_id, thread_id)
        del self._chats[chat_id].topics[thread_id]

    def _topic(self, chat_id: int, thread_id: int) -> _ForumTopic:
        topic = self._chats[chat_id].topics.get(thread_id)
        if topic is None:
            raise KeyError(f"no topic {thread_id} in chat {chat_id}")
        return topic

    def _topic_service_message(self, chat: _Chat, thread_id: int, kind: str, payload: dict[str, Any], *,
                               by: int | None) -> None:
        message_id = thread_id if kind == "forum_topic_created" else chat.next_message_id()
        message: dict[str, Any] = {"message_id": message_id, "chat": chat.to_json(), "date": int(time.time()),
                                   kind: payload}
        if by is not None:
            message["from"] = self._user(by).to_json()
        self._add_thread(message, chat, thread_id)
        self._deliver_user_message(message)

    def forget_chat(self, chat_id: int) -> None:
        """Drop a chat so calls to it fail with "chat not found"."""
        del self._chats[chat_id]

    def _user(self, user_id: int) -> EmulatedUser:
        return self._users.setdefault(user_id, EmulatedUser(user_id, f"User {user_id}"))

    def _bot_status_update(self, chat: _Chat, *, old: str, new: str) -> dict[str, Any]:
        """my_chat_member update Telegram sends when a user blocks or unblocks the bot."""
        new_member: dict[str, Any] = {"status": new, "user": self.bot_user.to_json()}
        if new == "kicked":
            new_member["until_date"] = 0
        return {
            "chat": chat.to_json(),
            "from": self._user(chat.id).to_json(),
            "date": int(time.time()),
            "old_chat_member": {"status": old, "user": self.bot_user.to_json()},
            "new_chat_member": new_member,
        }

    # -- playing users -------------------------------------------------------------------------------------------

    def user_sends(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        message_thread_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> int:
        """A user writes to the bot; a leading /command gets the bot_command entity CommandHandler needs."""
        message = self._user_message(chat_id, user_id, message_thread_id, reply_to_message_id)
        message["text"] = text
        command = _BOT_COMMAND.match(text)
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command.group())}]
        return self._deliver_user_message(message)

    def user_sends_document(
        self,
        chat_id: int,
        user_id: int,
        file_name: str,
        content: bytes,
        *,
        caption: str | None = None,
        mime_type: str = "text/plain",
    ) -> int:
        """A user sends a file; the bot can fetch it with getFile and download it."""
        message = self._user_message(chat_id, user_id, None, None)
        message["document"] = self._store_file(file_name, content, mime_type).document_json()
        if caption:
            message["caption"] = caption
        return self._deliver_user_message(message)

    def user_taps(self, chat_id: int, user_id: int, message_id: int, callback_data: str, *,
                  forged: bool = False) -> str:
        """A user taps an inline button of a bot message; returns the callback query id.

        ``forged=True`` sends callback data the message never offered, as a modified client can.
        """
        message = self._sent.get((chat_id, message_id))
        if message is None or message.deleted:
            raise KeyError(f"no bot message {message_id} in chat {chat_id}")
        if not forged and all(button.get("callback_data") != callback_data for button in message.buttons):
            raise ValueError(f"message {message_id} has no button with callback_data {callback_data!r}")
        query_id = str(4_000_000_000_000 + next(self._ids))
        self._queries[query_id] = _CallbackQuery(created_at=self.now())
        query = {
            "id": query_id,
            "from": self._user(user_id).to_json(),
            "message": self._sent_json(message),
            "chat_instance": str(abs(chat_id)),
            "data": callback_data,
        }
        self._enqueue("callback_query", query)
        return query_id

    def callback_answer(self, query_id: str) -> dict[str, Any] | None:
        """What the bot answered to a callback query (text, show_alert, url, cache_time), None if not yet."""
        return self._queries[query_id].answer

    def _user_message(self, chat_id: int, user_id: int, thread_id: int | None, reply_to: int | None) -> dict[str, Any]:
        chat = self._chats[chat_id]
        if chat.type == "private" and user_id != chat_id:
            raise ValueError("in a private chat the user id is the chat id")
        if chat.type == "channel":
            raise ValueError("users do not write in a channel; see channel_post")
        if chat.is_forum and thread_id is not None:
            self._topic(chat_id, thread_id)
        chat.members.add(user_id)
        message: dict[str, Any] = {
            "message_id": chat.next_message_id(),
            "from": self._user(user_id).to_json(),
            "chat": chat.to_json(),
            "date": int(time.time()),
        }
        self._add_thread(message, chat, thread_id)
        if reply_to is not None:
            replied = self._message_json(chat_id, reply_to)
            if replied is None:
                raise KeyError(f"no message {reply_to} in chat {chat_id}")
            message["reply_to_message"] = replied
        return message

    def _deliver_user_message(self, message: dict[str, Any]) -> int:
        self._user_messages[(message["chat"]["id"], message["message_id"])] = message
        self._enqueue("message", message)
        return message["message_id"]

    # -- reading what the bot did --------------------------------------------------------------------------------

    def sent(self, chat_id: int | None = None) -> list[SentMessage]:
        """Bot messages in send order (deleted ones included, flagged), optionally for one chat."""
        return [message for message in self._sent.values() if chat_id is None or message.chat_id == chat_id]

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        """One bot message by id; KeyError if the bot never sent it."""
        return self._sent[(chat_id, message_id)]

    async def wait_for_messages(self, chat_id: int, count: int, timeout: float = 5.0) -> list[SentMessage]:
        """Wait until the bot has sent at least ``count`` messages to the chat; returns them all."""
        await self.wait_until(lambda: len(self.sent(chat_id)) >= count, timeout)
        return self.sent(chat_id)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until predicate() holds, re-checking after every request and control action."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            await self._changed.wait(remaining)

    def commands(
        self, language_code: str | None = None, *, scope: dict[str, Any] | None = None
    ) -> list[dict[str, str]]:
        """Commands set for exactly this scope (default scope if None) and language, like getMyCommands."""
        return list(self._commands.get(_commands_key(scope, language_code), []))

    # -- fault injection -----------------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str,
        count: int = 1,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with this error instead of performing them."""
        fault = _Fault(status, description, parameters, count)
        self._faults.setdefault(method.lower(), deque()).append(fault)

    def _take_fault(self, method: str) -> BotApiError | None:
        faults = self._faults.get(method.lower())
        if not faults:
            return None
        fault = faults[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            faults.popleft()
        return BotApiError(fault.status, fault.description, fault.parameters)
