#!/usr/bin/env python3
"""Screenshots of the search page for the README: a document query and an image query.

  python scripts/serve_screenshots.py indexes/reuters indexes/fm64 --out docs/images

Starts ``hashret serve`` on a free loopback port with a document index and an image index
(in that order) and drives Debian's Chromium (chromium, chromium-driver) with Selenium.
"""
import argparse
import sys
import time
from pathlib import Path


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("documents", type=Path)
    ap.add_argument("images", type=Path)
    ap.add_argument("--out", type=Path, default=Path("docs/images"))
    ap.add_argument("--text", default="opec agrees to cut crude oil output")
    ap.add_argument("--image-id", default="11")
    a = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "serve"))
    from selenium.webdriver.common.by import By
    from test_browser import choose, open_browser, shown_ids
    from hashret.serve.background import serving
    with serving([a.documents, a.images]) as url:
        driver = open_browser()
        driver.set_window_size(1100, 760)
        driver.get(url + "/")
        choose(driver, a.documents.name)
        driver.find_element(By.ID, "text").send_keys(a.text)
        driver.find_element(By.ID, "go").click()
        shown_ids(driver)
        a.out.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(a.out / "serve-documents.png"))
        choose(driver, a.images.name)
        driver.execute_script(
            "search({id: arguments[0]}, 'more like ' + arguments[0])", a.image_id)
        shown_ids(driver)
        time.sleep(1.5)                             # the thumbnails
        driver.save_screenshot(str(a.out / "serve-images.png"))
        driver.quit()
    print(f"wrote {a.out / 'serve-documents.png'} and {a.out / 'serve-images.png'}")


if __name__ == "__main__":
    main()
