"""The search page in a real browser: Debian's Chromium driven by Selenium against
``hashret serve`` on a free loopback port.

Needs the packages chromium and chromium-driver (.ci/run installs them). Where they are
missing the test is skipped with that reason, except when HASHRET_REQUIRE_BROWSER is set (as
.ci/run sets it), where their absence fails it.
"""
import os
import shutil
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from hashret.serve.background import serving

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HAVE_BROWSER = Path(CHROMIUM).exists() and Path(DRIVER).exists()
if not HAVE_BROWSER and os.environ.get("HASHRET_REQUIRE_BROWSER"):
    raise RuntimeError("the browser test needs Debian's chromium and chromium-driver: "
                       "apt-get install chromium chromium-driver")
pytestmark = pytest.mark.skipif(not HAVE_BROWSER, reason="needs chromium and chromium-driver "
                                "(apt-get install chromium chromium-driver)")


@pytest.fixture(scope="module")
def server(reuters_index, fashion_index):
    with serving([reuters_index[0], fashion_index[0]]) as url:
        yield url


def open_browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1200,900"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


@pytest.fixture(scope="module")
def browser():
    driver = open_browser()
    yield driver
    driver.quit()


def shown_ids(driver, timeout=20.0, changed_from=None):
    """The ids of the hits on the page, once a search has put them there."""
    from selenium.webdriver.common.by import By
    end = time.time() + timeout
    while time.time() < end:
        status = driver.find_element(By.ID, "status").text
        ids = [li.get_attribute("data-id") for li in
               driver.find_elements(By.CSS_SELECTOR, "#hits li")]
        if ids and " hits for " in status and ids != changed_from:
            return ids, status
        time.sleep(0.1)
    pytest.fail(f"no hits shown; status: {driver.find_element(By.ID, 'status').text!r}")


def choose(driver, name):
    from selenium.webdriver.support.ui import Select
    from selenium.webdriver.common.by import By
    end = time.time() + 20
    while not driver.find_elements(By.CSS_SELECTOR, f"#index option[value='{name}']"):
        assert time.time() < end, "the index list did not load"
        time.sleep(0.1)
    Select(driver.find_element(By.ID, "index")).select_by_value(name)


def test_the_page_shows_the_apis_hits(server, browser, fashion_index, tmp_path):
    from selenium.webdriver.common.by import By
    browser.get(server + "/")
    # documents: type a query, the hits shown are the API's
    choose(browser, "reuters")
    box = browser.find_element(By.ID, "text")
    box.send_keys("oil prices opec crude output")
    browser.find_element(By.ID, "go").click()
    ids, status = shown_ids(browser)
    api = httpx.post(server + "/v1/indexes/reuters/search",
                     json={"text": "oil prices opec crude output", "k": 12}).json()
    assert ids == [str(h["id"]) for h in api["hits"]]
    assert "12 hits" in status
    # images: give the file input an image, as dropping one does
    choose(browser, "fm")
    img = tmp_path / "query.png"
    Image.fromarray(np.asarray(fashion_index[1].take([9])[0]).squeeze()).save(img)
    browser.find_element(By.ID, "file").send_keys(str(img))
    ids, _ = shown_ids(browser)
    with open(img, "rb") as f:
        api = httpx.post(server + "/v1/indexes/fm/search/image", files={"image": f},
                         data={"k": "12"}).json()
    assert ids == [str(h["id"]) for h in api["hits"]]
    thumbs = browser.find_elements(By.CSS_SELECTOR, "#hits img")
    assert len(thumbs) == 12
    end = time.time() + 20                   # the thumbnails are the stored 28 x 28 items
    while not all(browser.execute_script("return arguments[0].complete && "
                                         "arguments[0].naturalWidth", t) == 28
                  for t in thumbs):
        assert time.time() < end, "the thumbnails did not load"
        time.sleep(0.2)
    # "more like this" on the third hit: that item comes first, at distance 0
    third = ids[2]
    browser.find_elements(By.CSS_SELECTOR, "#hits .more")[2].click()
    ids2, status = shown_ids(browser, changed_from=ids)
    assert ids2[0] == third and f"more like {third}" in status
    assert browser.find_elements(By.CSS_SELECTOR, "#hits .meta")[0].text.startswith("d=0")
    browser.save_screenshot(str(tmp_path / "page.png"))
    assert (tmp_path / "page.png").stat().st_size > 10_000
