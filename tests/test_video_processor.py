"""TadaVideoProcessor and pipeline("video-classification") on generated and real-footage videos."""

import functools
import http.server
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import urllib.parse

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoVideoProcessor, pipeline

from hf_video import TadaResNetConfig, TadaResNetForVideoClassification, TadaVideoProcessor
from hf_video.clips.clip_settings import ClipSettings
from hf_video.clips.video_io import VideoDecodeError, probe_video, read_frames
from hf_video.clips.views import eval_frame_indices
from hf_video.clips.clip_transform import VideoClipTransform
from helpers.configs import tiny_config_kwargs
from helpers.video_files import write_numbered_video

LABELS = {0: "fade_in", 1: "fade_out", 2: "turn_left", 3: "turn_right"}


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tada")
    config = TadaResNetConfig(**tiny_config_kwargs(num_labels=4, num_frames=8, image_size=64, id2label=LABELS))
    TadaResNetForVideoClassification(config).save_pretrained(folder)
    TadaVideoProcessor(num_frames=8, sample_interval=2, image_size=64).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def generated_video(tmp_path_factory):
    return write_numbered_video(tmp_path_factory.mktemp("video") / "clip (1) [a]!.avi", 50)


def test_pipeline_classifies_a_generated_avi(model_folder, generated_video):
    classifier = pipeline("video-classification", model=str(model_folder))
    predictions = classifier(str(generated_video), top_k=3)
    assert len(predictions) == 3 and {p["label"] for p in predictions} <= set(LABELS.values())
    scores = [p["score"] for p in predictions]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1 + 1e-6


def test_pipeline_classifies_real_footage(model_folder, bikes_video):
    predictions = pipeline("video-classification", model=str(model_folder))(str(bikes_video))
    assert len(predictions) == 4 and abs(sum(p["score"] for p in predictions) - 1) < 1e-5


def test_processor_prepares_a_path_exactly_as_the_eval_transform(model_folder, bikes_video):
    processor = AutoVideoProcessor.from_pretrained(model_folder)
    assert isinstance(processor, TadaVideoProcessor)
    pixel_values = processor(str(bikes_video), return_tensors="pt")["pixel_values"]
    assert pixel_values.shape == (1, 8, 3, 64, 64) and pixel_values.dtype == torch.float32
    info = probe_video(str(bikes_video))
    transform = VideoClipTransform(processor.clip_settings(), train=False)
    row = transform({"video": [str(bikes_video)], "num_frames": [info.num_frames], "fps": [info.fps],
                     "label": [0]})
    assert torch.equal(pixel_values[0], row["pixel_values"][0])


@pytest.mark.parametrize("settings", [
    ClipSettings(num_frames=8, sample_interval=2, image_size=64),
    ClipSettings(num_frames=4, sample_interval=3, image_size=48, temporal_crops=2, spatial_crops=3),
    ClipSettings(num_frames=6, sample_mode="segment", image_size=40, mean=(0.5, 0.4, 0.3), std=(0.2, 0.3, 0.25)),
], ids=["one-view", "2x3-views", "segment"])
def test_processor_output_is_the_eval_transform_for_paths_and_decoded_frames(settings, bikes_video):
    """transformers' path (fetch_videos, sample_frames, _preprocess) gives the evaluation transform's pixels, from a
    file and from the whole video decoded beforehand with its metadata."""
    info = probe_video(str(bikes_video))
    row = {"video": [str(bikes_video)], "num_frames": [info.num_frames], "fps": [info.fps], "label": [0]}
    expected = VideoClipTransform(settings, train=False)(row)["pixel_values"][0]
    processor = TadaVideoProcessor.from_clip_settings(settings)
    from_path = processor(str(bikes_video), return_tensors="pt")["pixel_values"][0]
    torch.testing.assert_close(from_path, expected, rtol=0, atol=1e-6)
    frames = read_frames(str(bikes_video), range(info.num_frames))
    metadata = {"total_num_frames": info.num_frames, "fps": info.fps}
    from_frames = processor(frames, video_metadata=metadata, return_tensors="pt")["pixel_values"][0]
    torch.testing.assert_close(from_frames, expected, rtol=0, atol=1e-6)


