"""The sync centre as its users meet it: keys, export to a folder, import with a report, the conflicts queue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from povdesk.relay import exchange
from povdesk.store import User, Workspace
from povdesk.sync import service
from povdesk.ui.sync_centre import RelayUploader, SyncCentre, install_sync_menu, parse_entered
from tests.relay.conftest import County, Relay, load_devices, make_county
from tests.sync.conftest import PW, Pair, make_pair, make_workspace, ready_to_propose_exit
from tests.ui.conftest import activate

HOUSEHOLDS = 8
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    monkeypatch.setenv("POVDESK_LANG", "en")
    p = make_pair(tmp_path, HOUSEHOLDS)
    yield p
    p.village.close()
    p.county.close()


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Error dialogs (show_error) recorded instead of blocking the test."""
    seen: list[str] = []

    def warning(_parent: Any, _title: str, text: str, *_a: Any) -> QMessageBox.StandardButton:
        seen.append(text)
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "warning", staticmethod(warning))
    monkeypatch.setattr(QMessageBox, "information", staticmethod(lambda *a: QMessageBox.StandardButton.Ok))
    return seen


def open_centre(qtbot: Any, ws: Workspace, user: User) -> SyncCentre:
    centre = SyncCentre(ws, user, lang="en")
    qtbot.addWidget(centre)
    activate(qtbot, centre)
    return centre


def choose_files(monkeypatch: pytest.MonkeyPatch, files: list[Path]) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        staticmethod(lambda *a, **k: ([str(f) for f in files], "")))


def click_import(qtbot: Any, centre: SyncCentre) -> str:
    """Import bundles… then, in the preview of their manifests, Import; returns what the preview said."""
    centre.tabs.setCurrentIndex(1)
    centre.last_import = None
    qtbot.mouseClick(centre.import_button, LEFT)
    assert centre.preview is not None and centre.preview.isVisible()
    said = centre.preview.summary.text() + "\n" + "\n".join(
        f"{item.text(0)}: {item.text(1)}" for item in
        (centre.preview.tree.topLevelItem(i) for i in range(centre.preview.tree.topLevelItemCount())) if item)
    qtbot.mouseClick(centre.preview.import_button, LEFT)
    qtbot.waitUntil(lambda: centre.last_import is not None and centre.job is None, timeout=20000)
    return said


def test_export_from_the_village_and_import_at_the_county(qtbot: Any, pair: Pair, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, warnings: list[str]) -> None:
    village = open_centre(qtbot, pair.village, pair.worker)
    assert village.fingerprint_label.text() == service.my_fingerprint(pair.village)
    assert village.county_key_label.text().startswith("Set: 522634")
    assert "have not yet reached the county" in village.status_summary.text()
    usb = tmp_path / "usb"
    usb.mkdir()
    village.tabs.setCurrentIndex(1)
    village.folder_edit.clear()
    qtbot.keyClicks(village.folder_edit, str(usb))
    assert village.name_edit.text().startswith("522634100201-seq1-")
    qtbot.mouseClick(village.export_button, LEFT)
    qtbot.waitUntil(lambda: village.last_export is not None and village.job is None, timeout=20000)
    (bundle,) = usb.iterdir()
    assert bundle.name == village.last_export.name and bundle.suffix == ".pvb"
    assert f"{HOUSEHOLDS} households" in village.export_result.text()
    assert not warnings

    county = open_centre(qtbot, pair.county, pair.coordinator)
    assert county.peers_table.rowCount() == 1  # the enrolled village
    choose_files(monkeypatch, [bundle])
    said = click_import(qtbot, county)
    assert f"1 files, {HOUSEHOLDS} households" in said
    assert f"{bundle.name}: {HOUSEHOLDS} households from 522634100201" in said
    assert county.report_table.rowCount() == 1
    assert county.report_table.item(0, 0).text() == bundle.name
    assert county.report_table.item(0, 1).text() == f"applied {HOUSEHOLDS}"
    assert pair.county.count_households() == HOUSEHOLDS
    # The county's status shows what it has received; a return bundle acknowledges it to the village.
    assert county.status_table.item(0, 4).text() == str(pair.village.last_outbox_seq())
    down = tmp_path / "down.pvb"
    service.export_bundle(pair.county, pair.coordinator, down)
    choose_files(monkeypatch, [down])
    click_import(qtbot, village)
    village.refresh()
    assert "Everything has reached the county." in village.status_summary.text()


