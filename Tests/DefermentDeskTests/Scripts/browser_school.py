#!/usr/bin/env python3
"""Browser test of a school's pages in headless Chromium (Debian's chromium + chromium-driver,
Selenium from PyPI; Firefox with DESK_BROWSER=firefox). Usage: browser_school.py BASE_URL SCHOOL_CODE NATIONAL_ID ARTIFACT_DIR PASSWORD

Checks the login (a wrong password refused, the right one unlocks for the session), the red
marking of 未核准 rows, the shading of alternate rows, the ID search, that Back from a detail
page returns to page 2 of the results, that the report downloads decrypted under its real name
(opened again with openpyxl), and 登出. Saves screenshots into ARTIFACT_DIR.
Exits non-zero with the reason on the first failed check."""
import os, sys
from selenium.webdriver.common.by import By

from browser_common import Browser

base, school, national_id, artifacts, password = sys.argv[1:6]
browser = Browser(artifacts)
driver, wait, downloads, check = browser.driver, browser.wait, browser.downloads, browser.check

driver.get(f"{base}/schools/{school}/index.html")
check("審核結果查詢" in driver.title, "results page title")
check(driver.find_element(By.ID, "unlock-form").is_displayed(), "login form shown before unlocking")
browser.screenshot("00-login.png")

# A wrong password is refused with a clear message.
driver.find_element(By.ID, "unlock-password").send_keys("not-the-password")
driver.find_element(By.CSS_SELECTOR, "#unlock-form button").click()
wait.until(lambda d: d.find_element(By.ID, "unlock-error").is_displayed())
check("密碼錯誤" in driver.find_element(By.ID, "unlock-error").text, "wrong password message")
check(driver.execute_script("return sessionStorage.length") == 0, "nothing stored after a wrong password")
browser.screenshot("00-wrong-password.png")

# The right one unlocks, for this browser session only.
box = driver.find_element(By.ID, "unlock-password")
box.clear()
box.send_keys(password)
driver.find_element(By.CSS_SELECTOR, "#unlock-form button").click()
wait.until(lambda d: d.find_element(By.ID, "logout-bar").is_displayed())
check(driver.execute_script("return localStorage.length") == 0, "nothing in localStorage")
check(driver.execute_script("return sessionStorage.length") == 1, "key kept in sessionStorage")
browser.screenshot("01-results.png")

# Every roster on one page, newest first: the October roster is the second row.
dates = [r.find_element(By.TAG_NAME, "td").text for r in driver.find_elements(By.CSS_SELECTOR, "table.results tbody tr")]
check(dates[:2] == ["115/11/15", "115/10/15"], f"rosters newest first ({dates})")
october = driver.find_element(By.ID, "roster-20261015")

# Its details: 未核准 and the county's comment in red, alternate rows shaded.
october.find_element(By.LINK_TEXT, "明細").click()
wait.until(lambda d: d.current_url.endswith("/roster-20261015.html"))
wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#secure-content table.detail"))
red = "rgba(198, 40, 40, 1)"
states = driver.find_elements(By.CSS_SELECTOR, "tr.refused td.state")
comments = driver.find_elements(By.CSS_SELECTOR, "tr.refused td.comment")
check(len(states) == 2 and all(c.text == "未核准" for c in states), "two 未核准 rows")
check(all(c.value_of_css_property("color") == red for c in states + comments), "未核准 and comment drawn in red")
others = driver.find_elements(By.CSS_SELECTOR, "tr:not(.refused) td.state")
check(others and all(c.value_of_css_property("color") != red for c in others), "other states not red")
rows = driver.find_elements(By.CSS_SELECTOR, "table.detail tbody tr")
check(len(rows) >= 4, "detail rows")
odd_bg = rows[0].value_of_css_property("background-color")
even_bg = rows[1].value_of_css_property("background-color")
check(odd_bg in ("rgba(0, 0, 0, 0)", "transparent") and even_bg not in ("rgba(0, 0, 0, 0)", "transparent"),
      f"alternate rows shaded ({odd_bg} / {even_bg})")
