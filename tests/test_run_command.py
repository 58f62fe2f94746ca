"""`python -m bot run` as an operator starts it: a real process polling the emulator, token kept out of logs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bot.emulator import EmulatorThread

ROOT = Path(__file__).resolve().parent.parent
USER = 4242


def _env(**values: str) -> dict[str, str]:
    """The parent's environment minus bot settings, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "ADMIN_"))}
    return env | values


def test_run_polls_answers_start_and_never_logs_the_token(tmp_path: Path) -> None:
    with EmulatorThread() as server:
        emulator = server.emu
        server.call(emulator.add_private_chat, USER, first_name="Op", language_code="en")
        token = emulator.token
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env=_env(TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_BASE_URL=emulator.api_base_url,
                                TELEGRAM_API_FILE_URL=emulator.file_base_url, LOG_LEVEL="DEBUG",
                                DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}", PYTHONPATH=str(ROOT)))
        try:
            deadline = time.monotonic() + 30
            server.call(emulator.user_sends, USER, USER, "/start")
            while time.monotonic() < deadline and not server.call(emulator.sent, USER):
                time.sleep(0.1)
            replies = server.call(emulator.sent, USER)
        finally:
            process.terminate()
            output, _ = process.communicate(timeout=30)
    assert replies and "Welcome" in replies[0].plain_text, output[-2000:]
    assert "getUpdates" in output or "Application started" in output, "the log shows the bot working"
    assert token not in output
    assert token.split(":")[1] not in output


def test_run_without_a_token_stops_with_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=tmp_path, capture_output=True, text=True,
                            env=_env(PYTHONPATH=str(ROOT), DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}"),
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: settings: TELEGRAM_BOT_TOKEN is not set (get one from @BotFather)"]