def test_processor_takes_every_video_layout_transformers_accepts(generated_video):
    """One video as a (T, H, W, 3) tensor, a (T, 3, H, W) tensor, an array, a list of PIL frames, a list of arrays;
    batches of them, nested, with layouts mixed; all give the same clip."""
    processor = TadaVideoProcessor(num_frames=4, image_size=32)
    frames = read_frames(str(generated_video), range(50))  # (T, H, W, 3) uint8
    expected = processor(frames)["pixel_values"]
    assert expected.shape == (1, 4, 3, 32, 32)
    as_pil = [Image.fromarray(frame) for frame in frames.numpy()]
    for video in (frames.permute(0, 3, 1, 2), frames.numpy(), as_pil, list(frames.numpy())):
        assert torch.equal(processor(video)["pixel_values"], expected)
    batch = processor([frames, frames.permute(0, 3, 1, 2), frames.numpy()])["pixel_values"]
    nested = processor([[frames], [frames.numpy()]])["pixel_values"]
    frame_lists = processor([list(frames.numpy()), list(frames.numpy())])["pixel_values"]
    pil_lists = processor([as_pil, as_pil])["pixel_values"]
    assert torch.equal(batch, expected.expand(3, -1, -1, -1, -1))
    assert torch.equal(nested, expected.expand(2, -1, -1, -1, -1)) and torch.equal(frame_lists, nested)
    assert torch.equal(pil_lists, nested)


def test_processor_converts_grey_and_rgba_frames(generated_video):
    processor = TadaVideoProcessor(num_frames=4, image_size=32)
    rgb = read_frames(str(generated_video), range(50)).numpy()
    opaque = [Image.fromarray(frame).convert("RGBA") for frame in rgb]
    assert torch.equal(processor(opaque)["pixel_values"], processor(rgb)["pixel_values"])
    half = [Image.fromarray(frame) for frame in
            np.concatenate([rgb, np.full(rgb.shape[:3] + (1,), 128, np.uint8)], axis=-1)]  # RGBA, alpha 128
    over_white = np.round(rgb * (128 / 255) + 255 * (1 - 128 / 255)).astype(np.uint8)
    assert torch.equal(processor(half)["pixel_values"], processor(over_white)["pixel_values"])
    grey = torch.from_numpy(rgb[..., :1]).permute(0, 3, 1, 2)  # (T, 1, H, W)
    assert torch.equal(processor(grey)["pixel_values"], processor(grey.expand(-1, 3, -1, -1))["pixel_values"])
    with pytest.raises(ValueError, match="expected 3 colour channels.*do_convert_rgb=True"):
        processor(half, do_convert_rgb=False)


def test_processor_sampling_arguments(generated_video):
    """do_sample_frames (attribute and call), num_frames, fps with video_metadata, return_metadata."""
    processor = TadaVideoProcessor(num_frames=4, sample_interval=2, image_size=32)
    frames = read_frames(str(generated_video), range(50))
    processor.do_sample_frames = False
    assert processor(frames[:6])["pixel_values"].shape == (1, 6, 3, 32, 32)
    assert processor(frames[:6], do_sample_frames=True)["pixel_values"].shape == (1, 4, 3, 32, 32)
    processor.do_sample_frames = True
    assert processor(frames, num_frames=5)["pixel_values"].shape == (1, 5, 3, 32, 32)
    metadata = {"total_num_frames": 50, "fps": 25}  # 2 s of video: 3 frames per second make 6 frames
    output = processor(frames, fps=3, video_metadata=metadata, return_metadata=True)
    assert output["pixel_values"].shape == (1, 6, 3, 32, 32)
    assert output["video_metadata"][0].frames_indices.tolist() == [4, 12, 21, 29, 38, 46]
    with pytest.raises(ValueError, match="needs the video's frame rate"):
        processor(frames, fps=3)
    with pytest.raises(ValueError, match="exclude each other"):
        processor(frames, fps=3, num_frames=4, video_metadata=metadata)
    with pytest.raises(ValueError, match=r"asked for 60 frames per clip from a video of 50 frames.*num_frames <= 50"):
        processor(frames, num_frames=60)
    from_path = processor(str(generated_video), return_metadata=True)["video_metadata"][0]
    with_decord = processor(str(generated_video), return_metadata=True, video_backend="decord")["video_metadata"][0]
    assert with_decord.video_backend == "decord" and processor.video_backend == "pyav"
    with pytest.raises(ValueError, match="video_backend='torchcodec'"):
        processor(str(generated_video), video_backend="torchcodec")
    settings = processor.clip_settings()
    assert from_path.fps == 30 and from_path.total_num_frames == 50
    assert list(from_path.frames_indices) == eval_frame_indices(settings, 50, 30)


