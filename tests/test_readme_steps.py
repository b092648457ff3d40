"""The README's first-day steps, run exactly as written: the first account from a terminal."""

from __future__ import annotations

import os
import pty
import re
import select
import sys
import time
from pathlib import Path

from werkzeug.security import check_password_hash

from affectwatch.config import Config
from tests.test_dashboard_support import db

ROOT = Path(__file__).resolve().parent.parent
ANSWER_WITHIN = 60.0


def readme_account_command() -> list[str]:
    """The account command the README tells a new user to type, split into words."""
    found = re.search(r"Create the first dashboard account in another terminal with `\.venv/bin/(affectwatch [^`]+)`",
                      (ROOT / "README.md").read_text())
    assert found, "the README names the command that creates the first account"
    return found.group(1).split()


class Terminal:
    """A command run in a pseudo-terminal, as a person at a keyboard runs it (getpass reads /dev/tty)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: its controlling terminal is the pty
            try:
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd, self.seen = pid, fd, b""

    def expect(self, text: str) -> None:
        deadline = time.monotonic() + ANSWER_WITHIN
        while text.encode() not in self.seen:
            assert time.monotonic() < deadline, f"no {text!r} in {self.seen.decode(errors='replace')!r}"
            self._read(deadline - time.monotonic())

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")

    def finish(self) -> tuple[int, str]:
        deadline = time.monotonic() + ANSWER_WITHIN
        while time.monotonic() < deadline:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                while self._read(0.2):
                    pass
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status), self.seen.decode(errors="replace")
            self._read(0.5)
        raise AssertionError(f"the command did not end: {self.seen.decode(errors='replace')!r}")

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], max(timeout, 0.0))
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.seen += chunk
        return bool(chunk)


def test_the_readme_account_step_works_as_written(config: Config) -> None:
    words = readme_account_command()
    assert words[:2] == ["affectwatch", "user"], words
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFFECTWATCH_")}
    env.update(AFFECTWATCH_DATABASE_URL=config.database_url, AFFECTWATCH_PASSWORD_HASH="pbkdf2:sha256:1000",
               PYTHONPATH=str(ROOT))
    term = Terminal([sys.executable, "-m", "affectwatch.cli", *words[1:]], env)
    term.expect("User name: ")
    term.type("matron")
    term.expect("Password: ")
    term.type("correct horse battery")
    term.expect("Repeat it: ")
    term.type("correct horse battery")
    code, said = term.finish()
    assert code == 0, said
    assert "created admin account matron" in said
    assert "correct horse battery" not in said, "the password is not echoed"
    with db(config) as conn:
        row = conn.execute("SELECT username, role, password_hash FROM users").fetchone()
    assert row is not None and (row["username"], row["role"]) == ("matron", "admin")
    assert check_password_hash(row["password_hash"], "correct horse battery")
