#!/usr/bin/env python3
"""Every page kind in headless Chromium or Firefox (see browser_common.py) at 1366 px and 390 px: a screenshot of each, axe-core's
WCAG 2.1 AA rules (axe-selenium-python driving axe-core 4), no sideways scrolling of the page at 390 px, and on the
details page no column narrower than its header word at 1366 px; every table has a caption and
header cells (for screen readers).
Usage: browser_pages.py BASE_URL SCHOOL PASSWORD COUNTY PASSWORD ARTIFACT_DIR
Prints OK, or each problem and exits 1."""
import importlib.util, json, os, sys
from axe_selenium_python import Axe
from selenium.webdriver.common.by import By
from browser_common import Browser

base, school, school_pw, county, county_pw, artifacts = sys.argv[1:7]
browser = Browser(artifacts)
driver, wait = browser.driver, browser.wait
driver.set_script_timeout(180)
problems = []
# axe-core 4 (PyPI's axe-playwright-python carries it; only its script is used) has the WCAG 2.1
# rules; axe-selenium-python's own copy (3.1) knows WCAG 2.0 only, so it is not enough.
spec = importlib.util.find_spec("axe_playwright_python")
if spec is None:
    print("FAILED: axe-core 4 is missing (pip install --no-deps axe-playwright-python; make test does)")
    sys.exit(1)
axe_script = os.path.join(os.path.dirname(spec.origin), "axe.min.js")
tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def login(password):
    forms = driver.find_elements(By.ID, "unlock-form")
    if not forms or not forms[0].is_displayed():
        return
    driver.find_element(By.ID, "unlock-password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "#unlock-form button").click()
    wait.until(lambda d: d.find_element(By.ID, "logout-bar").is_displayed())


def detail_page():
    driver.get(f"{base}/schools/{school}/index.html")
    return driver.find_element(By.CSS_SELECTOR, "a.detail").get_attribute("href")


pages = [("home", "index.html", None), ("directory", "directory.html", None), ("overview", "overview.html", None),
         ("templates", "templates/index.html", None),
         ("school-results", f"schools/{school}/index.html", school_pw), ("school-detail", None, school_pw),
         ("school-account", f"schools/{school}/account.html", school_pw),
         ("county", f"counties/{county}/index.html", county_pw), ("county-roster", None, county_pw)]
for width in (1366, 390):
    driver.set_window_size(width, 900)
    for kind, path, password in pages:
        if kind == "school-detail":
            url = detail_page()
        elif kind == "county-roster":
            driver.get(f"{base}/counties/{county}/index.html")
            login(county_pw)
            url = driver.find_element(By.CSS_SELECTOR, "a[href^='roster-']").get_attribute("href")
        else:
            url = f"{base}/{path}"
        driver.get(url)
        if password:
            login(password)
        if kind in ("school-detail", "county-roster"):
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#secure-content table"))
        shown = driver.execute_script("return window.innerWidth")
        if abs(shown - width) > 1:
            problems.append(f"{kind} @{width}: the page is {shown} px wide, not {width}")
        browser.screenshot(f"{kind}-{width}.png")
        axe = Axe(driver, script_url=axe_script)
        axe.inject()
        result = axe.run(options={"runOnly": {"type": "tag", "values": tags}})
        for v in result["violations"]:
            problems.append(f"{kind} @{width}: {v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} × {v['nodes'][0]['target']}")
        uncaptioned = driver.execute_script("""return Array.from(document.querySelectorAll('table')).filter(function (t) {
            return !t.caption || !t.caption.textContent.trim() || !t.querySelector('th'); }).length""")
        if uncaptioned:
            problems.append(f"{kind} @{width}: {uncaptioned} table(s) without a caption or header cells")
        wide = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        if width == 390 and wide > 1:
            problems.append(f"{kind} @390: the page scrolls sideways by {wide} px")
        if kind == "school-detail" and width == 1366:
            wrapped = driver.execute_script("""
                return Array.from(document.querySelectorAll('#secure-content thead th')).filter(function (th) {
                  var r = document.createRange(); r.selectNodeContents(th);
                  var lines = new Set(Array.from(r.getClientRects()).map(function (x) { return Math.round(x.top); }));
                  return lines.size > 1; }).map(function (th) { return th.textContent; });""")
            if wrapped:
                problems.append("school-detail @1366: headers wrap: " + ", ".join(wrapped))
driver.quit()
if problems:
    print("\n".join(problems))
    sys.exit(1)
print("OK")
