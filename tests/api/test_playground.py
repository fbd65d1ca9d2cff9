"""The playground: served by the service alone, and driven in headless Chromium against a real
`opendream serve` with the tiny model (form from the schema, upload, submit, images appear, field
errors from a 422, history)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.client.queue_server import QueueOnlyServer
from tests.e2e.server import ServerProcess, demo_server, running

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
GENERATION_TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, tiny_klein_dir: Path
) -> Iterator[ServerProcess]:
    with running(demo_server(tmp_path_factory.mktemp("playground-server"), tiny_klein_dir)) as s:
        yield s


@pytest.fixture(scope="module")
def queue_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running(QueueOnlyServer(data_dir=tmp_path_factory.mktemp("playground-queue-server"))) as s:
        yield s


def loaded_image_sizes(page, selector: str, attempts: int = 100) -> list[list[int]]:  # type: ignore[no-untyped-def]
    """Natural sizes once every image has loaded. Polled from here: the page's CSP forbids the
    string evaluation that `wait_for_function` relies on, and the test keeps that CSP on."""
    script = "imgs => imgs.map(i => [i.complete ? i.naturalWidth : 0, i.naturalHeight])"
    sizes: list[list[int]] = []
    for _ in range(attempts):
        sizes = page.eval_on_selector_all(selector, script)
        if sizes and all(width > 0 for width, _ in sizes):
            return sizes
        page.wait_for_timeout(100)
    return sizes


def png_file(path: Path, width: int, height: int, color: str = "teal") -> Path:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format="PNG")
    path.write_bytes(buf.getvalue())
    return path


# -- serving --------------------------------------------------------------------------------------


def test_the_page_and_its_assets_come_from_the_service(server: ServerProcess) -> None:
    page = httpx.get(f"{server.base_url}/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {"/static/app.js", "/static/style.css", "/static/favicon.svg"} <= set(assets)
    assert all(a.startswith("/static/") for a in assets), assets
    types = {
        "/static/app.js": "text/javascript",
        "/static/style.css": "text/css",
        "/static/favicon.svg": "image/svg+xml",
    }
    for asset, media in types.items():
        answer = httpx.get(server.base_url + asset)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(media)
        assert "url(http" not in answer.text and "import " not in answer.text.split("\n", 3)[0]


def test_static_paths_cannot_leave_the_static_folder(server: ServerProcess) -> None:
    for path in ["/static/../playground.py", "/static/%2e%2e/playground.py", "/static/nope.js"]:
        assert httpx.get(server.base_url + path).status_code == 404


def test_history_lists_only_the_callers_requests(server: ServerProcess) -> None:
    with server.client() as http:
        assert http.get("/v1/requests", params={"limit": 0}).status_code == 422
        listed = http.get("/v1/requests", params={"limit": 5})
        assert listed.status_code == 200 and isinstance(listed.json()["requests"], list)
    assert httpx.get(f"{server.base_url}/v1/requests").status_code == 401


# -- in the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


def open_playground(browser, server: ServerProcess):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.requested = []  # every URL the page asked for
    page.errors = []
    page.on("request", lambda request: page.requested.append(request.url))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(server.base_url + "/")
    page.fill("#token", server.token)
    page.click("#token-form button[type=submit]")
    return context, page


@pytest.fixture
def page(browser, server: ServerProcess) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context, page = open_playground(browser, server)
    try:
        yield page
    finally:
        context.close()


def test_generate_in_the_browser_shows_the_images_and_the_history(
    page, server: ServerProcess
) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector("#f-text")
    assert page.input_value("#model") == "bytedance/seedream-4-0/sequential"
    # defaults from the published schema are filled in; enums are selects
    assert page.input_value("#f-sequential_image_generation_options") == "3"
    assert page.input_value("#f-image_size") == "2560:1440 (16:9)"
    assert page.input_value("#f-optimize_prompt_options") == "fast"
    assert page.inner_text("[data-field=text] .limit").endswith("/ 600")

    page.fill("#f-text", "Generate 2 images of a red fox in the snow.")
    assert page.inner_text("[data-field=text] .limit") == "43 / 600"
    page.select_option("#f-sequential_image_generation_options", "2")
    page.select_option("#f-image_size", "2048:2048 (1:1)")
    page.fill("#f-seed", "1234")
    page.click("#submit")

    page.wait_for_selector("#gallery img >> nth=1", timeout=GENERATION_TIMEOUT_MS)
    sizes = loaded_image_sizes(page, "#gallery img")
    assert sizes == [[2048, 2048], [2048, 2048]]
    assert page.inner_text("#status-text") == "Succeeded"
    assert page.locator("#bars .bar.done").count() == 2
    assert "seed 1234" in page.inner_text("#result-note")

    request_id = page.inner_text("#request-id")
    page.wait_for_selector(
        f"#history [data-request='{request_id}'] .badge.succeeded", timeout=10_000
    )

    link = page.get_attribute("#gallery a[download]", "href")
    assert link is not None
    download = page.request.get(link)
    assert download.status == 200 and download.headers["content-type"] == "image/png"

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground-results.png"), full_page=True)
    assert all(url.startswith(server.base_url) for url in page.requested), page.requested
    assert page.errors == []


def test_a_bad_input_is_shown_at_its_field(page, server: ServerProcess) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector("#f-text")
    page.fill("#f-text", "x" * 601)
    assert "over" in (page.get_attribute("[data-field=text] .limit", "class") or "")
    page.click("#submit")
    error = page.wait_for_selector("[data-field=text] .field-error:not(:empty)", timeout=10_000)
    assert "600" in error.inner_text()
    assert "invalid" in (page.get_attribute("[data-field=text]", "class") or "")
    assert page.inner_text("#status-card") == "" or page.is_hidden("#status-card")
    assert page.errors == []


def test_uploaded_images_get_previews_and_their_problems_are_shown_on_the_image(
    page, server: ServerProcess, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector("#f-text")
    page.select_option("#model", "bytedance/seedream-4-0/edit")
    page.wait_for_selector("#f-prompt")
    assert page.input_value("#f-resolution") == "2048x2048 (1:1)"
    good = png_file(tmp_path / "good.png", 64, 48)
    tiny = png_file(tmp_path / "tiny.png", 10, 10)
    page.set_input_files("[data-field=images] input[type=file]", [str(good), str(tiny)])
    expect(page.locator(".image-item .image-state", has_text="uploading")).to_have_count(
        0, timeout=20_000
    )
    assert page.locator(".image-item").count() == 2
    assert page.inner_text("[data-field=images] .limit") == "2 / 1–10"
    previews = page.eval_on_selector_all(
        ".image-item img", "imgs => imgs.map(i => i.src.split(':')[0])"
    )
    assert previews == ["blob", "blob"]

    page.fill("#f-prompt", "Make the sky purple.")
    page.click("#submit")
    # The 10 px image breaks the published rule; whether the upload or the submit refuses it,
    # the message sits on that image, not on the form.
    bad = page.wait_for_selector(".image-item.invalid .item-error", timeout=20_000)
    assert "must exceed 14 pixels" in bad.inner_text()
    assert page.locator(".image-item.invalid").count() == 1
    assert "tiny.png" in page.inner_text(".image-item.invalid")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground-field-error.png"), full_page=True)
    assert page.errors == []


def test_a_queued_request_shows_its_position_and_can_be_cancelled(
    browser, queue_server: ServerProcess
) -> None:  # type: ignore[no-untyped-def]
    context, page = open_playground(browser, queue_server)
    try:
        page.wait_for_selector("#f-text")
        page.fill("#f-text", "Generate 1 image of a pear.")
        page.click("#submit")
        expect(page.locator("#status-text")).to_have_text(
            re.compile(r"In queue — (next to run|position \d+)")
        )
        page.click("#cancel")
        expect(page.locator("#status-text")).to_have_text("Cancelled", timeout=10_000)
        request_id = page.inner_text("#request-id")
        expect(page.locator(f"#history [data-request='{request_id}'] .badge")).to_have_text(
            "cancelled"
        )
        assert page.errors == []
    finally:
        context.close()
