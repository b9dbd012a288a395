"""The `povdesk` command: thin commands over core, store, sync and reports.

Exit codes: 0 done, 1 findings or rejected items, 2 bad input or usage (one line on stderr).

The commands live in povdesk.cli.registry (workspaces, users, households), povdesk.cli.sync (keys,
bundles, conflicts) and povdesk.cli.printing (cards, lists, reports, Excel); what they share is in
povdesk.cli.common. Each module adds its subcommands through `register(add)`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from povdesk import __version__
from povdesk.cli import monitoring, printing, province, registry, relay, security, sync
from povdesk.cli.common import EXIT_INTERNAL, EXIT_OK, Command, CommandParser, language, t
from povdesk.clock import parse_today
from povdesk.errors import PovdeskError

log = logging.getLogger(__name__)

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    p = CommandParser(prog="povdesk", description=t(
        "povdesk：建档立卡离线登记工具。设置 POVDESK_USER / POVDESK_PASSWORD 可免去登录提示；POVDESK_LANG=en 用英文输出。",
        "povdesk: offline registry for targeted poverty registration. Set POVDESK_USER / POVDESK_PASSWORD "
        "to skip the login prompt; POVDESK_LANG=en for English output."))
    p.add_argument("--version", action="version", version=f"povdesk {__version__}")
    p.add_argument("--today", dest="clock", type=parse_today, metavar="YYYY-MM-DD",
                   help=t("把这一天当作今天（校验、默认日期、演示数据），用于核对或重现某一天的结果",
                          "take this day as today (rules, default dates, demo data): to check or "
                          "reproduce what a given day shows"))
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)

    def add(name: str, func: Command, zh: str, en: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=t(zh, en), description=t(zh, en))
        sp.set_defaults(func=func)
        return sp

    for module in (registry, security, sync, relay, province, monitoring, printing):  # the order of `povdesk --help`
        module.register(add)
    return p


def _setup_logging() -> None:
    from logging.handlers import RotatingFileHandler

    from povdesk.paths import user_log_dir

    try:
        directory = user_log_dir()
        directory.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = RotatingFileHandler(directory / "povdesk.log", maxBytes=1_000_000,
                                                       backupCount=3, encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def _aliases(argv: Sequence[str]) -> list[str]:
    """`povdesk step void …` is the command `step-void` (argparse cannot tell `void` from the
    workspace argument of `povdesk step DB …`)."""
    out = list(argv)
    for i, word in enumerate(out):
        if not word.startswith("-") and (i == 0 or out[i - 1] != "--today"):
            if word == "step" and out[i + 1:i + 2] == ["void"]:
                out[i:i + 2] = ["step-void"]
            break
    return out


def main(argv: Sequence[str] | None = None) -> int:
    _setup_logging()
    try:
        parser = build_parser()
        args = parser.parse_args(_aliases(sys.argv[1:] if argv is None else argv))
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_OK
        return int(args.func(args))
    except PovdeskError as exc:
        print(f"povdesk: {exc.message(language())}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(t("povdesk: 已中断", "povdesk: interrupted"), file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - the last line of defence: log it, say where the log is
        log.exception("unexpected error")
        from povdesk.paths import user_log_dir

        print(t(f"povdesk: 内部错误，详情见 {user_log_dir() / 'povdesk.log'}",
                f"povdesk: internal error, details in {user_log_dir() / 'povdesk.log'}"), file=sys.stderr)
        return EXIT_INTERNAL

