"""The province dashboard in a real browser: Debian's chromium, headless, driven through
chromedriver by selenium. A province user logs in, walks the tree from the province to a village,
reads the charts (every bar named and counted) and the duplicate list; a wrong password is
refused in Chinese; a city user is refused another city.

Skipped only when chromium or chromedriver is missing and CI is not set; under CI=true a missing
browser fails. With POVDESK_DASHBOARD_SCREENSHOTS=DIR the pages are also saved there at 1366x768
(docs/screenshots/province-*.png come from this)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.province.test_web_http import PASSWORDS, Site, site  # noqa: F401 (the running dashboard)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SHOTS = os.environ.get("POVDESK_DASHBOARD_SCREENSHOTS")

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise RuntimeError("CI is set but chromium or chromedriver is missing (.ci/run installs chromium "
                           "chromium-driver)")
    pytest.skip("chromium and chromedriver are not installed", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.expected_conditions import staleness_of  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    opts = webdriver.ChromeOptions()
    assert CHROMIUM is not None and CHROMEDRIVER is not None
    opts.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,768",
                "--hide-scrollbars", "--lang=zh-CN", f"--user-data-dir={profile}", "--no-first-run",
                "--disable-extensions", "--disable-background-networking"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver: WebDriver, name: str, *, full: bool = False) -> None:
    if not SHOTS:
        return
    out = Path(SHOTS)
    out.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(1366, 768)
    if full:  # the whole page, as tall as it is
        height = int(driver.execute_script("return document.documentElement.scrollHeight"))
        driver.set_window_size(1366, max(768, height))
    driver.save_screenshot(str(out / f"province-{name}.png"))
    driver.set_window_size(1366, 768)


def log_in(driver: WebDriver, site: Site, name: str, password: str) -> None:  # noqa: F811
    driver.delete_all_cookies()
    driver.get(f"{site.base}/login")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    follow(driver, driver.find_element(By.ID, "login"))


def follow(driver: WebDriver, element: WebElement) -> None:
    """Click a link or a button and wait until the page it leads to has replaced this one."""
    element.click()
    WebDriverWait(driver, 30).until(staleness_of(element))


def bars(driver: WebDriver, chart: str) -> list[tuple[str, str]]:
    """(the name on the left, the count at the end) of each bar of a chart, as drawn."""
    out = []
    for g in driver.find_element(By.ID, chart).find_elements(By.CSS_SELECTOR, "g.bar"):
        out.append((g.find_element(By.CSS_SELECTOR, "text.label").text, g.find_element(By.CSS_SELECTOR, "text.value").text))
    return out


def test_a_province_user_walks_the_tree_and_reads_the_charts(browser: WebDriver, site: Site) -> None:  # noqa: F811
    driver = browser
    log_in(driver, site, "sheng", "wrong password")
    assert "用户名或密码不正确" in driver.find_element(By.CSS_SELECTOR, ".error").text
    shot(driver, "login")
    log_in(driver, site, "sheng", PASSWORDS["sheng"])
    assert driver.current_url.endswith("/region/52")
    assert "贵州省" in driver.find_element(By.CSS_SELECTOR, "main h1").text
    for chart, first in (("chart-status", "识别中"), ("chart-attribute", None), ("chart-cause", None)):
        rows = bars(driver, chart)
        assert rows and all(label and value.endswith("人") and "户" in value for label, value in rows), chart
        if first:
            assert rows[0][0] == first
    assert "因病" in [label for label, _v in bars(driver, "chart-cause")]
    shot(driver, "overview")

    # Down the tree: the prefecture, the county, a township, a village; each a link in the side tree.
    follow(driver, driver.find_element(By.CSS_SELECTOR, '.tree a[data-code="5226"]'))
    assert "黔东南苗族侗族自治州" in driver.find_element(By.CSS_SELECTOR, "main h1").text
    follow(driver, driver.find_element(By.CSS_SELECTOR, '.tree a[data-code="522634"]'))
    assert "雷山县" in driver.find_element(By.CSS_SELECTOR, "main h1").text
    shot(driver, "county")
    township = driver.find_element(By.CSS_SELECTOR, "#children tbody tr td a")
    code = township.text
    follow(driver, township)
    assert driver.current_url.endswith(f"/region/{code}") and len(code) == 9
    follow(driver, driver.find_element(By.CSS_SELECTOR, "#children tbody tr td a"))
    assert len(driver.current_url.rsplit("/", 1)[1]) == 12
    crumbs = driver.find_element(By.CSS_SELECTOR, ".crumbs").text
    assert "贵州省" in crumbs and "黔东南苗族侗族自治州" in crumbs and "雷山县" in crumbs
    assert bars(driver, "chart-status")

    # The county comparison and the duplicate list of the prefecture.
    driver.get(f"{site.base}/region/52/counties")
    header = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "#quality thead th")]
    assert "质量排名" in header
    shot(driver, "counties")
    driver.get(f"{site.base}/region/5226")
    follow(driver, driver.find_element(By.ID, "tab-flags"))
    rows = driver.find_elements(By.CSS_SELECTOR, "#flags tbody tr")
    assert len(rows) == 2
    masked = site.twin_id[:6] + "********" + site.twin_id[-4:]
    assert all(masked in r.text and "同一身份证号登记在两个县" in r.text for r in rows)
    assert site.twin_id not in driver.page_source
    shot(driver, "flags")


def test_a_city_user_is_refused_another_city(browser: WebDriver, site: Site) -> None:  # noqa: F811
    driver = browser
    log_in(driver, site, "gy", PASSWORDS["gy"])
    assert driver.current_url.endswith("/region/5201")
    # The side tree starts at the province but the user's own prefecture is where it lands.
    assert "贵阳市" in driver.find_element(By.CSS_SELECTOR, "main h1").text
    driver.get(f"{site.base}/region/5226")
    assert "无权查看" in driver.find_element(By.CSS_SELECTOR, "main h1").text
    assert "雷山县" not in driver.page_source
    shot(driver, "refused")
    follow(driver, driver.find_element(By.CSS_SELECTOR, ".who button"))
    assert driver.current_url.endswith("/login")