def test_conflict_resolved_by_taking_the_remote_value(qtbot: Any, pair: Pair, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch, warnings: list[str]) -> None:
    first = tmp_path / "b1.pvb"
    service.export_bundle(pair.village, pair.worker, first)
    service.import_bundles(pair.county, pair.coordinator, [first])
    hid = next(pair.village.iter_households()).id
    for ws, user, value in ((pair.village, pair.worker, "村里改的地址"), (pair.county, pair.coordinator, "县里改的地址")):
        hh = ws.load_household(hid)
        hh.fields["address"] = value
        ws.save_household(hh, user)
    second = tmp_path / "b2.pvb"
    service.export_bundle(pair.village, pair.worker, second)

    county = open_centre(qtbot, pair.county, pair.coordinator)
    choose_files(monkeypatch, [second])
    click_import(qtbot, county)
    assert county.report_table.item(0, 4).text() == "1"  # one household with a conflict
    county.tabs.setCurrentIndex(3)
    assert county.tabs.tabText(3) == "Conflicts (1)"
    assert county.conflicts_table.rowCount() == 1
    county.conflicts_table.selectRow(0)
    assert "Address" in county.conflict_title.text()
    assert county.local_value.text() == "县里改的地址" and county.remote_value.text() == "村里改的地址"
    assert county.remote_caption.text().startswith("Other side: 522634100201")
    qtbot.mouseClick(county.take_remote, LEFT)
    assert pair.county.load_household(hid).fields["address"] == "村里改的地址"
    assert service.list_conflicts(pair.county) == []
    assert county.conflicts_table.rowCount() == 0 and county.tabs.tabText(3) == "Conflicts"
    assert not warnings


def test_entered_value_and_role_refusal(qtbot: Any, pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        warnings: list[str]) -> None:
    first = tmp_path / "b1.pvb"
    service.export_bundle(pair.village, pair.worker, first)
    service.import_bundles(pair.county, pair.coordinator, [first])
    hid = next(pair.village.iter_households()).id
    for ws, user, value in ((pair.village, pair.worker, "13900000001"), (pair.county, pair.coordinator, "13900000002")):
        hh = ws.load_household(hid)
        hh.fields["phone"] = value
        ws.save_household(hh, user)
    second = tmp_path / "b2.pvb"
    service.export_bundle(pair.village, pair.worker, second)
    service.import_bundles(pair.county, pair.coordinator, [second])
    # An administrator may manage keys but not resolve: refused in a dialog, nothing changed.
    admin = pair.county.authenticate("admin", PW)
    county = open_centre(qtbot, pair.county, admin)
    county.tabs.setCurrentIndex(3)
    county.conflicts_table.selectRow(0)
    qtbot.mouseClick(county.take_local, LEFT)
    assert warnings and ("may not" in warnings[-1] or "无权" in warnings[-1])
    assert len(service.list_conflicts(pair.county)) == 1
    county.close()
    county = open_centre(qtbot, pair.county, pair.coordinator)
    county.tabs.setCurrentIndex(3)
    county.conflicts_table.selectRow(0)
    county.value_edit.setFocus()
    qtbot.keyClicks(county.value_edit, "13900000003")
    QTest.keyClick(county.value_edit, Qt.Key.Key_Return)
    assert pair.county.load_household(hid).fields["phone"] == "13900000003"  # stays text, as the field holds it


def test_truncated_bundle_is_refused_with_its_reason_and_changes_nothing(
        qtbot: Any, pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warnings: list[str]) -> None:
    good = tmp_path / "good.pvb"
    service.export_bundle(pair.village, pair.worker, good)
    bad = tmp_path / "cut.pvb"
    bad.write_bytes(good.read_bytes()[:200])
    audit_before = len(pair.county.audit_entries(limit=10000))
    county = open_centre(qtbot, pair.county, pair.coordinator)
    choose_files(monkeypatch, [good, bad])
    said = click_import(qtbot, county)
    assert "cut.pvb: cannot be read: the bundle is incomplete" in said
    rows = {county.report_table.item(r, 0).text(): r for r in range(county.report_table.rowCount())}
    assert county.report_table.item(rows["cut.pvb"], 1).text() == "refused"
    assert "cut short" in county.report_table.item(rows["cut.pvb"], 7).text()
    assert county.report_table.item(rows["good.pvb"], 1).text() == "not imported"
    assert "Nothing was imported" in county.import_summary.text()
    assert pair.county.count_households() == 0
    assert len(pair.county.audit_entries(limit=10000)) == audit_before
    assert service.status(pair.county).peers[0].received_up_to == 0
    assert not warnings  # a refusal is part of the report, not an error dialog


