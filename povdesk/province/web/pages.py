"""The dashboard's pages as HTML, made on the server: charts are inline SVG (bars, each named and
counted), tables are tables; no script at all, so an office without internet sees everything."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any
from urllib.parse import quote

from povdesk.core.idnumber import mask
from povdesk.core.model import STATUSES
from povdesk.province import db as pdb
from povdesk.province.web.figures import LEVEL_ZH, Place, RegionView
from povdesk.reports.report import YEAR_LABELS, Table, _breakdown, status_label

ROLE_ZH = {"province": "省级", "city": "市（州）级"}
RULE_ZH = {pdb.DUP_RULE: "同一身份证号登记在两个县",
           pdb.DUP_NAME_RULE: "同一市州内姓名、性别、出生日期相同而身份证号不同"}
CHILD_ZH = {"province": "各市（州）", "prefecture": "各县（市、区）", "county": "各乡镇", "township": "各村"}
NUM, TOTAL = ' class="num"', ' class="total"'
TABS = (("", "概况"), ("counties", "各县比较"), ("flags", "重复登记标记"))


def e(value: object) -> str:
    return escape(str(value), quote=True)


def n(value: int) -> str:
    return f"{value:,}"


def page(title: str, body: str, *, user: Any = None, province: str = "") -> str:
    who = ""
    if user is not None:
        scope = ROLE_ZH.get(user.role, user.role)
        who = (f'<div class="who"><span class="user">{e(user.name)}（{e(scope)}，{e(user.region)}）</span>'
               '<form method="post" action="/logout"><button type="submit" class="link">退出</button></form></div>')
    return ("<!doctype html>\n"
            '<html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)} · 扶贫对象数据看板</title>"
            '<link rel="stylesheet" href="/static/dashboard.css"></head><body>'
            f'<header class="top"><a class="brand" href="/">扶贫对象数据看板{(" · " + e(province)) if province else ""}'
            f"</a><span class=\"note\">只读</span>{who}</header>{body}</body></html>")


def login_page(message: str | None = None, name: str = "") -> str:
    error = f'<p class="error" role="alert">{e(message)}</p>' if message else ""
    body = ('<main class="login"><h1>登录</h1>'
            '<p class="hint">省级、市（州）级工作人员用 povdesk province user add 建的账户登录。</p>'
            f"{error}"
            '<form method="post" action="/login" class="login-form">'
            f'<label>用户名<input name="name" id="name" autocomplete="username" required value="{e(name)}"></label>'
            '<label>密码<input name="password" id="password" type="password" autocomplete="current-password" '
            "required></label>"
            '<button type="submit" id="login">登录</button></form></main>')
    return page("登录", body)


def message_page(title: str, text: str, *, user: Any = None, province: str = "") -> str:
    return page(title, f'<main class="message"><h1>{e(title)}</h1><p>{e(text)}</p>'
                       '<p><a href="/">回到首页</a></p></main>', user=user, province=province)


# ---------------------------------------------------------------------------------------------
# Charts


def _text_width(text: str, size: float) -> float:
    """About how wide a line of text is drawn (a Chinese character is one em, Latin about half)."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.58 for ch in text)


def bar_chart(title: str, rows: Sequence[tuple[str, int, int]], chart_id: str, width: int = 500) -> str:
    """Horizontal bars, one per category in the order given, each named on the left with its
    households and people at its end; the bar is the households."""
    size, row_h, pad = 13.0, 26, 8
    label_w = max([_text_width(label, size) for label, _h, _p in rows] + [40]) + 12
    value_w = max([_text_width(f"{n(h)} 户 · {n(p)} 人", size) for _l, h, p in rows] + [60]) + 10
    bar_max = max(60.0, width - label_w - value_w - pad)
    top = max([h for _l, h, _p in rows] + [0])
    height = pad * 2 + row_h * max(1, len(rows))
    parts = [f'<figure class="chart" id="{e(chart_id)}"><figcaption>{e(title)}</figcaption>'
             f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{e(title)}" '
             'xmlns="http://www.w3.org/2000/svg">']
    for i, (label, hh, people) in enumerate(rows):
        y = pad + i * row_h
        w = bar_max * hh / top if top else 0.0
        mid = y + row_h / 2
        parts.append(f'<g class="bar" data-label="{e(label)}" data-households="{hh}" data-people="{people}">'
                     f'<text class="label" x="{label_w - 8:.0f}" y="{mid + 4.5:.1f}" text-anchor="end" '
                     f'font-size="{size:g}">{e(label)}</text>'
                     f'<rect x="{label_w:.0f}" y="{y + 4}" width="{max(w, 1.0 if hh else 0.0):.1f}" '
                     f'height="{row_h - 8}" rx="2"></rect>'
                     f'<text class="value" x="{label_w + w + 6:.1f}" y="{mid + 4.5:.1f}" font-size="{size:g}">'
                     f"{n(hh)} 户 · {n(people)} 人</text></g>")
    parts.append("</svg></figure>")
    return "".join(parts)


