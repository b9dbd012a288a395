"""Accounts: scrypt hashes, sign-in failures, roles, the last administrator, audited changes."""

from __future__ import annotations

import pytest

from povdesk.errors import AuthError, BadInput, NotPermitted
from povdesk.store import User, Workspace

from .factories import household


def test_password_stored_as_scrypt_hash(ws: Workspace, admin: User) -> None:
    ws.add_user(admin, "li", "secret-pw", "township_official", "李乡长")
    stored = ws._conn.execute("SELECT password_hash FROM users WHERE name = 'li'").fetchone()[0]
    assert "secret-pw" not in stored
    scheme, n, r, p, salt, key = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", str(2**14), "8", "1")
    other = ws._conn.execute("SELECT password_hash FROM users WHERE name = 'admin'").fetchone()[0]
    assert other.split("$")[4] != salt  # a random salt per user
    assert ws.authenticate("li", "secret-pw") == User("li", "township_official", "李乡长", True)


def test_wrong_password_and_unknown_user_look_the_same(ws: Workspace) -> None:
    with pytest.raises(AuthError) as wrong:
        ws.authenticate("admin", "nope")
    with pytest.raises(AuthError) as unknown:
        ws.authenticate("ghost", "nope")
    assert wrong.value.text == unknown.value.text
    assert wrong.value.text.zh and wrong.value.text.en == "wrong user name or password"


def test_an_unknown_name_costs_a_whole_scrypt_of_the_accounts_cost() -> None:
    """The hash an unknown name is checked against is fixed (no scrypt at import, which every start
    would pay) but of the accounts' own cost, and a real hash: the check runs the whole scrypt."""
    from povdesk.store import users

    scheme, n, r, p, _salt, _key = users._DUMMY_HASH.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", users.SCRYPT_N, users.SCRYPT_R, users.SCRYPT_P)
    assert users.check_password("", users._DUMMY_HASH) is False


def test_disabled_user_refused(ws: Workspace, admin: User, worker: User) -> None:
    ws.disable_user(admin, "worker")
    with pytest.raises(AuthError, match="disabled"):
        ws.authenticate("worker", "worker-pw")
    # A wrong password does not reveal that the account exists but is disabled.
    with pytest.raises(AuthError, match="wrong user name or password"):
        ws.authenticate("worker", "bad")
    # A session opened before the account was disabled cannot save any more.
    with pytest.raises(AuthError, match="disabled or no longer exists"):
        ws.save_household(household(), worker)
    assert [u.active for u in ws.list_users() if u.name == "worker"] == [False]
    ws.enable_user(admin, "worker")
    assert ws.authenticate("worker", "worker-pw").active


def test_only_admins_manage_users(ws: Workspace, worker: User) -> None:
    with pytest.raises(NotPermitted):
        ws.add_user(worker, "x", "pw", "village_worker")
    with pytest.raises(NotPermitted):
        ws.disable_user(worker, "admin")
    with pytest.raises(NotPermitted):
        ws.set_password(worker, "admin", "new")
    assert [u.name for u in ws.list_users()] == ["admin", "worker"]


def test_forged_role_does_not_help(ws: Workspace, worker: User) -> None:
    forged = User("worker", "admin", "", True)
    with pytest.raises(NotPermitted):
        ws.add_user(forged, "x", "pw", "village_worker")


def test_last_admin_cannot_be_disabled(ws: Workspace, admin: User) -> None:
    with pytest.raises(NotPermitted, match="last active administrator"):
        ws.disable_user(admin, "admin")
    ws.add_user(admin, "admin2", "pw2", "admin")
    ws.disable_user(admin, "admin")  # now there is another
    second = ws.authenticate("admin2", "pw2")
    with pytest.raises(NotPermitted):
        ws.disable_user(second, "admin2")


def test_unknown_role_and_duplicates_are_bad_input(ws: Workspace, admin: User) -> None:
    with pytest.raises(BadInput, match="unknown role"):
        ws.add_user(admin, "x", "pw", "superuser")
    with pytest.raises(BadInput, match="already exists"):
        ws.add_user(admin, "admin", "pw", "admin")
    with pytest.raises(BadInput):
        ws.add_user(admin, "y", "", "village_worker")
    with pytest.raises(BadInput):
        ws.add_user(admin, " ", "pw", "village_worker")


def test_set_password_self_or_admin(ws: Workspace, admin: User, worker: User) -> None:
    ws.set_password(worker, "worker", "mine-now")
    assert ws.authenticate("worker", "mine-now").name == "worker"
    ws.set_password(admin, "worker", "reset-by-admin")
    assert ws.authenticate("worker", "reset-by-admin").name == "worker"
    with pytest.raises(AuthError):
        ws.authenticate("worker", "mine-now")


def test_user_changes_are_audited_without_secrets(ws: Workspace, admin: User, worker: User) -> None:
    ws.set_password(worker, "worker", "new-secret")
    ws.disable_user(admin, "worker")
    entries = [(e.user, e.action, e.entity_id, e.field) for e in reversed(ws.audit_entries())]
    assert ("admin", "user.add", "worker", None) in entries
    assert ("worker", "user.password", "worker", "password") in entries
    assert ("admin", "user.disable", "worker", "active") in entries
    dump = "".join(str((e.old, e.new)) for e in ws.audit_entries())
    assert "new-secret" not in dump and "scrypt$" not in dump
    assert ws.verify_audit() == []