def test_processor_per_call_normalisation_device_and_tensor_types(generated_video):
    frames = read_frames(str(generated_video), range(50))
    processor = TadaVideoProcessor(num_frames=4, image_size=32)
    given = processor(frames, image_mean=[0.1, 0.2, 0.3], image_std=0.5)["pixel_values"]
    saved = TadaVideoProcessor(num_frames=4, image_size=32, image_mean=[0.1, 0.2, 0.3],
                                     image_std=[0.5] * 3)(frames)["pixel_values"]
    assert torch.equal(given, saved)
    unit = processor(frames, do_normalize=False)["pixel_values"]
    assert 0 <= unit.min() and unit.max() <= 1
    assert torch.equal(processor(frames, device="cpu")["pixel_values"], processor(frames)["pixel_values"])
    as_numpy = processor(frames, return_tensors="np")["pixel_values"]
    assert isinstance(as_numpy, np.ndarray) and np.array_equal(as_numpy, processor(frames)["pixel_values"].numpy())
    if torch.cuda.is_available():  # run by benchmarks/gpu_check.sh on GPU machines
        on_gpu = processor(frames, device="cuda")["pixel_values"]
        assert on_gpu.device.type == "cuda"
        torch.testing.assert_close(on_gpu.cpu(), processor(frames)["pixel_values"], rtol=0, atol=1e-5)


def test_processor_refuses_what_it_would_otherwise_get_wrong(generated_video):
    processor = TadaVideoProcessor(num_frames=4, image_size=32)
    frames = read_frames(str(generated_video), range(50))
    with pytest.raises(ValueError, match=r"expected uint8 frames; got torch.float32.*never cast"):
        processor(frames.float())
    for geometry in ({"size": {"shortest_edge": 40}}, {"crop_size": 32}, {"do_center_crop": True}):
        with pytest.raises(ValueError, match="set image_size, eval_crop_fraction or antialias instead"):
            processor(frames, **geometry)
        with pytest.raises(ValueError, match="set image_size, eval_crop_fraction or antialias instead"):
            TadaVideoProcessor(**geometry)
    with pytest.raises(ValueError, match="rescale_factor=0.5: the recipe scales uint8 frames by 1/255"):
        processor(frames, rescale_factor=0.5)
    with pytest.raises(ValueError, match=r"clips of different shapes.*process them one by one"):
        processor([frames[:5], frames[:6]], do_sample_frames=False)
    with pytest.raises(ValueError, match="7 frames cannot make 2 temporal clips"):
        processor(frames[:7], do_sample_frames=False, temporal_crops=2)


def test_processor_views_settings_and_round_trip(tmp_path, generated_video):
    settings = ClipSettings(num_frames=4, sample_interval=2, image_size=32, temporal_crops=2, spatial_crops=3)
    processor = TadaVideoProcessor.from_clip_settings(settings, video_backend="decord")
    assert processor.clip_settings() == settings
    views = processor(str(generated_video))["pixel_values"]
    assert views.shape == (1, 6, 4, 3, 32, 32)
    processor.save_pretrained(tmp_path)
    reloaded = AutoVideoProcessor.from_pretrained(tmp_path)
    assert reloaded.clip_settings() == processor.clip_settings() and reloaded.video_backend == "decord"
    assert torch.equal(reloaded(str(generated_video))["pixel_values"], views)
    with pytest.raises(ValueError, match="spatial_crops=2"):
        TadaVideoProcessor(spatial_crops=2)


def test_a_multi_view_pipeline_answers_once_with_the_mean_of_the_views_softmax(tmp_path, generated_video):
    """A processor saved with 2 x 3 views: the pipeline gives one answer per video, whose scores are the mean of
    the six views' softmax, computed here view by view."""
    config = TadaResNetConfig(**tiny_config_kwargs(num_labels=4, num_frames=4, image_size=32, id2label=LABELS))
    model = TadaResNetForVideoClassification(config).eval()
    model.save_pretrained(tmp_path)
    processor = TadaVideoProcessor(num_frames=4, sample_interval=2, image_size=32, temporal_crops=2,
                                         spatial_crops=3)
    processor.save_pretrained(tmp_path)
    views = processor(str(generated_video))["pixel_values"][0]  # (6, T, C, H, W)
    with torch.no_grad():
        by_hand = torch.stack([model(view[None]).logits[0].softmax(-1) for view in views]).mean(0)
    answer = pipeline("video-classification", model=str(tmp_path))(str(generated_video), top_k=4)
    assert len(answer) == 4 and abs(sum(entry["score"] for entry in answer) - 1) < 1e-5
    scores = {entry["label"]: entry["score"] for entry in answer}
    assert [scores[LABELS[index]] for index in range(4)] == pytest.approx(by_hand.tolist(), abs=1e-6)
    assert answer[0]["label"] == LABELS[int(by_hand.argmax())]


