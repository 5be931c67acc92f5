"""What the browser scripts share: headless Chromium (Debian's chromium + chromium-driver, via
Selenium) downloading into ARTIFACT_DIR/downloads, and a check that saves a screenshot and exits
non-zero with the reason on the first failure."""
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait


class Browser:
    def __init__(self, artifacts):
        self.artifacts = artifacts
        os.makedirs(artifacts, exist_ok=True)
        self.downloads = os.path.join(artifacts, "downloads")
        os.makedirs(self.downloads, exist_ok=True)
        for old in os.listdir(self.downloads):
            os.remove(os.path.join(self.downloads, old))
        opts = Options()
        opts.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000", "--lang=zh-TW"):
            opts.add_argument(a)
        opts.add_experimental_option("prefs", {"download.default_directory": self.downloads, "download.prompt_for_download": False})
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        self.wait = WebDriverWait(self.driver, 60)

    def check(self, cond, what):
        if not cond:
            self.driver.save_screenshot(os.path.join(self.artifacts, "failure.png"))
            print("FAILED:", what, "at", self.driver.current_url)
            self.driver.quit()
            sys.exit(1)

    def screenshot(self, name):
        self.driver.save_screenshot(os.path.join(self.artifacts, name))
