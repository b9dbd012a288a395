"""The province dashboard as a real process (`povdesk province serve` on uvicorn, 127.0.0.1), over
HTTP with httpx: logins (a wrong password and an unknown name answered alike, in Chinese), the
session cookie's flags, a city user kept to its prefecture and everyone to the database's
province (403), the region pages' figures agreeing with the province report, the flags masked.

The fixtures here (three counties in two prefectures loaded into one province database, one
person registered in two counties, three users) are the browser tests' too."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from povdesk.province import export, registry
from povdesk.province.report import build_province_report
from tests.province.conftest import CLOCK, ROOT, TODAY, CountySite, make_county
from tests.relay.conftest import Postgres, free_port, wait_until_answers

PASSWORDS = {"sheng": "省里的密码-1", "qdn": "黔东南-pw-2", "gy": "guiyang-pw-3"}
ROLES = {"sheng": ("province", "52"), "qdn": ("city", "5226"), "gy": ("city", "5201")}


def cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "povdesk", "--today", TODAY.isoformat(), *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env=dict(os.environ, POVDESK_LANG="en", PYTHONPATH=str(ROOT), **(env or {})))


@dataclass
class Site:
    url: str  # the province database
    base: str  # the dashboard, http://127.0.0.1:PORT
    counties: list[CountySite]
    twin_id: str  # the ID number registered in 522634 and 522633
    dir: Path


def _plant_twin(a: CountySite, b: CountySite) -> str:
    """A member of B gets the ID number (and the name, sex, birth date) of one of A's people."""
    a_hh = next(h for h in a.ws.load_households(a.ws.household_ids()).values() if h.members)
    person = a_hh.members[0]
    b_hh = next(h for h in b.ws.load_households(b.ws.household_ids()).values() if len(h.members) > 1)
    twin = b_hh.members[-1]
    twin.fields = {**person.fields, "relation": twin.fields.get("relation")}
    b.ws.save_household(b_hh, b.user)
    return person.id_number


def _start(url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with log.open("ab") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "povdesk", "--today", TODAY.isoformat(), "province", "serve",
                                 "--database", url, "--port", str(port)], stdout=fh, stderr=fh,
                                stdin=subprocess.DEVNULL, cwd=ROOT,
                                env=dict(os.environ, POVDESK_LANG="en", PYTHONPATH=str(ROOT)))
    base = f"http://127.0.0.1:{port}"
    wait_until_answers(f"{base}/healthz", proc)
    return proc, base


@pytest.fixture(scope="module")
def site(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    base = tmp_path_factory.mktemp("dashboard")
    url = postgres.new_database()
    engine = registry.connect(url)
    registry.init(engine)
    registry.ensure_keys(engine, "52", "贵州省", CLOCK)
    key = base / "province.key"
    registry.write_province_key_file(engine, key)
    sites = [make_county(base, "522634", 60, 1), make_county(base, "522633", 40, 2), make_county(base, "520102", 30, 3)]
    twin = _plant_twin(sites[0], sites[1])
    for s in sites:
        export.set_province_key(s.ws, s.admin, key)
        registry.enrol_county(engine, s.key_file, CLOCK)
        bundle = export.export_province_bundle(s.ws, s.user, base / f"{s.code}.pvb").path
        registry.load_bundle(engine, bundle, CLOCK)
    engine.dispose()
    for name, (role, region) in ROLES.items():  # the password on stdin, as a script gives it
        r = cli("province", "user", "add", "--database", url, name, "--role", role, "--region", region,
                stdin=PASSWORDS[name] + "\n")
        assert r.returncode == 0, r.stderr
    proc, dashboard = _start(url, base / "serve.log")
    try:
        yield Site(url, dashboard, sites, twin, base)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for s in sites:
            s.ws.close()


@contextmanager
def login(site: Site, name: str, password: str | None = None) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.base, timeout=30) as client:
        r = client.post("/login", data={"name": name, "password": password or PASSWORDS[name]})
        assert r.status_code == 303, r.text
        yield client


def test_logging_in_sets_a_strict_httponly_session_cookie_and_lands_on_the_users_region(site: Site) -> None:
    with httpx.Client(base_url=site.base, timeout=30) as client:
        assert client.get("/").headers["location"] == "/login"
        page = client.get("/login")
        assert page.status_code == 200 and "登录" in page.text and "<script" not in page.text
        assert "default-src 'none'" in page.headers["content-security-policy"]
        r = client.post("/login", data={"name": "qdn", "password": PASSWORDS["qdn"]})
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
        assert client.get("/").headers["location"] == "/region/5226"
        region = client.get("/region/5226")
        assert region.status_code == 200 and "黔东南苗族侗族自治州" in region.text
        assert region.headers["cache-control"] == "no-store"
        out = client.post("/logout")
        assert out.status_code == 303 and client.get("/region/5226").headers["location"] == "/login"