def test_views_are_refused_for_problem_types_that_softmax_does_not_average(tmp_path):
    config = TadaResNetConfig(**tiny_config_kwargs(problem_type="multi_label_classification"))
    model = TadaResNetForVideoClassification(config).eval()
    with pytest.raises(ValueError, match=r"several views per video.*not multi_label_classification"):
        model(torch.zeros(1, 3, 4, 3, 32, 32))


def test_pipeline_runs_from_remote_code_where_hf_video_cannot_be_imported(model_folder, bikes_video, tmp_path):
    """A saved folder carries the processor's code and the data modules it uses: with trust_remote_code=True, the
    pipeline works where only torch, torchvision, transformers and av are importable, on real footage, and gives
    the answer it gives here."""
    expected = pipeline("video-classification", model=str(model_folder))(str(bikes_video), top_k=4)
    script = textwrap.dedent(f"""
        import json, sys
        for name in ("hf_video", "datasets", "decord"):
            sys.modules[name] = None  # importing any of them now fails
        from transformers import AutoVideoProcessor, pipeline
        processor = AutoVideoProcessor.from_pretrained({str(model_folder)!r}, trust_remote_code=True)
        assert type(processor).__module__.startswith("transformers_modules"), type(processor).__module__
        classifier = pipeline("video-classification", model={str(model_folder)!r}, trust_remote_code=True)
        print("ANSWER", json.dumps(classifier({str(bikes_video)!r}, top_k=4)))
    """)
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.split("ANSWER", 1)[1])
    assert [entry["label"] for entry in answer] == [entry["label"] for entry in expected]
    assert [entry["score"] for entry in answer] == pytest.approx([entry["score"] for entry in expected], abs=1e-6)
    copied = {path.name for path in model_folder.glob("*.py")}
    assert {"video_processing_tada.py", "video_io.py", "pyav_reader.py", "decord_reader.py", "views.py",
            "clip_ops.py"} <= copied


