"""What every `povdesk` command shares: the parser class, output, language, the workspace and the login."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from povdesk.clock import SYSTEM_CLOCK, Clock
from povdesk.errors import AuthError, BadInput, PovdeskError
from povdesk.i18n import Text, current_language

if TYPE_CHECKING:  # the store is imported when a command opens a workspace, not at start-up
    from povdesk.core.model import Household
    from povdesk.store import User, Workspace

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3

Command = Callable[[argparse.Namespace], int]
# add(name, func, help_zh, help_en) adds a subcommand and returns its parser (see povdesk.cli.build_parser).
AddCommand = Callable[[str, Command, str, str], argparse.ArgumentParser]


class UsageError(BadInput):
    pass


class CommandParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(Text(f"用法错误：{message}（见 {self.prog} --help）",
                              f"usage: {message} (see {self.prog} --help)"))


# ---------------------------------------------------------------- output and language

def add_workers_option(parser: argparse.ArgumentParser) -> None:
    """--workers N for the imports (povdesk.ops.importing.decision_pool)."""
    parser.add_argument("--workers", type=int, choices=range(0, 9), metavar="N", default=None,
                        help=t("另开 N 个进程做校验（默认：文件较大且有第二个 CPU 时为 1；0 为不另开）",
                               "check in N other processes (default: 1 for large files on a machine with a "
                               "second CPU; 0 for none)"))


def language() -> str:
    """The language of plain-text output (zh or en)."""
    return current_language()


def t(zh: str, en: str) -> str:
    return en if language() == "en" else zh


def out(text: str) -> None:
    print(text)


def emit_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


# ---------------------------------------------------------------- workspace and user

def default_workspace() -> Path:
    """The embedded default: workspace.db in the user data directory (or POVDESK_DATA_DIR)."""
    from povdesk.paths import user_data_dir

    return user_data_dir() / "workspace.db"


def db_path(value: str | None) -> Path:
    return Path(value) if value else default_workspace()


def clock_of(args: argparse.Namespace) -> Clock:
    """The clock of this run: --today fixes the date, otherwise the system's."""
    return getattr(args, "clock", None) or SYSTEM_CLOCK


def open_workspace(args: argparse.Namespace, *, readonly: bool = False) -> Workspace:
    """The workspace named by the command's DB argument (or the default), on this run's clock."""
    from povdesk.store import Workspace

    return Workspace.open(db_path(args.db), readonly=readonly, clock=clock_of(args))


def credentials(prompt_for: str = "") -> tuple[str, str]:
    user = os.environ.get("POVDESK_USER")
    password = os.environ.get("POVDESK_PASSWORD")
    interactive = sys.stdin.isatty()
    if not user:
        if not interactive:
            raise AuthError(Text("请设置 POVDESK_USER 和 POVDESK_PASSWORD 环境变量，或在终端中运行以输入",
                                 "set POVDESK_USER and POVDESK_PASSWORD, or run in a terminal to be asked"))
        user = input(t(f"用户名{prompt_for}：", f"User name{prompt_for}: ")).strip()
    if password is None:
        if not interactive:
            raise AuthError(Text("请设置 POVDESK_PASSWORD 环境变量", "set POVDESK_PASSWORD"))
        password = getpass.getpass(t("密码：", "Password: "))
    return user, password


def login(ws: Workspace) -> User:
    user, password = credentials()
    return ws.authenticate(user, password)


def check_new_password(password: str) -> None:
    if len(password) < 4:
        raise BadInput(Text("密码至少 4 个字符", "the password needs at least 4 characters"))


def find_household(ws: Workspace, ref: str) -> Household:
    """A household by its number or its id; an unknown one is bad input."""
    hh = ws.find_household_by_no(ref)
    if hh is None:
        try:
            hh = ws.load_household(ref)
        except PovdeskError:
            hh = None
    if hh is None:
        raise BadInput(Text(f"找不到户“{ref}”（请用户编号或户 ID）", f"no household '{ref}' (give its number or id)"))
    return hh
