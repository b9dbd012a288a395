"""Cards and publicity lists as a township official prints them, read back with poppler and zbar."""

from __future__ import annotations

from copy import deepcopy
from datetime import date, timedelta
from pathlib import Path

from povdesk.core.demo import DEMO_PASSWORD
from povdesk.core.idnumber import mask
from povdesk.core.model import Household, ProcedureEvent
from povdesk.core.procedures import load_procedures
from povdesk.reports.display import code_label
from povdesk.reports.pdf import missing_chars, text_width, wrap
from povdesk.reports.publicity import (
    PublicityOptions,
    at_step,
    exit_income,
    masked_id,
    publicity_steps,
    render_publicity,
)
from povdesk.store import Workspace

from .conftest import Run, outline, pdffonts, pdfpages, pdftext, qr_codes

RARE = "\U00020000"  # 𠀀, CJK Extension B: not in the bundled font


def households(db: Path) -> list:
    ws = Workspace.open(db, readonly=True)
    try:
        return list(ws.iter_households())
    finally:
        ws.close()


def test_wrap_fits_and_keeps_closing_punctuation_off_line_starts() -> None:
    text = "石语嫣（新生儿）义务教育“两免一补”及营养改善计划，劳动力转移就业培训补贴 ABCDEFGHIJ 12345"
    for width in (30, 45, 60, 90, 200):
        lines = wrap(text, width, 9)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        for line in lines:
            assert text_width(line, 9) <= width + 9.5  # one carried character at most
            assert not line.startswith(("）", "，", "。", "、"))
    assert missing_chars("王" + RARE + "华") == [RARE]
    assert missing_chars("龙䶮 Zhang") == []  # Extension A is covered


