"""The local web page: its logic, its Streamlit shell, and a real browser uploading photos."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.core.errors import OfficeScoreError
from edge.inference.pipeline import PipelineConfig
from edge.video.overlay import panel_width
from edge.web.photo_page import Page, decode_upload
from tests.helpers import HOMES, REPO


@pytest.fixture(scope="module")
def page() -> Page:
    return Page(PipelineConfig())  # an EngineRequest's default engine: ONNX Runtime, on the CPU


def test_page_scores_an_uploaded_photo(page: Page, photos: Path) -> None:
    data = (photos / "000000000599.jpg").read_bytes()
    shown = page.analyze(data, "living-room.jpg", conf=0.4)
    record = shown.result.to_record()
    assert {o["name"] for o in record["detections"]} >= {"pet", "small_item"}
    assert shown.annotated_rgb.shape == (407, 640 + panel_width(407), 3)
    assert record["kind"] == "upload" and 0 <= record["score"] <= 100
    assert {v["id"]: v["status"] for v in record["check"]["criteria"]}["people"] == "warn"
    assert record["device"] == "CPUExecutionProvider" and record["timings_ms"]["inference"] > 0
    assert record["model"] == "yolox-nano-coco@640"  # photos run at the card's photo size
    fewer = page.analyze(data, "living-room.jpg", conf=0.85).result.to_record()
    assert len(fewer["detections"]) < len(record["detections"])


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "not a photo this page can read"),
        (b"<html>not an image</html>", "not a photo this page can read"),
        (b"\xff" * (11 * 1024 * 1024), "the limit is 10 MB"),
        (cv2.imencode(".png", np.zeros((8000, 6000), np.uint8))[1].tobytes(), "40 megapixels"),
    ],
)
def test_bad_uploads_give_a_readable_message(data: bytes, message: str) -> None:
    with pytest.raises(OfficeScoreError, match=message):
        decode_upload(data, "upload.jpg")


def test_streamlit_page_renders_without_an_upload() -> None:
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(
        str(REPO / "edge" / "web" / "streamlit_page.py"), default_timeout=120
    ).run()
    assert not app.exception
    assert app.title[0].value == "officescore"
    assert app.slider[0].value == 0.4
    assert "Upload a photo" in app.info[0].value


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not come up")


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium and chromium-driver (see .ci/run)")
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=420,1800",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()


def test_browser_uploads_a_photo_and_sees_its_score(browser, photos: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from officescore.cli import main; main()",
            "web",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(url, 90)
        browser.get(url)
        page_text = lambda: browser.find_element(By.TAG_NAME, "body").text  # noqa: E731
        WebDriverWait(browser, 90).until(
            lambda _: browser.find_elements(By.CSS_SELECTOR, "input[type=file]")
        )
        browser.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(
            str(HOMES / "000000255165.jpg")  # a real home office: two monitors, laptop
        )
        WebDriverWait(browser, 90).until(lambda _: "Video-call background" in page_text())
        assert "Office score" in page_text() and "Breakdown" in page_text()
        assert "84 / 100" in page_text() and "judged on 8 of 10 criteria" in page_text()
        assert "CPUExecutionProvider" in page_text()
        time.sleep(1)
        shot = tmp_path / "web.png"
        browser.save_screenshot(str(shot))
        assert cv2.imread(str(shot)).shape[1] >= 400
        if os.environ.get("OFFICESCORE_SCREENSHOT"):
            shutil.copy(shot, os.environ["OFFICESCORE_SCREENSHOT"])

        bad = tmp_path / "not-a-photo.jpg"
        bad.write_text("this is text, not a photo")
        browser.get(url)
        WebDriverWait(browser, 90).until(
            lambda _: browser.find_elements(By.CSS_SELECTOR, "input[type=file]")
        )
        browser.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(bad))
        WebDriverWait(browser, 60).until(lambda _: "not a photo this page can read" in page_text())
        wait_healthy(url, 10)  # the server keeps serving
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_sigterm_stops_the_server_and_frees_its_port() -> None:
    """`officescore web` becomes the server itself: a signal to it leaves nothing behind."""
    import signal

    import psutil

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "officescore", "web", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", 90)
        family = [server.pid, *(child.pid for child in psutil.Process(server.pid).children(True))]
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) is not None
    finally:
        if server.poll() is None:
            server.kill()
    assert not [
        pid
        for pid in family
        if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    ]
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nobody listens any more