def charts(view: RegionView) -> str:
    s = view.summary
    status = [(status_label(st), s.by_status.get(st, 0), s.people_by_status.get(st, 0)) for st in STATUSES]
    status += [(st, s.by_status[st], s.people_by_status.get(st, 0)) for st in sorted(set(s.by_status) - set(STATUSES))]
    attribute = _breakdown(s.by_attribute, s.people_by_attribute, "hh_attribute")
    # The causes, the longest list, most frequent first (as on the desktop dashboard).
    causes = sorted(_breakdown(s.by_main_cause, s.people_by_main_cause, "poverty_cause"), key=lambda r: -r[1])
    return ('<section class="charts">'
            + bar_chart("按状态", status, "chart-status")
            + bar_chart("按贫困户属性", attribute, "chart-attribute")
            + bar_chart("按主要致贫原因", causes, "chart-cause", 820)
            + "</section>")


# ---------------------------------------------------------------------------------------------
# Region pages


def region_url(code: str, tab: str = "", year: int | None = None) -> str:
    url = f"/region/{quote(code)}" + (f"/{tab}" if tab else "")
    return url + (f"?year={year}" if year is not None else "")


def _tree(view: RegionView, year_q: int | None) -> str:
    """The province at the top, each region of the path opened on its children."""
    path_codes = {p.code for p in view.path}

    def item(place: Place, depth: int) -> str:
        here = " here" if place.code == view.place.code else ""
        link = (f'<a class="node{here}" href="{e(region_url(place.code, year=year_q))}" data-code="{e(place.code)}">'
                f'{e(place.name or LEVEL_ZH[place.level])}<span class="code">{e(place.code)}</span></a>')
        inner = ""
        if place.code in path_codes and depth < len(view.tree):
            kids = view.tree[depth][1]
            if kids:
                inner = "<ul>" + "".join(item(k, depth + 1) for k in kids) + "</ul>"
        return f"<li>{link}{inner}</li>"

    root = view.tree[0][0]
    return f'<nav class="tree" aria-label="地区"><ul>{item(root, 0)}</ul></nav>'


def _crumbs(view: RegionView, tab: str, year_q: int | None) -> str:
    links = [f'<a href="{e(region_url(p.code, tab, year_q))}">{e(p.name or p.code)}</a>' for p in view.path[:-1]]
    return '<p class="crumbs">' + " › ".join([*links, f"<span>{e(view.place.name or view.place.code)}</span>"]) + "</p>"


def _tabs(view: RegionView, tab: str, year_q: int | None) -> str:
    out = []
    for key, label in TABS:
        cls = ' class="on"' if key == tab else ""
        out.append(f'<a{cls} id="tab-{key or "overview"}" href="{e(region_url(view.place.code, key, year_q))}">'
                   f"{e(label)}</a>")
    return '<nav class="tabs">' + "".join(out) + "</nav>"