def test_village_cards_one_pdf_font_embedded_bookmarks_qr(db: Path, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "cards.pdf"
    code, stdout, err = run("cards", db, "-o", out, "--village", "522634100201")
    assert code == 0, err
    hhs = households(db)
    assert f"wrote {len(hhs)} household cards" in stdout
    fonts = [line for line in pdffonts(out) if "NotoSansSC" in line]
    assert fonts and all(" yes yes " in line for line in fonts), fonts  # emb yes sub yes
    text = pdftext(out)
    for hh in hhs[:10]:
        assert hh.household_no in text and hh.head_name in text
        for m in hh.members:
            assert m.name in text
    for label in ("家庭基本情况", "生产生活条件", "家庭成员", "致贫原因", "家庭收入", "帮扶责任人", "帮扶措施",
                  "办理记录", "12317", "户主签字"):
        assert label in text, label
    pages = pdfpages(out)
    assert f"第 1 页 共 {pages} 页" in text and f"第 {pages} 页 共 {pages} 页" in text
    marks = outline(out)
    assert [t for _, t in marks] == [f"{h.household_no} {h.head_name}".strip() for h in hhs]
    assert marks[0][0] == 1 and all(a < b for (a, _), (b, _) in zip(marks, marks[1:], strict=False))
    first = hhs[0]
    assert qr_codes(out, 1, tmp_path) == [f"povdesk:household:{first.id}:{first.household_no}"]
    second_page = marks[1][0]
    assert qr_codes(out, second_page, tmp_path) == [f"povdesk:household:{hhs[1].id}:{hhs[1].household_no}"]


def test_card_of_one_household_shows_ids_health_labels_not_codes(db: Path, run: Run, tmp_path: Path) -> None:
    hh = next(h for h in households(db) if h.head and any(m.fields.get("health") == "4" for m in h.members))
    out = tmp_path / "one.pdf"
    code, _, err = run("cards", db, "-o", out, "--household", hh.household_no)
    assert code == 0, err
    text = pdftext(out)
    assert all(m.id_number in text for m in hh.members)  # the household's own card: full numbers
    assert "残疾" in text
    assert hh.fields["bank_account"] not in text and hh.fields["bank_account"][-4:] in text
    assert "贫困户属性" in text and ("一般贫困户" in text or "低保贫困户" in text or "特困供养贫困户" in text)
    assert [t for _, t in outline(out)] == [f"{hh.household_no} {hh.head_name}"]
    code, _, err = run("cards", db, "-o", tmp_path / "x.pdf", "--household", hh.id)  # by id too
    assert code == 0, err


def test_name_the_font_cannot_draw_is_reported_never_blank(db: Path, run: Run, tmp_path: Path) -> None:
    ws = Workspace.open(db)
    try:
        worker = ws.authenticate("worker", DEMO_PASSWORD)
        hh = next(iter(ws.iter_households()))
        head = hh.head
        assert head is not None
        head.fields["name"] = "王" + RARE
        ws.save_household(hh, worker)
    finally:
        ws.close()
    out = tmp_path / "rare.pdf"
    code, stdout, _ = run("cards", db, "-o", out, "--household", hh.household_no)
    assert code == 1
    warnings = [line for line in stdout.splitlines() if line.startswith("warning")]
    assert warnings and hh.household_no in warnings[0] and "U+20000" in warnings[0]
    assert out.exists()  # the rest of the card prints; the name is marked to be written in by hand
    assert "王〓" in pdftext(out)


def test_cards_refuse_an_unknown_household_and_write_nothing(db: Path, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "none.pdf"
    code, _, err = run("cards", db, "-o", out, "--household", "no-such-household")
    assert code == 2 and "no-such-household" in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_publicity_list_masks_ids_and_leaves_out_health_and_bank(db: Path, run: Run, tmp_path: Path) -> None:
    hhs = households(db)
    steps = publicity_steps()
    assert {"identification.first_publicity", "identification.second_publicity", "identification.announcement",
            "exit.publicity", "exit.county_announcement", "removal.publicity"} <= set(steps)
    key, listed = next((k, [h for h in hhs if at_step(h, s)]) for k, s in steps.items()
                       if any(at_step(h, s) for h in hhs))
    out = tmp_path / "pub.pdf"
    code, stdout, err = run("publicity", db, "--step", key, "-o", out, "--start", "2026-03-02",
                            "--township", "丹江镇", "--contact", "李明 0855-3331234")
    assert code == 0, err
    assert f"{len(listed)} households" in stdout
    text = pdftext(out)
    for hh in listed:
        head = hh.head
        assert head is not None and head.name in text
        assert mask(head.id_number) in text
    for hh in hhs:
        for m in hh.members:
            assert m.id_number not in text
        if hh.fields.get("bank_account"):
            assert hh.fields["bank_account"] not in text
    for word in ("健康", "残疾", "患病", "大病", "银行", "账号"):
        assert word not in text, word
    start, end = date(2026, 3, 2), date(2026, 3, 2) + timedelta(days=6)
    assert f"{start:%Y年%m月%d日}" in text and f"{end:%Y年%m月%d日}" in text
    for needed in ("12317", "村民委员会", "驻村工作队", "丹江镇人民政府", "0855-3331234", steps[key].zh):
        assert needed in text, needed
    fonts = [line for line in pdffonts(out) if "NotoSansSC" in line]
    assert fonts and all(" yes yes " in line for line in fonts)


def test_publicity_refuses_bad_steps_periods_and_empty_lists(db: Path, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "p.pdf"
    code, _, err = run("publicity", db, "--step", "identification.appraisal", "-o", out)
    assert code == 2 and "identification.first_publicity" in err
    code, _, err = run("publicity", db, "--step", "identification.first_publicity", "-o", out,
                       "--start", "2026-03-02", "--end", "2026-03-05")
    assert code == 2 and "7 days" in err
    # The demo has a household at every step, so an empty list is one after that household's step is taken.
    hh = next(h for h in households(db) if at_step(h, publicity_steps()["identification.first_publicity"]))
    last = max(date.fromisoformat(e.date) for e in hh.events)
    start, end = last + timedelta(days=1), last + timedelta(days=7)
    code, _, err = run("step", db, hh.household_no, "identification", "first_publicity", "--date",
                       (end + timedelta(days=1)).isoformat(), "--set", f"start_date={start}", "--set", f"end_date={end}",
                       "--set", "objections=0", "--set", "objections_resolved=0", "--set", "posted_at=村委会公示栏")
    assert code == 0, err
    code, _, err = run("publicity", db, "--step", "identification.first_publicity", "-o", out)
    assert code == 2 and "no household" in err
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_a_voided_step_is_marked_on_the_card_read_back(db: Path, run: Run, tmp_path: Path) -> None:
    """The card keeps a voided step in its history, marked 已作废 with the reason."""
    hh = next(h for h in households(db) if h.events and h.events[-1].role == "village_worker"
              and h.events[-1].procedure != "void")
    last = hh.events[-1]
    code, _, err = run("step", "void", db, hh.id, last.id, "--reason", "日期登记错了")
    assert code == 0, err
    out = tmp_path / "card.pdf"
    code, _, err = run("cards", db, "-o", out, "--household", hh.id)
    assert code == 0, err
    text = pdftext(out).replace(" ", "")
    assert "〔已作废：日期登记错了〕" in text, text


# ------------------------------------------------------------------ what a public list may print

HEALTH_AND_CAUSES = ("因病", "因残", "健康", "长期慢性病", "患有大病", "残疾", "肢体残疾", "三级", "致贫原因", "返贫风险", "因意外事故",
                     "联系电话", "开户银行", "银行", "账号", "农村信用合作联社", "情况说明", "骨折住院")
GROUPS = ("十组", "二组", "", "一组", "第十一组")  # listed as 一组, 二组, 十组, 第十一组, then no group


def _plant(hh: Household, n: int) -> Household:
    """A household full of what a public list must never print: a disability certificate's number
    (the ID and then category 4, grade 3) for the head, illness and disability for everyone, phones,
    a bank account, causes and monitoring risks that read 因病 and 因残."""
    hh = deepcopy(hh)
    hh.fields.update(phone=f"139{n:08d}", bank_name="农村信用合作联社", bank_account=f"62170{n:014d}",
                     main_cause="01", other_causes=["02"], monitoring_type="0", monitoring_risks=["01", "03"],
                     group=GROUPS[n % len(GROUPS)])
    for m in hh.members:
        m.fields.update(health="4", disability_type="4", disability_grade="3", phone=f"137{n:08d}")
    head = hh.head
    assert head is not None
    head.fields.update(id_type="2", id_number=head.id_number[:18] + "43")
    hh.helpers = [{"name": "帮扶人", "unit_name": "县卫健局", "phone": f"136{n:08d}"}]
    return hh


def _at(hh: Household, step_key: str, n: int) -> Household:
    """`hh` with the steps of `step_key`'s procedure before it taken (a removal for 09 and 01)."""
    procedure, step = step_key.split(".")
    spec = load_procedures()[procedure]
    for st in spec.steps[:spec.step(step).index]:  # type: ignore[union-attr]
        evidence: dict[str, object] = {}
        if st.kind == "appraisal":
            evidence = {"representatives_total": 20, "representatives_present": 18, "votes_for": 17,
                        "votes_against": 1}
        if (procedure, st.key) == ("removal", "proposal"):
            evidence = {"reason_codes": ["09", "01"], "explanation": "户主骨折住院"}
        hh.events.append(ProcedureEvent(procedure, st.key, "2026-05-01", "village_worker", "worker", evidence))
    return hh


def test_every_publicity_list_prints_its_allow_list_and_nothing_private(db: Path, tmp_path: Path) -> None:
    """Every publicity step's list, read back: group, head, masked ID, size, attribute and the step's own
    column (reasons of a removal, income of an exit), in group order; no health, disability, cause,
    phone or bank detail of anyone, and not the disability certificate's last digits."""
    base = [hh for hh in households(db) if hh.head is not None and exit_income(hh)][:len(GROUPS)]
    assert len(base) == len(GROUPS)
    for key, step in publicity_steps().items():
        listed = [_at(_plant(hh, n), key, n) for n, hh in enumerate(base)]
        assert all(at_step(h, step) for h in listed), key
        out = tmp_path / f"{key}.pdf"
        result = render_publicity(listed, step, out, PublicityOptions(date(2026, 6, 2), date(2026, 6, 8)))
        assert result.households == len(listed), key
        text = pdftext(out)
        table = text[text.index("序号"):text.index("公示期间")]
        header = table.splitlines()[0].split()
        expected = ["序号", "村民小组", "户主姓名", "户主证件号码", "家庭人口",
                    "监测对象类别" if step.procedure.startswith(("monitoring", "risk")) else "贫困户属性"]
        expected += {"removal": ["清退原因"], "exit": ["人均纯收入（元）"]}.get(step.procedure, [])
        assert header == expected, (key, header)
        rows = [cells for cells in (line.split() for line in table.splitlines()[1:]) if cells and cells[0].isdigit()]
        assert len(rows) == len(listed), (key, table)  # names and numbers never wrap (only a long reason)
        by_group = [r[2] if r[1:2] and not r[1].isdigit() and r[1] in GROUPS else r[1] for r in rows]
        assert by_group == [listed[i].head_name for i in (3, 1, 0, 4, 2)], (key, table)
        for hh in listed:
            head = hh.head
            assert head is not None
            assert masked_id(head.id_number) in text and mask(head.id_number) not in text, key
            for m in hh.members:
                assert m.id_number not in text and m.id_number[:18] not in text, key
                assert m.fields["phone"] not in text, key
            for value in (hh.fields["phone"], hh.fields["bank_account"], hh.helpers[0]["phone"]):
                assert value not in text, key
            if step.procedure == "exit":
                assert exit_income(hh) and exit_income(hh) in text, key
        for word in HEALTH_AND_CAUSES:
            assert word not in text, (key, word)
        if step.procedure == "removal":
            assert text.count(code_label("exclusion", "09").split("、")[0]) == len(listed), key
