"""Take docs/catalog.png, the README's picture of `dagforge catalog`: the example specs' catalog,
made with a fixed now, a DAG page opened in the system's headless Chromium (as the tests open it).

    .venv/bin/python docs/catalog_screenshot.py        # from the repository's root
"""

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import sync_playwright

import dagforge

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 1, 1, tzinfo=UTC)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "catalog"
        result = dagforge.make_catalog([ROOT / "specs"], out, NOW, ROOT / "generated_dags")
        if not result.ok:
            print(
                "the example specs do not make a catalog: run `dagforge validate`", file=sys.stderr
            )
            return 1
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 760})
            page.goto((out / "dags" / "lake_ingest.html").as_uri())
            page.screenshot(path=ROOT / "docs" / "catalog.png")
            browser.close()
    print("docs/catalog.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