def _table(t: Table, table_id: str, *, link_codes: bool = False, year_q: int | None = None,
           numeric_from: int | None = None) -> str:
    start = t.key_columns if numeric_from is None else numeric_from
    head = "".join(f"<th{NUM if i >= start else ''}>{e(h)}</th>" for i, h in enumerate(t.header))
    body = []
    for j, row in enumerate(t.rows):
        total = t.total and j == len(t.rows) - 1
        cells = []
        for i, v in enumerate(row):
            text = n(v) if isinstance(v, int) and not isinstance(v, bool) else str(v)
            if i == 0 and link_codes and v and not total:
                text = f'<a href="{e(region_url(str(v), year=year_q))}">{e(text)}</a>'
            else:
                text = e(text)
            cells.append(f"<td{NUM if i >= start else ''}>{text}</td>")
        body.append(f"<tr{TOTAL if total else ''}>{''.join(cells)}</tr>")
    return (f'<div class="scroll"><table id="{e(table_id)}" class="grid"><caption>{e(t.title)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def _children_table(view: RegionView, year_q: int | None) -> str:
    if not view.children:
        return ""
    kind = LEVEL_ZH[view.children[0].place.level]
    header = [f"{kind}代码", kind, "户数", "人数", *[status_label(st) for st in STATUSES],
              *[f"{view.year}年{label}" for label in YEAR_LABELS.values()]]
    rows: list[list[Any]] = []
    for c in view.children:
        r = c.counts
        rows.append([c.place.code, c.place.name, r.households, r.people, *[r.by_status.get(st, 0) for st in STATUSES],
                     *[r.in_year.get(k, 0) for k in YEAR_LABELS]])
    s = view.summary
    rows.append(["", "合计", s.households, s.people, *[s.by_status.get(st, 0) for st in STATUSES],
                 *[view.in_year.get(k, 0) for k in YEAR_LABELS]])
    title = CHILD_ZH.get(view.place.level, "下级")
    return _table(Table(title, header, rows, key_columns=2), "children", link_codes=True, year_q=year_q)


def _frame(view: RegionView, tab: str, inner: str, year_q: int | None) -> str:
    level = LEVEL_ZH[view.place.level]
    heading = (f'<h1><span class="level">{e(level)}</span>{e(view.place.name or view.place.code)}'
               f'<span class="code">{e(view.place.code)}</span></h1>')
    return (f'<div class="layout">{_tree(view, year_q)}<main class="region" data-code="{e(view.place.code)}">'
            f"{_crumbs(view, tab, year_q)}{heading}{_tabs(view, tab, year_q)}{inner}</main></div>")


def _year_form(view: RegionView, tab: str) -> str:
    return (f'<form class="year" method="get" action="{e(region_url(view.place.code, tab))}">'
            f'<label>年度 <input name="year" type="number" min="2014" max="2100" value="{view.year}"></label>'
            '<button type="submit">查看</button></form>')


def overview_page(view: RegionView, user: Any, province: str, year_q: int | None) -> str:
    s = view.summary
    facts = [("户数", n(s.households)), ("人数", n(s.people))]
    facts += [(f"{view.year}年{label}", f"{n(view.in_year.get(k, 0))} 户") for k, label in YEAR_LABELS.items()]
    cards = "".join(f'<div class="fact"><span>{e(k)}</span><strong>{e(v)}</strong></div>' for k, v in facts)
    inner = (f'<section class="facts" id="facts">{cards}{_year_form(view, "")}</section>'
             f"{charts(view)}{_children_table(view, year_q)}")
    return page(view.place.name or view.place.code, _frame(view, "", inner, year_q), user=user, province=province)


def counties_page(view: RegionView, user: Any, province: str, year_q: int | None) -> str:
    if view.quality is None:
        inner = '<p class="empty">各县比较在县级及以上的页面上：请回到所在的县。</p>'
    else:
        inner = ('<p class="hint">问题户：载入时发现缺贫困户属性、缺主要致贫原因、成员缺身份证号、身份证号与出生日期或性别不符、'
                 "户主不是一人，或有跨县重复登记标记的户；问题户占比最小的县排第 1。</p>"
                 + _table(view.quality, "quality", link_codes=True, year_q=year_q, numeric_from=2))
    return page(f"{view.place.name or view.place.code} 各县比较", _frame(view, "counties", inner, year_q), user=user,
                province=province)


def flags_page(view: RegionView, total: int, rows: Iterable[dict[str, Any]], user: Any, province: str,
               year_q: int | None) -> str:
    rows = list(rows)
    head = ["县代码", "户编号", "村", "姓名", "身份证号", "标记", "另一县", "另一户编号", "另一户的姓名", "发现时间"]
    body = []
    for f in rows:
        body.append("<tr>" + "".join(f"<td>{e(v)}</td>" for v in (
            f["county_code"], f["household_no"], f["village_code"], f["name"], mask(f["id_number"]),
            RULE_ZH.get(f["rule"], f["rule"]), f["other_county"], f["other_household_no"], f["other_name"],
            str(f["created_at"])[:10])) + "</tr>")
    shown = f"，列出前 {n(len(rows))} 条" if total > len(rows) else ""
    if total:
        inner = (f'<p class="hint" id="flag-count">共 {n(total)} 条标记{shown}（每个可能重复登记的人在两个县各有一条，'
                 "随回传包下发给两个县核实）。身份证号已遮盖。</p>"
                 f'<div class="scroll"><table id="flags" class="grid"><thead><tr>'
                 f'{"".join(f"<th>{e(h)}</th>" for h in head)}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')
    else:
        inner = '<p class="empty" id="flag-count">这里没有跨县重复登记的标记。</p>'
    return page(f"{view.place.name or view.place.code} 重复登记标记", _frame(view, "flags", inner, year_q), user=user,
                province=province)