def test_a_wrong_password_and_an_unknown_name_get_the_same_chinese_message(site: Site) -> None:
    with httpx.Client(base_url=site.base, timeout=30) as client:
        wrong = client.post("/login", data={"name": "sheng", "password": "not-it"})
        unknown = client.post("/login", data={"name": "nobody-here", "password": "not-it"})
        assert wrong.status_code == unknown.status_code == 401
        assert "用户名或密码不正确" in wrong.text and "用户名或密码不正确" in unknown.text
        strip = lambda t: re.sub(r'value="[^"]*"', "", t)  # noqa: E731 - the typed name is kept in the form
        assert strip(wrong.text) == strip(unknown.text)
        assert "set-cookie" not in wrong.headers and client.get("/").headers["location"] == "/login"


def test_repeated_failures_for_a_name_hold_it_for_a_while(site: Site) -> None:
    with httpx.Client(base_url=site.base, timeout=30) as client:
        answers = [client.post("/login", data={"name": "guesser", "password": f"try-{i}"}) for i in range(6)]
    assert [r.status_code for r in answers] == [401] * 5 + [429]
    assert "登录失败次数过多" in answers[-1].text and "分钟后再试" in answers[-1].text


def test_a_login_posted_from_another_site_is_refused(site: Site) -> None:
    r = httpx.post(f"{site.base}/login", data={"name": "sheng", "password": PASSWORDS["sheng"]},
                   headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and "set-cookie" not in r.headers


def test_a_city_user_sees_only_its_prefecture_and_nobody_another_province(site: Site) -> None:
    with login(site, "qdn") as qdn, login(site, "gy") as gy, login(site, "sheng") as sheng:
        for path in ("/region/5226", "/region/522634", "/region/522634/flags", "/region/5226/counties"):
            assert qdn.get(path).status_code == 200, path
        for path in ("/region/5201", "/region/520102", "/region/52", "/region/52/counties", "/region/520102/flags"):
            r = qdn.get(path)
            assert r.status_code == 403, path
            assert "无权查看" in r.text and "南明区" not in r.text
        assert gy.get("/region/5201").status_code == 200 and gy.get("/region/5226").status_code == 403
        # The province user sees all of province 52 and nothing of another province, held or not.
        for path in ("/region/52", "/region/5201", "/region/522633", "/region/52/flags"):
            assert sheng.get(path).status_code == 200, path
        for path in ("/region/53", "/region/5301", "/region/530102", "/region/11/counties"):
            assert sheng.get(path).status_code == 403, path
        assert sheng.get("/region/5299").status_code == 404  # in the province, but nothing there
        assert sheng.get("/region/52x").status_code == 404


def _bars(html: str, chart: str) -> dict[str, tuple[int, int]]:
    part = html.split(f'id="{chart}"', 1)[1].split("</figure>", 1)[0]
    return {m[0]: (int(m[1]), int(m[2])) for m in
            re.findall(r'data-label="([^"]*)" data-households="(\d+)" data-people="(\d+)"', part)}


def test_the_province_page_agrees_with_the_province_report(site: Site) -> None:
    engine = registry.connect(site.url)
    try:
        report = build_province_report(engine, "province", today=TODAY)
    finally:
        engine.dispose()
    with login(site, "sheng") as client:
        html = client.get("/region/52").text
    s = report.summary
    assert f"<strong>{s.households:,}</strong>" in html and f"<strong>{s.people:,}</strong>" in html
    status = _bars(html, "chart-status")
    assert status["未脱贫"] == (s.by_status.get("registered", 0), s.people_by_status.get("registered", 0))
    assert sum(h for h, _p in status.values()) == s.households
    causes = _bars(html, "chart-cause")
    assert sum(h for h, _p in causes.values()) == s.households
    assert list(causes.values()) == sorted(causes.values(), key=lambda v: -v[0])  # most frequent first
    assert sum(h for h, _p in _bars(html, "chart-attribute").values()) == s.households
    # The tree: the province, its two prefectures; the sub-region table links down.
    assert 'data-code="5226"' in html and 'data-code="5201"' in html and 'href="/region/5226"' in html


def test_the_tree_walks_down_to_a_village(site: Site) -> None:
    a = site.counties[0]
    villages = sorted({h.village_code for h in a.ws.load_households(a.ws.household_ids()).values()})
    with login(site, "qdn") as client:
        county = client.get("/region/522634").text
        assert "雷山县" in county
        township = villages[0][:9]
        assert f'href="/region/{township}"' in county
        page = client.get(f"/region/{township}").text
        assert f'href="/region/{villages[0]}"' in page
        village = client.get(f"/region/{villages[0]}")
        assert village.status_code == 200
        expected = sum(1 for h in a.ws.load_households(a.ws.household_ids()).values()
                       if h.village_code == villages[0])
        assert sum(h for h, _p in _bars(village.text, "chart-status").values()) == expected
        # The side tree keeps the whole path open: province, prefecture, county, township.
        for code in ("52", "5226", "522634", township):
            assert f'data-code="{code}"' in village.text


def test_the_county_comparison_is_ranked_and_the_flags_are_masked(site: Site) -> None:
    with login(site, "sheng") as client:
        table = client.get("/region/52/counties").text
        assert "质量排名" in table
        for code in ("522634", "522633", "520102"):
            assert f'href="/region/{code}"' in table
        flags = client.get("/region/5226/flags").text
        masked = site.twin_id[:6] + "********" + site.twin_id[-4:]
        assert site.twin_id not in flags and masked in flags
        assert "共 2 条标记" in flags and "同一身份证号登记在两个县" in flags
        assert "这里没有跨县重复登记的标记" in client.get("/region/5201/flags").text


def test_user_add_refuses_bad_input_in_one_line(site: Site) -> None:
    for args, words in ((["x", "--role", "city", "--region", "5301"], "province 52 only"),
                        (["x", "--role", "city", "--region", "52"], "4-digit"),
                        (["x", "--role", "province", "--region", "53"], "province 52 only"),
                        (["qdn", "--role", "city", "--region", "5226"], "exists already")):
        r = cli("province", "user", "add", "--database", site.url, *args, stdin="some-password\n")
        assert r.returncode == 2, (args, r.stderr)
        assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1
    listed = cli("province", "user", "list", "--database", site.url)
    assert listed.returncode == 0 and "qdn\tcity\t5226" in listed.stdout


def test_a_disabled_user_cannot_log_in_and_its_session_ends(site: Site) -> None:
    """Staff who leave: `povdesk province user disable NAME`; enable gives the login back."""
    r = cli("province", "user", "add", "--database", site.url, "leaver", "--role", "city", "--region", "5226",
            stdin="leaver-pw-4\n")
    assert r.returncode == 0, r.stderr
    with login(site, "leaver", "leaver-pw-4") as held:
        assert held.get("/region/5226").status_code == 200
        r = cli("province", "user", "disable", "--database", site.url, "leaver")
        assert r.returncode == 0 and "disabled the dashboard user leaver" in r.stdout, r.stderr
        ended = held.get("/region/5226")
        assert ended.status_code in (302, 303) and ended.headers["location"] == "/login"
    with httpx.Client(base_url=site.base, timeout=30) as client:
        refused = client.post("/login", data={"name": "leaver", "password": "leaver-pw-4"})
        assert refused.status_code == 401 and "用户名或密码不正确" in refused.text
        assert "set-cookie" not in refused.headers
    listed = cli("province", "user", "list", "--database", site.url)
    assert "leaver\tcity\t5226 (disabled)" in listed.stdout
    r = cli("province", "user", "disable", "--database", site.url, "nobody-here")
    assert r.returncode == 2 and "no dashboard user nobody-here" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert cli("province", "user", "enable", "--database", site.url, "leaver").returncode == 0
    with login(site, "leaver", "leaver-pw-4") as client:
        assert client.get("/region/5226").status_code == 200


def test_a_bundle_loaded_shows_on_the_next_page(site: Site) -> None:
    """The figures are kept between pages, until a bundle is loaded (the last test here: it changes the data)."""
    import time

    from povdesk.core.demo import generate
    from povdesk.core.procedures import as_held_at

    gy = site.counties[2]
    with login(site, "gy") as client:
        before = _bars(client.get("/region/520102").text, "chart-status")
        gy.ws.import_households(as_held_at(generate(gy.code, count=5, seed=99, today=TODAY), "county"), gy.user,
                                source="demo")
        engine = registry.connect(site.url)
        try:
            registry.load_bundle(engine, export.export_province_bundle(gy.ws, gy.user, site.dir / "gy-2.pvb").path,
                                 CLOCK)
        finally:
            engine.dispose()
        time.sleep(1.2)  # the dashboard looks at the bundles applied at most once a second
        after = _bars(client.get("/region/520102").text, "chart-status")
    assert sum(h for h, _p in after.values()) == sum(h for h, _p in before.values()) + 5
