#!/usr/bin/env python3
"""Browser test of the 帳號維護 page in headless Chromium or Firefox (see browser_common.py).
Usage: browser_account.py BASE_URL ACCOUNT NEW_PASSWORD NAME PHONE EMAIL ARTIFACT_DIR PASSWORD

Logs in with the current password, asks for a change (new password, contact, notifications off),
checks that no request is made before logging in and that the new password is not shown, and
prints JSON with the request block and the mailto link the page made."""
import json, sys
from selenium.webdriver.common.by import By
from browser_common import Browser

base, account, new_password, name, phone, email, artifacts, password = sys.argv[1:9]
path = ("counties/" if len(account) == 5 else "schools/") + account
browser = Browser(artifacts)
driver, wait, check = browser.driver, browser.wait, browser.check

driver.get(f"{base}/{path}/account.html")
check("帳號維護" in driver.title, "account page title")
# Before logging in, no request is made.
driver.find_element(By.ID, "contact-name").send_keys(name)
driver.find_element(By.CSS_SELECTOR, "#account-form button").click()
wait.until(lambda d: d.find_element(By.ID, "account-error").is_displayed())
check("登入" in driver.find_element(By.ID, "account-error").text, "asks to log in first")
browser.screenshot("00-not-logged-in.png")

driver.find_element(By.ID, "unlock-password").send_keys(password)
driver.find_element(By.CSS_SELECTOR, "#unlock-form button").click()
wait.until(lambda d: d.find_element(By.ID, "logout-bar").is_displayed())
driver.find_element(By.ID, "new-password").send_keys(new_password)
driver.find_element(By.ID, "new-password-again").send_keys(new_password)
driver.find_element(By.ID, "contact-phone").send_keys(phone)
driver.find_element(By.ID, "contact-email").send_keys(email)
driver.find_element(By.CSS_SELECTOR, "#notify option[value='off']").click()
driver.find_element(By.CSS_SELECTOR, "#account-form button").click()
wait.until(lambda d: d.find_element(By.ID, "account-request").is_displayed())
block = driver.find_element(By.ID, "account-request-text").get_attribute("value")
mailto = driver.find_element(By.ID, "account-mailto").get_attribute("href")
check("BEGIN DEFERMENT ACCOUNT REQUEST" in block, "request block shown")
check(new_password not in block and new_password not in mailto, "the new password is not in the request")
check(driver.find_element(By.ID, "new-password").get_attribute("value") == "", "password fields cleared")
browser.screenshot("01-request-made.png")
driver.quit()
print(json.dumps({"block": block, "mailto": mailto}))
