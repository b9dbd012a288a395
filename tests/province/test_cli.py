"""The province commands as a user runs them: a county sends its bundle, the province loads it
(again: a no-op with a note), lists the flags; bad input is one line and exit 2."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from povdesk.cli import main
from tests.province.conftest import PW, make_county, run


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """`povdesk …` in this process (the first test also runs it as a real process)."""

    def call(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        for k in ("POVDESK_USER", "POVDESK_PASSWORD"):
            monkeypatch.delenv(k, raising=False)
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        capsys.readouterr()
        code = main(list(args))
        got = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, got.out, got.err)

    return call


def test_a_county_sends_the_province_its_bundle(postgres, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    url = postgres.new_database()
    assert run("province", "init", "--database", url).returncode == 0
    r = cli("province", "keys", "--database", url, "--region", "52", "--name", "贵州省", "-o", str(tmp_path / "p.key"))
    assert r.returncode == 0, r.stderr
    assert "made the province keys: 52" in r.stdout
    again = cli("province", "keys", "--database", url)
    fp = r.stdout.splitlines()[0].split()[-1]
    assert again.returncode == 0 and not again.stdout.startswith("made") and fp in again.stdout

    site = make_county(tmp_path, "522634", 20, 7)
    site.ws.close()
    login = {"POVDESK_USER": "admin", "POVDESK_PASSWORD": PW}
    assert cli("province", "enrol", "--database", url, str(site.key_file)).returncode == 0
    r = cli("province", "set-key", str(site.path), str(tmp_path / "p.key"), env=login)
    assert r.returncode == 0, r.stderr
    # The county lists the province's key as the province's, and no exchange waits on it.
    shown = cli("keys", "show", str(site.path), env=login).stdout
    assert any(line.startswith("province\t") for line in shown.splitlines()), shown
    status = json.loads(cli("bundle", "status", str(site.path), "--json", env=login).stdout)
    assert status["peers"] == []
    coord = {"POVDESK_USER": "county", "POVDESK_PASSWORD": PW}
    bundle = tmp_path / "522634-province.pvb"
    r = cli("province", "export", str(site.path), "-o", str(bundle), env=coord)
    assert r.returncode == 0, r.stderr
    assert "20 households" in r.stdout
    r = cli("province", "export", str(site.path), "-o", str(tmp_path / "none.pvb"), env=coord)
    assert r.returncode == 0 and "nothing changed" in r.stdout and not (tmp_path / "none.pvb").exists()

    r = run("province", "load", "--database", url, str(bundle))
    assert r.returncode == 0, r.stderr
    assert "county 522634, 20 households, 20 of them new or newer" in r.stdout
    r = cli("province", "load", "--database", url, str(bundle), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)[0]["already"] is True
    r = cli("province", "load", "--database", url, str(bundle))
    assert r.returncode == 0 and "loaded before; nothing changed" in r.stdout
    r = cli("province", "flags", "--database", url)
    assert r.returncode == 0 and "no person is registered in two counties" in r.stdout


def test_bad_input_is_one_line_and_exit_2(postgres, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    url = postgres.new_database()
    cases = [
        ("province", "init", "--database", f"sqlite:///{tmp_path / 'x.db'}"),  # not PostgreSQL
        ("province", "load", "--database", url, str(tmp_path / "missing.pvb")),  # no tables yet
        ("province", "keys", "--database", url.replace(f"port={postgres.port}", "port=1")),  # nobody listens
        ("province", "flags", "--database", url, "--county", "52"),
        ("province", "load", "--database", url),
    ]
    for args in cases:
        r = cli(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("povdesk: "), (args, r.stderr)
    assert cli("province", "init", "--database", url).returncode == 0
    r = cli("province", "keys", "--database", url)
    assert r.returncode == 2 and "--region" in r.stderr
    (tmp_path / "junk.pvb").write_bytes(b"not a bundle")
    r = cli("province", "load", "--database", url, str(tmp_path / "junk.pvb"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "not a povdesk" in r.stderr