def test_processor_and_pipeline_read_videos_from_urls(model_folder, generated_video):
    """An http URL (served here from localhost) gives what the file gives; a missing one is named."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(generated_video.parent))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{urllib.parse.quote(generated_video.name)}"
        processor = AutoVideoProcessor.from_pretrained(model_folder)
        assert torch.equal(processor(url)["pixel_values"], processor(str(generated_video))["pixel_values"])
        classifier = pipeline("video-classification", model=str(model_folder))
        assert classifier(url, top_k=4) == classifier(str(generated_video), top_k=4)
        with pytest.raises(ValueError, match=r"missing\.avi: the video could not be downloaded.*404"):
            processor(url.rsplit("/", 1)[0] + "/missing.avi")
    finally:
        server.shutdown()
        server.server_close()


class _Trickle(http.server.BaseHTTPRequestHandler):
    """Serves /slow a byte at a time and /endless 64 KiB at a time, forever; /large a header promising 10 GB;
    /notvideo bytes that are no video."""

    def do_GET(self):
        import time

        self.send_response(200)
        if self.path == "/large":
            self.send_header("Content-Length", str(10 * 2**30))
            self.end_headers()
            return
        self.end_headers()
        if self.path == "/notvideo":
            self.wfile.write(b"<html>not a video</html>" * 100)
            return
        chunk, pause = (b"x" * 2**16, 0) if self.path == "/endless" else (b"x", 0.2)
        try:
            while True:
                self.wfile.write(chunk)
                self.wfile.flush()
                time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


def test_urls_have_a_deadline_and_a_size_cap_and_errors_name_the_url(generated_video):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        processor = TadaVideoProcessor(num_frames=4, image_size=32, download_timeout=1.5)
        with pytest.raises(ValueError, match=re.escape(f"{base}/slow") + r": the download took longer than "
                                             r"download_timeout=1.5 s"):
            processor(f"{base}/slow")
        with pytest.raises(ValueError, match=re.escape(f"{base}/large") + r": the video has 10,737,418,240 bytes, "
                                             r"more than max_download_bytes="):
            processor(f"{base}/large")
        small = TadaVideoProcessor(num_frames=4, image_size=32, max_download_bytes=1000, download_timeout=30)
        with pytest.raises(ValueError, match=r"/endless: more than max_download_bytes=1,000 bytes"):
            small(f"{base}/endless")
        with pytest.raises(VideoDecodeError, match="^" + re.escape(f"{base}/notvideo") + ": cannot open as a video"):
            processor(f"{base}/notvideo")
    finally:
        server.shutdown()
        server.server_close()
    for address in ("ftp://127.0.0.1/video.avi", "tcp://127.0.0.1:9/video", "concat:a.avi|b.avi"):
        with pytest.raises(VideoDecodeError, match=re.escape(address) + r": a \w+: address, not a file"):
            processor(address)


def test_a_calls_own_download_limits_count_and_an_int_timeout_is_taken(generated_video):
    """`processor(url, download_timeout=1)` waits 1 s for a server that never answers, not the processor's 300 s;
    a call's `max_download_bytes` caps that call. Limits that are no limits are named."""
    import socket
    import time

    silent = socket.socket()  # accepts connections, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    processor = TadaVideoProcessor(num_frames=4, image_size=32)
    try:
        started = time.monotonic()
        with pytest.raises(ValueError, match=r"did not answer within download_timeout=1 s"):
            processor(f"http://127.0.0.1:{silent.getsockname()[1]}/video.mp4", download_timeout=1)
        assert time.monotonic() - started < 30  # not the processor's 300 s (a generous bound: no timing claim)
        with pytest.raises(ValueError, match=r"/endless: more than max_download_bytes=1,000 bytes"):
            processor(f"http://127.0.0.1:{server.server_address[1]}/endless", max_download_bytes=1000)
        assert processor.download_timeout == 300.0 and processor.max_download_bytes == 2**30  # the call's own only
    finally:
        silent.close()
        server.shutdown()
        server.server_close()
    for bad in ({"download_timeout": 0}, {"download_timeout": "5"}, {"max_download_bytes": 1.5}):
        with pytest.raises(ValueError, match=f"{next(iter(bad))}="):
            processor(str(generated_video), **bad)
        with pytest.raises(ValueError, match=f"{next(iter(bad))}="):
            TadaVideoProcessor(**bad)


def test_a_fifo_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "video.avi"
    os.mkfifo(fifo)
    processor = TadaVideoProcessor(num_frames=4, image_size=32)
    with pytest.raises(VideoDecodeError, match=r"video\.avi: not a regular file \(a FIFO"):
        processor(str(fifo))
    with pytest.raises(VideoDecodeError, match=r"not a regular file"):
        read_frames(str(fifo), [0])
    with pytest.raises(VideoDecodeError, match=r"a folder; pass a video file"):
        read_frames(str(tmp_path), [0])


@pytest.mark.parametrize("videos, message", [
    ([Image.new("L", (50, 40)) for _ in range(6)], r"PIL frames in mode L; convert them to colour"),
    ([], r"videos is an empty list"),
    (np.zeros((6, 40, 50), np.uint8), r"shape \(6, 40, 50\): .*grey frames need their channel axis"),
    ([Image.new("RGB", (50, 40))] * 3 + [Image.new("RGB", (50, 30))] * 3, r"frames of different sizes \(30, 50\), "
                                                                           r"\(40, 50\)"),
    ([np.zeros((6, 40, 50, 3), np.uint8), np.zeros((6, 40, 50), np.uint8)], r"videos\[1\] has shape \(6, 40, 50\)"),
    ([np.zeros((40, 50), np.uint8)] * 6, r"frames of shape \(40, 50\) have no channel axis"),
])
def test_frames_the_processor_cannot_take_are_named(videos, message):
    with pytest.raises(ValueError, match=message):
        TadaVideoProcessor(num_frames=4, image_size=32)(videos)


