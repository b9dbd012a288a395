"""Encryption at rest: `povdesk encrypt` (a plain workspace in place) and `povdesk recover` (at the
county, a village's workspace whose passwords are lost). See docs/security.md."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from povdesk.cli.common import EXIT_OK, AddCommand, check_new_password, clock_of, credentials, login, out, t
from povdesk.errors import BadInput
from povdesk.i18n import Text


def cmd_encrypt(args: argparse.Namespace) -> int:
    from povdesk.store import Workspace

    path = Path(args.db)
    user, password = credentials(t("（管理员）", " (administrator)"))
    backup = Workspace.encrypt_file(path, user, password, clock=clock_of(args))
    out(t(f"已加密工作区 {path}（密钥文件 {path.name}.keys 在它旁边，须一起备份）。"
          f"原来未加密的文件保存为 {backup}：它没有加密，确认加密后的工作区能正常打开后请删除",
          f"encrypted the workspace {path} (its key file {path.name}.keys is beside it; back them up together). "
          f"The plain file was kept as {backup}: it is NOT encrypted; delete it once the encrypted workspace "
          "opens as it should"))
    return EXIT_OK


def _new_password(name: str) -> str:
    import getpass

    password = os.environ.get("POVDESK_NEW_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise BadInput(Text("请通过 POVDESK_NEW_PASSWORD 提供新密码", "give the new password in POVDESK_NEW_PASSWORD"))
        password = getpass.getpass(t(f"{name} 的新密码：", f"New password for {name}: "))
        if getpass.getpass(t("再输入一次：", "Again: ")) != password:
            raise BadInput(Text("两次输入的密码不一致", "the passwords differ"))
    check_new_password(password)
    return password


def cmd_recover(args: argparse.Namespace) -> int:
    from povdesk.store import Workspace

    county = Workspace.open(Path(args.county), clock=clock_of(args))
    try:
        actor = login(county)
        password = _new_password(args.user)
        Workspace.recover_file(Path(args.db), county, actor, args.user, password, clock=clock_of(args))
    finally:
        county.close()
    out(t(f"已用县里的恢复副本打开 {args.db}，并为 {args.user} 设置了新密码（已记入该工作区的审计日志）",
          f"opened {args.db} with the county's recovery copy and set a new password for {args.user} "
          "(recorded in that workspace's audit log)"))
    return EXIT_OK


def register(add: AddCommand) -> None:
    sp = add("encrypt", cmd_encrypt, "把未加密的工作区就地加密（先留一份未加密的备份；需管理员登录）",
             "encrypt a plain workspace in place (a plain backup is kept; an administrator signs in)")
    sp.add_argument("db", metavar="DB", help=t("工作区文件", "workspace file"))

    sp = add("recover", cmd_recover, "县：用恢复副本打开村里忘了密码的加密工作区，为一个账户设新密码",
             "county: open a village's encrypted workspace with its recovery copy and give an account a new "
             "password")
    sp.add_argument("db", metavar="DB", help=t("村里的工作区文件（旁边有 .keys 密钥文件）",
                                              "the village's workspace file (its .keys file beside it)"))
    sp.add_argument("--county", required=True, metavar="COUNTY_DB",
                    help=t("县级工作区（以县里的账户登录：POVDESK_USER / POVDESK_PASSWORD）",
                           "the county workspace (signed in with a county account: POVDESK_USER / POVDESK_PASSWORD)"))
    sp.add_argument("--user", required=True, help=t("要设新密码的账户（新密码取自 POVDESK_NEW_PASSWORD 或提示输入）",
                                                   "the account to give a new password (from POVDESK_NEW_PASSWORD "
                                                   "or a prompt)"))
