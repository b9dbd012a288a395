"""`povdesk province serve`: the read-only dashboard as an ASGI app (Starlette, run by uvicorn).

    GET  /login, POST /login, POST /logout     sign in and out (a signed session cookie)
    GET  /                                      the user's own region
    GET  /region/{code}                         a region's counts and charts, its sub-regions
    GET  /region/{code}/counties                its counties compared, ranked by data quality
    GET  /region/{code}/flags                   its cross-county duplicate flags (ID numbers masked)
    GET  /static/…                              the style sheet and the Chinese font

A province user sees the province of the database; a city (市州) user sees only its prefecture:
any other region is refused with 403, whether or not the database holds it. A wrong name and a
wrong password get the same message after the same work (one scrypt either way). The session
cookie is signed (itsdangerous, with a key kept in the database), HttpOnly and SameSite=Strict,
and names the user and a tag of their password hash, so a new password or a removed user ends it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from povdesk.clock import SYSTEM_CLOCK, Clock
from povdesk.paths import resource
from povdesk.province.web import db as wdb
from povdesk.province.web import pages
from povdesk.province.web.figures import LEVEL_OF_LENGTH, Figures
from povdesk.store.users import check_password, hash_password

log = logging.getLogger(__name__)

COOKIE = "povdesk_dashboard"
SESSION_HOURS = 8
WRONG_LOGIN = "用户名或密码不正确"
TOO_MANY = "登录失败次数过多，请 {m} 分钟后再试"
MAX_FAILURES, FAILURE_WINDOW = 5, 300.0  # per user name, seconds
MAX_FORM = 4096
_DUMMY = hash_password("not a password of anyone")
STATIC = {"dashboard.css": ("web", "dashboard.css", "text/css; charset=utf-8"),
          "NotoSansSC-Regular.ttf": ("fonts", "NotoSansSC-Regular.ttf", "font/ttf")}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: with it a browser sends "Origin: null" on the login form, which same_origin refuses.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def hash_tag(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:16]


@dataclass
class Failures:
    """Recent failed logins per name (whether or not the name exists), to slow down guessing."""

    times: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def blocked_for(self, name: str) -> float:
        now = time.monotonic()
        with self.lock:
            recent = [t for t in self.times.get(name, []) if now - t < FAILURE_WINDOW]
            self.times[name] = recent
            return FAILURE_WINDOW - (now - recent[0]) if len(recent) >= MAX_FAILURES else 0.0

    def add(self, name: str) -> None:
        with self.lock:
            self.times.setdefault(name, []).append(time.monotonic())
            if len(self.times) > 10_000:  # a flood of made-up names does not grow without end
                self.times.pop(next(iter(self.times)))

    def clear(self, name: str) -> None:
        with self.lock:
            self.times.pop(name, None)


def allowed(user: wdb.WebUser, code: str) -> bool:
    """Whether the user may see a region: its own region and what lies under it."""
    return code.startswith(user.region)


def create_app(engine: Engine, *, clock: Clock | None = None, https_only: bool = False,
               check_seconds: float = 1.0, keep_warm: bool = True) -> Starlette:
    clock = clock or SYSTEM_CLOCK
    wdb.ensure_schema(engine)
    with engine.begin() as conn:
        key = wdb.session_key(conn)
    figures = Figures(engine, check_seconds)
    failures = Failures()

    def warm() -> None:
        """The province's figures for this year made again soon after each load, in the background,
        so the first page after it seldom waits for the report's queries."""
        while True:
            try:
                figures.province(clock.today().year)
            except Exception:  # noqa: BLE001 - a database down for a while: the pages say so; try later
                log.warning("could not make the dashboard's figures", exc_info=True)
                time.sleep(30)
            time.sleep(check_seconds)

    if keep_warm:
        threading.Thread(target=warm, name="dashboard-figures", daemon=True).start()

    def html(body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(body, status_code=status, headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})

    def load_user(name: str) -> wdb.WebUser | None:
        with engine.connect() as conn:
            return wdb.get_user(conn, name)

    async def current_user(request: Request) -> wdb.WebUser | None:
        name, tag = request.session.get("user"), request.session.get("tag")
        if not isinstance(name, str) or not isinstance(tag, str):
            return None
        user = await run_in_threadpool(load_user, name)
        if user is None or not user.active or hash_tag(user.password_hash) != tag:
            request.session.clear()
            return None
        return user

    def province_name() -> str:
        try:
            return figures.province_place().name
        except LookupError:
            return ""

    def same_origin(request: Request) -> bool:
        """Whether a form was posted from the dashboard's own pages (or by a client that is no browser)."""
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return False
        origin = request.headers.get("origin")
        if origin is None:
            return True
        return origin.split("://", 1)[-1] == request.headers.get("host", "")

    async def login_form(request: Request) -> Response:
        if await current_user(request) is not None:
            return RedirectResponse("/", status_code=303)
        return html(pages.login_page())

    async def login(request: Request) -> Response:
        if not same_origin(request):
            return html(pages.message_page("无法登录", "登录请求不是从本看板的页面发出的。"), 403)
        body = await request.body()
        if len(body) > MAX_FORM:
            return html(pages.login_page("请求太大"), 413)
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        name, password = form.get("name", "").strip(), form.get("password", "")
        wait = failures.blocked_for(name)
        if wait > 0:
            return html(pages.login_page(TOO_MANY.format(m=int(wait // 60) + 1), name), 429)

        def check() -> wdb.WebUser | None:
            user = load_user(name) if name and len(name) <= 64 else None
            # The same scrypt whether or not the name exists: the answer's time says nothing.
            ok = check_password(password, user.password_hash if user is not None else _DUMMY)
            return user if ok and user is not None and user.active else None

        user = await run_in_threadpool(check)
        if user is None:
            failures.add(name)
            log.info("failed dashboard login for %r from %s", name, request.client.host if request.client else "?")
            return html(pages.login_page(WRONG_LOGIN, name), 401)
        failures.clear(name)
        request.session.clear()
        request.session.update({"user": user.name, "tag": hash_tag(user.password_hash), "at": clock.now_iso()})
        return RedirectResponse("/", status_code=303)

    async def logout(request: Request) -> Response:
        if not same_origin(request):
            return html(pages.message_page("无法退出", "退出请求不是从本看板的页面发出的。"), 403)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    async def home(request: Request) -> Response:
        user = await current_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        return RedirectResponse(pages.region_url(user.region), status_code=303)

    def year_of(request: Request) -> tuple[int, int | None]:
        raw = request.query_params.get("year", "")
        if raw.isdigit() and 2000 <= int(raw) <= 2100:
            return int(raw), int(raw)
        return clock.today().year, None

    async def region(request: Request) -> Response:
        user = await current_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        code = str(request.path_params["code"])
        tab = str(request.path_params.get("tab", ""))
        prov = await run_in_threadpool(province_name)
        if not (code.isascii() and code.isdigit()) or len(code) not in LEVEL_OF_LENGTH or \
                tab not in ("", "counties", "flags"):
            return html(pages.message_page("找不到页面", f"没有“{code}”这个地区代码的页面（代码为 2、4、6、9 或 12 位数字）。",
                                           user=user, province=prov), 404)
        if not allowed(user, code):
            log.warning("dashboard user %s (%s %s) refused region %s", user.name, user.role, user.region, code)
            return html(pages.message_page("无权查看", f"您的账户只能查看 {user.region} 及其下级地区，不能查看 {code}。",
                                           user=user, province=prov), 403)
        year, year_q = year_of(request)

        def build() -> Response:
            view = figures.region(code, year)
            if view is None:
                return html(pages.message_page("没有数据", f"省级数据库中没有 {code} 的数据（该地区的县还没有报送）。",
                                               user=user, province=prov), 404)
            if tab == "counties":
                return html(pages.counties_page(view, user, prov, year_q))
            if tab == "flags":
                total, rows = figures.flags(code)
                return html(pages.flags_page(view, total, rows, user, prov, year_q))
            return html(pages.overview_page(view, user, prov, year_q))

        return await run_in_threadpool(build)

    async def static(request: Request) -> Response:
        found = STATIC.get(str(request.path_params["name"]))
        if found is None:
            return Response("not found", status_code=404, media_type="text/plain")
        folder, name, media = found
        return FileResponse(resource(folder, name), media_type=media,
                            headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"})

    async def unreachable(request: Request, exc: Exception) -> Response:
        log.warning("the province database did not answer: %s", exc)
        return html(pages.message_page("暂时无法显示", "省级数据库暂时连不上，请稍后刷新；若一直如此，请告诉管理看板的同事。"), 503)

    async def health(request: Request) -> Response:
        return Response("ok", media_type="text/plain")

    app = Starlette(
        routes=[
            Route("/login", login_form, methods=["GET"]),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/", home, methods=["GET"]),
            Route("/region/{code}", region, methods=["GET"]),
            Route("/region/{code}/{tab}", region, methods=["GET"]),
            Route("/static/{name}", static, methods=["GET"]),
            Route("/healthz", health, methods=["GET"]),
        ],
        exception_handlers={OperationalError: unreachable},
        middleware=[Middleware(SessionMiddleware, secret_key=key.hex(), session_cookie=COOKIE,
                               max_age=SESSION_HOURS * 3600, same_site="strict", https_only=https_only)],
    )
    app.state.figures = figures
    return app


