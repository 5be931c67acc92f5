#!/usr/bin/env python3
"""The home page's school search in headless Chromium or Firefox (see browser_common.py). Usage: browser_home.py BASE_URL SCHOOL_CODE ARTIFACT_DIR
Typing a code leaves that school only; a name part filters by name; nonsense shows none; clearing shows all."""
import sys
from selenium.webdriver.common.by import By
from browser_common import Browser

base, code, artifacts = sys.argv[1:4]
browser = Browser(artifacts)
driver, wait, check = browser.driver, browser.wait, browser.check
driver.get(base + "/index.html")
visible = lambda: [li for li in driver.find_elements(By.CSS_SELECTOR, "ul.schools li") if li.is_displayed()]
total = len(visible())
check(total > 10, "the full list shows")
box = driver.find_element(By.ID, "school-filter")
box.send_keys(" " + code + " ")
check(len(visible()) == 1 and code in visible()[0].text, "a code finds its school")
check("1 所" in driver.find_element(By.ID, "school-filter-count").text, "the count is announced")
browser.screenshot("00-found-by-code.png")
box.clear(); box.send_keys("不存在的學校名稱")
check(len(visible()) == 0, "nonsense finds none")
box.clear(); box.send_keys(" ")
box.clear(); box.send_keys("\ue003")   # WebDriver's Backspace key
check(len(visible()) == total, "clearing shows every school")
driver.quit()
print("OK")
