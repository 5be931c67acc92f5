"""What the browser scripts share: a headless browser downloading into ARTIFACT_DIR/downloads,
a wait that retries while an element is missing, and a check that saves a screenshot and exits
non-zero with the reason on the first failure.

The browser is the one the manual names (Google Chrome or Mozilla Firefox), chosen by the
environment variable DESK_BROWSER: `chromium` (default; Debian's chromium + chromium-driver,
driven by Selenium) or `firefox` (Debian's firefox-esr, driven through its own Marionette
protocol by PyPI's marionette-driver). The scripts use Selenium's names; for Firefox a thin
adapter gives Marionette the same few calls."""
import base64
import os
import re
import socket
import sys
import time


class Wait:
    """Calls a condition with the driver until it returns something true (60 s at most); an
    element that is not there yet, or was replaced meanwhile, counts as not yet."""
    RETRIED = ("NoSuchElementException", "StaleElementReferenceException", "ElementNotInteractableException")

    def __init__(self, driver, timeout=60):
        self.driver, self.timeout = driver, timeout

    def until(self, condition):
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                value = condition(self.driver)
                if value:
                    return value
            except Exception as e:  # noqa: BLE001 — only the retried kinds are swallowed
                if type(e).__name__ not in self.RETRIED:
                    raise
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {self.timeout} s at {self.driver.current_url}")
            time.sleep(0.1)


def _rgba(value):
    """A CSS colour as Chromium reports it: Firefox says `rgb(1, 2, 3)` for an opaque one."""
    m = re.fullmatch(r"rgb\((\d+), (\d+), (\d+)\)", value or "")
    return f"rgba({m[1]}, {m[2]}, {m[3]}, 1)" if m else value


class _FirefoxElement:
    """A Marionette element with Selenium's calls."""

    def __init__(self, element):
        self._e = element

    def __getattr__(self, name):
        return getattr(self._e, name)

    def value_of_css_property(self, name):
        return _rgba(self._e.value_of_css_property(name))

    def get_attribute(self, name):
        """The current value, as Selenium gives it (a typed-in value, a text area's text), else
        the attribute."""
        value = self._e.get_property(name)
        return value if value is not None else self._e.get_attribute(name)

    def find_element(self, by, value):
        return _FirefoxElement(self._e.find_element(by, value))

    def find_elements(self, by, value):
        return [_FirefoxElement(e) for e in self._e.find_elements(by, value)]


class _FirefoxDriver:
    """Headless firefox-esr through Marionette, with the Selenium calls the scripts make (Selenium's
    locator names, e.g. "css selector", are WebDriver's, which Marionette takes as they are)."""

    def __init__(self, downloads, artifacts):
        from marionette_driver.marionette import Marionette
        prefs = {
            "intl.accept_languages": "zh-TW",
            "browser.download.folderList": 2,
            "browser.download.dir": downloads,
            "browser.download.useDownloadDir": True,
            "browser.download.always_ask_before_handling_new_types": False,
            "browser.download.manager.showWhenStarting": False,
            "browser.helperApps.neverAsk.saveToDisk": "application/octet-stream,text/csv,"
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
        # A port of its own: two Firefoxes on Marionette's default port would share one server.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self._m = Marionette(bin="/usr/bin/firefox-esr", headless=True, prefs=prefs, port=port,
                             gecko_log=os.path.join(artifacts, "gecko.log"))
        self._m.start_session()
        self.set_window_size(1400, 1000)

    def get(self, url):
        """Opens a page; Firefox resets a tab's zoom when it loads a page, so it is set again."""
        self._m.navigate(url)
        if self._zoom != 1.0:
            self._apply_zoom()

    def back(self):
        self._m.go_back()

    @property
    def current_url(self):
        return self._m.get_url()

    @property
    def title(self):
        return self._m.title

    def find_element(self, by, value):
        return _FirefoxElement(self._m.find_element(by, value))

    def find_elements(self, by, value):
        return [_FirefoxElement(e) for e in self._m.find_elements(by, value)]

    def execute_script(self, script, *args):
        return self._m.execute_script(script, script_args=list(args), new_sandbox=False, sandbox=None)

    def execute_async_script(self, script, *args):
        return self._m.execute_async_script(script, script_args=list(args), new_sandbox=False, sandbox=None)

    def set_script_timeout(self, seconds):
        self._m.timeout.script = seconds

    def set_window_size(self, width, height):
        """Firefox keeps its window at least 500 px wide; a narrower page (a phone's 390 px) is
        made by zooming in, as on a phone of higher pixel density, so that the page has `width`
        CSS px. Firefox counts 60 units to a CSS pixel and a whole number of them to a device
        pixel, so the zoom is 60 / n and the window as wide as that zoom needs."""
        self._zoom, window = 1.0, width
        if width < 500:
            units = next(n for n in range(59, 0, -1) if round(width * 60 / n) >= 500)
            self._zoom, window = 60 / units, round(width * 60 / units)
        self._m.set_window_rect(width=window, height=height)
        self._apply_zoom()

    def _apply_zoom(self):
        with self._m.using_context("chrome"):
            self._m.execute_script("gBrowser.selectedBrowser.fullZoom = arguments[0]", script_args=[self._zoom])

    def save_screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self._m.screenshot(full=False)))

    def quit(self):
        self._m.delete_session()
        self._m.cleanup()


def _chromium(downloads):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000", "--lang=zh-TW"):
        opts.add_argument(a)
    opts.add_experimental_option("prefs", {"download.default_directory": downloads, "download.prompt_for_download": False})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


class Browser:
    def __init__(self, artifacts):
        self.name = os.environ.get("DESK_BROWSER", "chromium")
        self.artifacts = artifacts
        os.makedirs(artifacts, exist_ok=True)
        self.downloads = os.path.join(artifacts, "downloads")
        os.makedirs(self.downloads, exist_ok=True)
        for old in os.listdir(self.downloads):
            os.remove(os.path.join(self.downloads, old))
        if self.name == "firefox":
            self.driver = _FirefoxDriver(self.downloads, artifacts)
        elif self.name == "chromium":
            self.driver = _chromium(self.downloads)
        else:
            sys.exit(f"DESK_BROWSER must be chromium or firefox, not {self.name!r}")
        self.wait = Wait(self.driver)

    def check(self, cond, what):
        if not cond:
            self.driver.save_screenshot(os.path.join(self.artifacts, "failure.png"))
            print("FAILED:", what, "at", self.driver.current_url, f"({self.name})")
            self.driver.quit()
            sys.exit(1)

    def screenshot(self, name):
        self.driver.save_screenshot(os.path.join(self.artifacts, name))
