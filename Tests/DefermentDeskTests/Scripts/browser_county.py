#!/usr/bin/env python3
"""Browser test of a county's page in headless Chromium or Firefox (see browser_common.py). Usage:
browser_county.py BASE_URL COUNTY_CODE UPLOAD_DATE(YYYYMMDD) ARTIFACT_DIR PASSWORD

Checks that the public county page shows counts without logging in, that the decision workbook
cannot be downloaded before logging in, that after logging in it downloads decrypted under its
real name and opens with openpyxl (cover, both roster sheets, the token, the dropdown), and that a
roster's page of schools and students opens. Saves screenshots into ARTIFACT_DIR."""
import os, sys
from selenium.webdriver.common.by import By

from browser_common import Browser

base, county, date, artifacts, password = sys.argv[1:6]
browser = Browser(artifacts)
driver, wait, downloads, check = browser.driver, browser.wait, browser.downloads, browser.check

driver.get(f"{base}/counties/{county}/index.html")
check("審核" in driver.title, "county page title")
check(driver.find_elements(By.CSS_SELECTOR, "table.counts"), "counts shown without logging in")
name = f"審核名冊-{county}-{date}.xlsx"
link = driver.find_element(By.PARTIAL_LINK_TEXT, name)
browser.screenshot("00-county-page.png")

# Before logging in the workbook is not handed out.
link.click()
wait.until(lambda d: d.find_element(By.ID, "unlock-error").is_displayed())
check("請先輸入密碼" in driver.find_element(By.ID, "unlock-error").text, "asks to log in first")
check(not os.path.exists(os.path.join(downloads, name)), "nothing downloaded before logging in")

driver.find_element(By.ID, "unlock-password").send_keys(password)
driver.find_element(By.CSS_SELECTOR, "#unlock-form button").click()
wait.until(lambda d: d.find_element(By.ID, "logout-bar").is_displayed())
driver.find_element(By.PARTIAL_LINK_TEXT, name).click()
wait.until(lambda d: os.path.exists(os.path.join(downloads, name)) and os.path.getsize(os.path.join(downloads, name)) > 0)
browser.screenshot("01-logged-in.png")
import openpyxl
wb = openpyxl.load_workbook(os.path.join(downloads, name))
check(wb.sheetnames == ["封面", "申請緩徵名冊", "離校學生名冊"], f"workbook sheets {wb.sheetnames}")
check(str(wb["封面"]["B2"].value).startswith(f"DDT2-{county}-{date}-"), "token on the cover")
sheet = wb["申請緩徵名冊"]
check(sheet["N3"].value == "審核結果" and sheet.protection.sheet, "decision column under a protected sheet")
check(any("核准" in str(v.formula1) for v in sheet.data_validations.dataValidation), "審核結果 dropdown")

# The roster's page (schools, their students and each row's history) opens with the same login.
driver.find_element(By.PARTIAL_LINK_TEXT, "各校學生名單與歷程").click()
wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#secure-content table.history"))
check(driver.find_elements(By.CSS_SELECTOR, "#secure-content table.county-schools td"), "schools' progress on the roster page")
check("審核歷程" in driver.find_element(By.CSS_SELECTOR, "#secure-content table.history thead").text, "students with 審核歷程")
browser.screenshot("02-history.png")
driver.quit()
print("OK")