def test_enrol_a_device_after_confirming_its_fingerprint(qtbot: Any, pair: Pair, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch, warnings: list[str]) -> None:
    other, _ = make_workspace(tmp_path / "other.db", "522634100202", "village", "w2", "village_worker")
    key = tmp_path / "other.povkey"
    service.export_key_file(other, key)
    shown: list[str] = []

    def question(_parent: Any, _title: str, text: str, *_a: Any) -> QMessageBox.StandardButton:
        shown.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(key), "")))
    # A coordinator may not trust keys' holders in a village role: the village worker is refused first.
    worker_centre = open_centre(qtbot, pair.village, pair.worker)
    qtbot.mouseClick(worker_centre.trust_button, LEFT)
    assert warnings and ("may not" in warnings[-1] or "无权" in warnings[-1]) and not shown
    county = open_centre(qtbot, pair.county, pair.coordinator)
    qtbot.mouseClick(county.trust_button, LEFT)
    assert shown and service.my_fingerprint(other) in shown[0]
    assert county.peers_table.rowCount() == 2
    assert county.to_combo.count() == 2
    other.close()


def test_sync_menu_opens_the_centre(qtbot: Any, pair: Pair, tmp_path: Path) -> None:
    from povdesk.ui.main_window import MainWindow

    window = MainWindow(pair.village, pair.worker, data_dir=tmp_path, lang="en")
    qtbot.addWidget(window)
    install_sync_menu(window)
    activate(qtbot, window)
    QTest.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.sync_centre.isVisible()
    assert window.sync_centre.fingerprint_label.text() == service.my_fingerprint(pair.village)
    if window.scan_job is not None:
        qtbot.waitUntil(lambda: window.scan_job is None, timeout=20000)
    window.sync_centre.close()


def test_parse_entered_keeps_the_kind_of_value() -> None:
    assert parse_entered("13900000003", "13900000001") == "13900000003"
    assert parse_entered("1200", 1000) == 1200
    assert parse_entered("12.5", 10.0) == 12.5
    assert parse_entered("", "x") is None
    assert parse_entered('["01", "02"]', ["01"]) == ["01", "02"]


def test_a_cancelled_import_writes_nothing(pair: Pair, tmp_path: Path) -> None:
    from povdesk.ui.sync_centre import import_job
    from povdesk.ui.worker import JobCancelled

    bundle = tmp_path / "b1.pvb"
    service.export_bundle(pair.village, pair.worker, bundle)
    job = import_job(pair.county.path, pair.coordinator, [bundle])
    with pytest.raises(JobCancelled):
        job(lambda _d, _t: None, lambda: True)
    assert pair.county.count_households() == 0
    outcome = job(lambda _d, _t: None, lambda: False)
    assert outcome.refused is None and outcome.bundles[0].summary().applied == HOUSEHOLDS


# ---------------------------------------------------------------------------------------------
# Online, through a real relay process


@pytest.fixture
def online(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Relay, County]]:
    monkeypatch.setenv("POVDESK_LANG", "en")
    c = make_county(tmp_path, households=6)
    relay = Relay(f"sqlite:///{tmp_path / 'relay.db'}", tmp_path / "relay-key.pem", tmp_path / "relay.log").start()
    load_devices(relay, c)
    yield relay, c
    relay.stop()
    c.close()


def states(centre: SyncCentre) -> list[str]:
    t = centre.outbox_table
    return [t.item(r, 3).text() for r in range(t.rowCount())]


def click_and_wait(qtbot: Any, centre: SyncCentre, button: Any) -> None:
    qtbot.mouseClick(button, LEFT)
    qtbot.waitUntil(lambda: centre.relay_job is None, timeout=30000)


