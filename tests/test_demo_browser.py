"""The demo page in a real browser: `python -m hf_video.demo` started on a free port with a small saved model (and
its per-frame twin beside it), driven headless by Playwright on Debian's Chromium: a generated video uploaded, the
top-1 label, the frames and the plot checked on the page, a bad file's message shown, and a screenshot kept."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from helpers.own_videos import write_clip

# Processes, real training runs or whole batteries: left out of `make test-fast`, run by `make test`.
pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOW_TO_RUN = ("needs the [demo] extra, Playwright and a Chromium: `make install` brings them on Debian or Ubuntu as "
              "root; elsewhere `pip install -e '.[demo]' playwright` and a Chromium on the PATH")
LABELS = ("grow", "shrink", "move_right")
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "images" / "demo.png"


def _missing() -> str | None:
    import importlib.util

    if CHROMIUM is None:
        return "no chromium on the PATH"
    for module in ("gradio", "playwright"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed"
    return None


def _where_make_install_brings_it() -> bool:
    """Root on Debian or Ubuntu (as CI runs): `make install` installs Chromium there, so a skip would hide a fault."""
    return os.geteuid() == 0 and Path("/etc/debian_version").exists()


@pytest.fixture(scope="module")
def browser():
    problem = _missing()
    if problem is not None:
        if _where_make_install_brings_it():
            pytest.fail(f"the browser test must run here: {problem} ({HOW_TO_RUN})")
        pytest.skip(f"{problem}: the browser test {HOW_TO_RUN}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def small_model(folder: Path, temporal_adaptive: bool = True) -> Path:
    import torch

    from hf_video import TadaResNetConfig, TadaResNetForVideoClassification, TadaVideoProcessor

    torch.manual_seed(0)
    config = TadaResNetConfig(depth=18, stem_width=8, hidden_sizes=[8, 16, 32, 64], num_frames=4, image_size=32,
                              id2label=dict(enumerate(LABELS)), temporal_adaptive=temporal_adaptive)
    model = TadaResNetForVideoClassification(config)
    with torch.no_grad():  # a head that always answers "shrink": the page must show what the model says
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([0.0, 3.0, 1.0]))
    model.save_pretrained(folder)
    TadaVideoProcessor(num_frames=4, sample_interval=2, image_size=32).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    work = tmp_path_factory.mktemp("demo")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "hf_video.demo", "--model", str(small_model(work / "tada")), "--compare",
         str(small_model(work / "per_frame", temporal_adaptive=False)), "--port", str(port), "--max_seconds", "20"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "OMP_NUM_THREADS": "1", "TMPDIR": str(work)})
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the demo exited: {process.stdout.read()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        raise AssertionError("the demo did not answer within 120 s")
    yield url
    process.terminate()
    process.wait(timeout=30)


def upload_and_classify(page, video: Path):
    page.locator("#video-input input[type=file]").set_input_files(str(video))
    page.locator("#video-input video").wait_for(timeout=30_000)
    started = time.perf_counter()
    page.locator("#classify").click()
    page.locator("#status").get_by_text("Classified in").or_(page.locator("#status strong")).wait_for(timeout=60_000)
    return time.perf_counter() - started


def test_the_page_classifies_an_uploaded_video_and_shows_frames_and_scores(browser, demo_url, tmp_path):
    video = write_clip(tmp_path / "upload.webm", 40, "vp9_webm")  # a video the browser plays
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    page.goto(demo_url)
    seconds = upload_and_classify(page, video)
    status = page.locator("#status").inner_text()
    assert "Classified in" in status, status
    top = page.locator("#top-0").inner_text().strip().splitlines()
    assert top[:2] == ["Top classes", "shrink"] and "move_right" in top, top  # the model's answer first, then bars
    assert page.locator("#frames-0 img").count() >= 4  # the clip's frames, with their captions
    assert "frame" in page.locator("#frames-0").inner_text()
    assert page.locator("#scores-0 img").first.get_attribute("src")  # the plot of the scores along the video
    assert page.locator("#top-1").inner_text().strip().splitlines()[1] == "shrink"  # the second model beside it
    page.screenshot(path=str(tmp_path / "demo.png"), full_page=True)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    if os.environ.get("HF_VIDEO_UPDATE_SCREENSHOT"):  # the README's picture, refreshed on request
        shutil.copyfile(tmp_path / "demo.png", SCREENSHOT)
    print(f"upload to result: {seconds:.2f} s")

    # A file that is not a video: its message on the page, and no result left from before.
    (tmp_path / "notes.mp4").write_bytes(b"not a video at all" * 100)
    page.locator("#video-input button[aria-label='Clear']").click()  # the video is removed, and its results
    page.locator("#frames-0 img").first.wait_for(state="detached", timeout=30_000)
    page.locator("#video-input input[type=file]").set_input_files(str(tmp_path / "notes.mp4"))
    page.locator("#classify").click()
    page.locator("#status strong").wait_for(timeout=60_000)
    assert "notes.mp4" in page.locator("#status").inner_text()
    assert page.locator("#frames-0 img").count() == 0