check(rows[2].value_of_css_property("background-color") == odd_bg and rows[3].value_of_css_property("background-color") == even_bg,
      "shading alternates")
browser.screenshot("03-detail-red-and-shading.png")

# Back returns to the results, to the October roster's row (not the top of the list).
driver.back()
wait.until(lambda d: d.current_url.endswith("/index.html"))
wait.until(lambda d: d.find_element(By.ID, "roster-20261015").is_displayed())
check(driver.find_element(By.ID, "roster-20261015").text.startswith("115/10/15"), "Back lands on the results with the October roster")
browser.screenshot("04-back-to-results.png")
# The detail's own link back leads to the same row.
driver.find_element(By.ID, "roster-20261015").find_element(By.LINK_TEXT, "明細").click()
wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#secure-content table.detail"))
driver.find_element(By.PARTIAL_LINK_TEXT, "回審核結果查詢").click()
wait.until(lambda d: d.current_url.endswith("/index.html#roster-20261015"))

# Search by national ID (typed in lower case) across all the school's rosters.
box = driver.find_element(By.ID, "id-input")
box.send_keys(national_id.lower())
driver.find_element(By.CSS_SELECTOR, "#id-search button").click()
wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#search-results a"))
links = driver.find_elements(By.CSS_SELECTOR, "#search-results a")
check(national_id in driver.find_element(By.ID, "search-results").text, "search result names the ID")
check(national_id not in driver.current_url, "the ID is not put into the URL")
browser.screenshot("05-search.png")
links[-1].click()
wait.until(lambda d: "#row-" in d.current_url)
wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "tr.target"))
target = driver.find_element(By.CSS_SELECTOR, "tr.target")
check(national_id in target.text, "search result leads to the student's row")
check(national_id not in driver.current_url, "no ID in the detail URL")
browser.screenshot("06-search-target.png")

# Unknown ID.
driver.get(f"{base}/schools/{school}/index.html")
box = driver.find_element(By.ID, "id-input")
box.send_keys("Z999999999")
driver.find_element(By.CSS_SELECTOR, "#id-search button").click()
wait.until(lambda d: "查無" in d.find_element(By.ID, "search-results").text)

# A roster's report downloads decrypted, under its real name.
driver.find_element(By.ID, "roster-20261015").find_element(By.LINK_TEXT, "Excel").click()
name = f"審核結果報表-{school}-20261015.xlsx"
wait.until(lambda d: os.path.exists(os.path.join(downloads, name)) and os.path.getsize(os.path.join(downloads, name)) > 0)
import openpyxl
wb = openpyxl.load_workbook(os.path.join(downloads, name))
check(wb.sheetnames[0] == "審核結果" and wb["審核結果"]["C1"].value == "身分證字號", "downloaded report opens")
check({r[0] for r in wb["審核結果"].iter_rows(min_row=2, values_only=True)} == {"115/10/15"}, "the October roster's rows only")

# Every roster's CSV joined into one (compared with the desk's own by the calling test).
driver.find_element(By.ID, "all-reports").click()
name = f"審核結果報表-{school}-全部名冊.csv"
wait.until(lambda d: os.path.exists(os.path.join(downloads, name)) and os.path.getsize(os.path.join(downloads, name)) > 0)
joined = open(os.path.join(downloads, name), "rb").read()
check(joined.startswith(b"\xef\xbb\xbf") and joined.count(b"\xef\xbb\xbf") == 1, "one BOM")
check(joined.count("身分證字號".encode()) == 1, "one header line")

# 登出: the key is forgotten and the form is back.
driver.find_element(By.ID, "logout").click()
wait.until(lambda d: d.find_element(By.ID, "unlock-form").is_displayed())
check(driver.execute_script("return sessionStorage.length") == 0, "logout forgets the key")
browser.screenshot("07-logged-out.png")
driver.quit()
print("OK")