def test_the_online_exchange_in_the_sync_centre(qtbot: Any, online: tuple[Relay, County],
                                                warnings: list[str]) -> None:
    relay, c = online
    fp = relay.fingerprint()
    # The relay is set from the window: address and fingerprint typed, the fingerprint checked.
    for site in (c.county, c.villages[0]):
        admin = open_centre(qtbot, site.ws, site.admin)
        admin.tabs.setCurrentIndex(4)
        assert "No relay is set" in admin.relay_label.text() and not admin.upload_button.isEnabled()
        qtbot.keyClicks(admin.relay_url_edit, relay.url)
        qtbot.keyClicks(admin.relay_fp_edit, fp)
        click_and_wait(qtbot, admin, admin.connect_button)
        assert fp in admin.relay_label.text() and admin.upload_button.isEnabled()
        admin.close()
    exchange.connect(c.villages[1].ws, c.villages[1].admin, relay.url, fp)

    village = open_centre(qtbot, c.villages[0].ws, c.villages[0].user)
    village.tabs.setCurrentIndex(4)
    click_and_wait(qtbot, village, village.upload_button)
    assert states(village) == ["at the relay"] and "1 bundles uploaded, 0 refused." in village.relay_summary.text()
    # The second village's laptop uploads by itself, in the background.
    uploader = RelayUploader(c.villages[1].ws, c.villages[1].user)
    with qtbot.waitSignal(uploader.round_done, timeout=30000) as got:
        uploader.wake()
    assert got.args[0].uploaded == 1 and uploader.failures == 0

    county = open_centre(qtbot, c.county.ws, c.county.user)
    county.tabs.setCurrentIndex(4)
    changed: list[bool] = []
    county.changed.connect(lambda: changed.append(True))
    click_and_wait(qtbot, county, county.fetch_button)
    assert county.last_fetch is not None and len(county.last_fetch.fetched) == 2 and changed
    assert "Fetched 2 bundles." in county.relay_summary.text()
    assert county.report_table.rowCount() == 2  # the same report as an import from files
    assert c.county.ws.count_households() == sum(r.summary().inserted for r in county.last_fetch.reports) > 0
    click_and_wait(qtbot, county, county.upload_button)  # the return bundles go up
    assert county.last_upload is not None and county.last_upload.uploaded >= 2
    assert set(states(county)) == {"at the relay"}

    click_and_wait(qtbot, village, village.fetch_button)
    assert village.last_fetch is not None and len(village.last_fetch.fetched) == 1
    assert states(village) == ["received by the county"]
    village.tabs.setCurrentIndex(2)
    assert "Everything has reached the county." in village.status_summary.text()
    assert not warnings


def test_the_background_uploader_waits_for_the_relay_and_loses_nothing(qtbot: Any, online: tuple[Relay, County],
                                                                       warnings: list[str]) -> None:
    relay, c = online
    v = c.villages[2]
    exchange.connect(v.ws, v.admin, relay.url, relay.fingerprint())
    relay.stop()
    uploader = RelayUploader(v.ws, v.user)
    with qtbot.waitSignal(uploader.round_done, timeout=30000) as got:
        uploader.wake()
    report = got.args[0]
    assert report.error is not None and "cannot reach the relay" in report.error.en
    assert uploader.failures == 1 and exchange.outbox_items(v.ws) == []  # not even exported while offline
    hh = next(v.ws.iter_households())  # the laptop works on
    hh.fields["address"] = "离线时改的地址"
    v.ws.save_household(hh, v.user)
    relay.start(same_port=True)
    with qtbot.waitSignal(uploader.round_done, timeout=30000) as got:
        uploader.wake()
    assert got.args[0].uploaded == 1 and uploader.failures == 0
    assert [i.state for i in exchange.outbox_items(v.ws)] == ["at_relay"]
    assert not warnings


def test_the_uploader_backs_off_with_jitter(qtbot: Any, pair: Pair) -> None:
    import random

    uploader = RelayUploader(pair.village, pair.worker, rng=random.Random(7))
    assert uploader.EVERY // 2 <= uploader.next_delay() <= uploader.EVERY * 3 // 2
    seen = []
    for failures in range(1, 12):
        uploader.failures = failures
        base = min(uploader.RETRY_MAX, uploader.RETRY_FIRST * 2 ** (failures - 1))
        delay = uploader.next_delay()
        assert base // 2 <= delay <= base * 3 // 2
        seen.append(delay)
    assert len(set(seen)) == len(seen)  # jittered
    assert uploader.wake() is None  # no relay set: nothing to do, nothing waits