def test_a_zero_std_is_refused():
    with pytest.raises(ValueError, match=r"std=\(0\.0, 0\.0, 0\.0\): every channel's std must be positive"):
        TadaVideoProcessor(num_frames=4, image_size=32)(np.zeros((6, 40, 50, 3), np.uint8), image_std=0.0)
    with pytest.raises(ValueError, match="every channel's std must be positive"):
        ClipSettings(std=(0.2, 0, 0.2))
    with pytest.raises(ValueError, match="std=0: expected three numbers"):
        ClipSettings(std=0)
    with pytest.raises(ValueError, match="every channel's std must be positive"):
        TadaVideoProcessor(image_std=[0.2, 0.0, 0.2])


def test_a_rotated_video_is_processed_as_displayed(model_folder, reference_dir):
    """A phone's video with a display rotation: the processor's metadata, frames and views are the displayed ones."""
    from hf_video.clips.views import eval_views

    path = str(reference_dir / "video_corpus" / "rotated_90.mp4")
    processor = TadaVideoProcessor(num_frames=4, sample_interval=2, image_size=32)
    output = processor(path, return_metadata=True)
    metadata = output["video_metadata"][0]
    assert (metadata.width, metadata.height, metadata.total_num_frames) == (180, 240, 60)
    frames = read_frames(path, metadata.frames_indices)
    assert frames.shape[1:] == (240, 180, 3)
    assert torch.equal(output["pixel_values"][0], eval_views(frames, processor.clip_settings()))
    classifier = pipeline("video-classification", model=str(model_folder))
    assert len(classifier(path, top_k=2)) == 2


@pytest.mark.parametrize("top_k", [-1, 0, 1.5, True])
def test_the_pipeline_names_a_top_k_it_cannot_take(model_folder, generated_video, top_k):
    classifier = pipeline("video-classification", model=str(model_folder))
    with pytest.raises(ValueError, match=rf"top_k={top_k!r}: expected how many labels to return, a whole number "
                                         r"from 1 \(all: 4\)"):
        classifier(str(generated_video), top_k=top_k)
    assert len(classifier(str(generated_video), top_k=10)) == 4  # more than there are: all of them, as before


def test_two_channel_frames_and_an_empty_pipeline_call_are_named():
    processor = TadaVideoProcessor(num_frames=4, image_size=32)
    for video in (np.zeros((4, 32, 32, 2), np.uint8), torch.zeros(4, 2, 32, 32, dtype=torch.uint8),
                  [np.zeros((32, 32, 2), np.uint8)] * 4):
        with pytest.raises(ValueError, match=r"holds 1 \(grey\), 3 \(RGB\) or 4 \(RGBA\) channels"):
            processor(video)
    model = TadaResNetForVideoClassification(TadaResNetConfig(**tiny_config_kwargs(num_labels=2, image_size=32)))
    classifier = pipeline("video-classification", model=model, image_processor=processor)
    with pytest.raises(ValueError, match=r"empty list of videos"):
        classifier([])


def test_a_saved_model_folder_holds_a_video_processor_for_its_model(tmp_path):
    """save_pretrained of any family writes the processor the model expects where the folder has none (an inflated
    or from_clip model, a Trainer checkpoint): its frames and size, the family's normalisation; one saved after it
    wins."""
    from hf_video import TadaFormerConfig, TadaFormerForVideoClassification
    from hf_video.clips.clip_settings import RECIPE
    from hf_video.models.tadaformer.configuration_tadaformer import CLIP_MEAN

    TadaResNetForVideoClassification(TadaResNetConfig(depth=18, stem_width=8, hidden_sizes=[8, 16, 32, 64],
                                                      num_frames=4, image_size=32)).save_pretrained(tmp_path / "r")
    settings = AutoVideoProcessor.from_pretrained(tmp_path / "r").clip_settings()
    assert (settings.num_frames, settings.image_size, settings.mean) == (4, 32, RECIPE.mean)
    TadaFormerForVideoClassification(TadaFormerConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4, image_size=32, patch_size=8,
        num_frames=6, route_head_dim=8)).save_pretrained(tmp_path / "f")
    settings = AutoVideoProcessor.from_pretrained(tmp_path / "f").clip_settings()
    assert (settings.num_frames, settings.image_size, list(settings.mean)) == (6, 32, CLIP_MEAN)
    TadaVideoProcessor(num_frames=8, image_size=32).save_pretrained(tmp_path / "f")
    assert AutoVideoProcessor.from_pretrained(tmp_path / "f").clip_settings().num_frames == 8