def test_the_county_revokes_a_device_and_exports_the_device_list(qtbot: Any, pair: Pair, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 warnings: list[str]) -> None:
    """A stolen village laptop, from the Device keys tab: select it, revoke it with a reason, and
    write the signed device list that the relay machine loads, which marks it revoked."""
    from povdesk.relay import signing

    admin = pair.county.authenticate("admin", PW)
    centre = open_centre(qtbot, pair.county, admin)
    list_file = tmp_path / "devices.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(list_file), "")))
    asked: list[str] = []

    def get_text(_parent: Any, _title: str, label: str, *_a: Any, **_k: Any) -> tuple[str, bool]:
        asked.append(label)
        return "笔记本电脑被盗", True

    monkeypatch.setattr(QInputDialog, "getText", staticmethod(get_text))
    qtbot.mouseClick(centre.revoke_button, LEFT)  # nothing selected yet: it says so, revokes nothing
    assert not asked and pair.county.sync_peer(pair.village.device_id).active
    rect = centre.peers_table.visualItemRect(centre.peers_table.item(0, 0))
    qtbot.mouseClick(centre.peers_table.viewport(), LEFT, pos=rect.center())
    qtbot.mouseClick(centre.revoke_button, LEFT)
    assert asked and pair.village.region_code in asked[0]
    assert not pair.county.sync_peer(pair.village.device_id).active
    assert "inactive" in centre.peers_table.item(0, 1).text()
    qtbot.mouseClick(centre.device_list_button, LEFT)
    listed = signing.read_device_list(list_file.read_bytes())  # signed by the county, as the relay checks it
    (device,) = listed.devices
    assert device.device_id == pair.village.device_id and device.revoked
    assert not warnings


def test_clashing_steps_in_the_conflicts_tab(qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            warnings: list[str]) -> None:
    """Both sides' steps side by side, as steps; the county keeps one side with a click; the
    village sees the clash waiting on the county and cannot decide it."""
    from povdesk.ops.procedures import record_step

    monkeypatch.setenv("POVDESK_LANG", "en")
    from datetime import date

    from povdesk.clock import FixedClock

    p = make_pair(tmp_path, 20, register=True)
    for side in ("village", "county"):  # on a fixed day: ages must not cross the rules' thresholds
        ws = getattr(p, side)
        ws.close()
        setattr(p, side, Workspace.open(ws.path, clock=FixedClock(date(2026, 6, 1))))
    hh = ready_to_propose_exit(p.village)
    day = p.village.clock.today().isoformat()
    record_step(p.village, p.worker, hh, "exit", "proposal", date=day, evidence={"reason": "收入稳定"})
    town = p.county.add_user(p.county.authenticate("admin", PW), "town", PW, "township_official")
    record_step(p.county, town, p.county.load_household(hh.id), "exit", "proposal", date=day,
                evidence={"reason": "乡镇核查"})
    service.export_bundle(p.village, p.worker, tmp_path / "up.pvb")
    service.import_bundles(p.county, p.coordinator, [tmp_path / "up.pvb"])
    service.export_bundle(p.county, p.coordinator, tmp_path / "down.pvb")
    service.import_bundles(p.village, p.worker, [tmp_path / "down.pvb"])

    village = open_centre(qtbot, p.village, p.worker)
    village.tabs.setCurrentIndex(3)
    assert "Procedure steps" in village.conflict_title.text()
    assert not village.take_local.isEnabled() and not village.take_remote.isEnabled()
    assert "the county decides" in village.base_value.text()

    county = open_centre(qtbot, p.county, p.coordinator)
    county.tabs.setCurrentIndex(3)
    assert county.conflicts_table.item(0, 2).text() == "Procedure steps"
    assert "Exit" in county.local_value.text() and "town" in county.local_value.text()
    assert "worker" in county.remote_value.text() and "{" not in county.remote_value.text()
    assert county.take_remote.text() == "Keep the other side's steps" and county.value_edit.isHidden()
    qtbot.mouseClick(county.take_remote, LEFT)
    assert service.list_conflicts(p.county) == [] and county.conflicts_table.rowCount() == 0
    marks = [e for e in p.county.load_household(hh.id).events if e.procedure == "void"]
    assert len(marks) == 1 and marks[0].user == "county"
    assert not warnings
    p.village.close()
    p.county.close()
