"""TadaResNetVideoProcessor and pipeline("video-classification") on generated and real-footage videos."""

import pytest
import torch
from transformers import AutoVideoProcessor, pipeline

from hf_video import TadaResNetConfig, TadaResNetForVideoClassification, TadaResNetVideoProcessor
from hf_video.data.clip_settings import ClipSettings
from hf_video.data.video_io import probe_video
from hf_video.data.clip_transform import VideoClipTransform
from helpers.configs import tiny_config_kwargs
from helpers.video_files import write_numbered_video

LABELS = {0: "fade_in", 1: "fade_out", 2: "turn_left", 3: "turn_right"}


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tada")
    config = TadaResNetConfig(**tiny_config_kwargs(num_labels=4, num_frames=8, image_size=64, id2label=LABELS))
    TadaResNetForVideoClassification(config).save_pretrained(folder)
    TadaResNetVideoProcessor(num_frames=8, sample_interval=2, image_size=64).save_pretrained(folder)
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
    assert isinstance(processor, TadaResNetVideoProcessor)
    pixel_values = processor(str(bikes_video), return_tensors="pt")["pixel_values"]
    assert pixel_values.shape == (1, 8, 3, 64, 64) and pixel_values.dtype == torch.float32
    info = probe_video(str(bikes_video))
    transform = VideoClipTransform(processor.clip_settings(), train=False)
    row = transform({"video": [str(bikes_video)], "num_frames": [info.num_frames], "fps": [info.fps],
                     "label": [0]})
    assert torch.equal(pixel_values[0], row["pixel_values"][0])


def test_processor_takes_arrays_and_tensors_in_either_layout(generated_video):
    from hf_video.data.video_io import read_frames

    processor = TadaResNetVideoProcessor(num_frames=4, image_size=32)
    frames = read_frames(str(generated_video), range(50))  # (T, H, W, 3) uint8
    from_tensor = processor([frames, frames.permute(0, 3, 1, 2)])["pixel_values"]
    from_array = processor(frames.numpy())["pixel_values"]
    assert from_tensor.shape == (2, 4, 3, 32, 32)
    assert torch.equal(from_tensor[0], from_tensor[1]) and torch.equal(from_tensor[0], from_array[0])
    as_given = processor(frames[:4], do_sample_frames=False)["pixel_values"]
    assert as_given.shape == (1, 4, 3, 32, 32)
    with pytest.raises(ValueError, match=r"uint8 frames \(T, H, W, 3\); got torch.float32"):
        processor(frames.float())


def test_processor_views_settings_and_round_trip(tmp_path, generated_video):
    settings = ClipSettings(num_frames=4, sample_interval=2, image_size=32, temporal_crops=2, spatial_crops=3)
    processor = TadaResNetVideoProcessor.from_clip_settings(settings, video_backend="decord")
    assert processor.clip_settings() == settings
    views = processor(str(generated_video))["pixel_values"]
    assert views.shape == (1, 6, 4, 3, 32, 32)
    processor.save_pretrained(tmp_path)
    reloaded = AutoVideoProcessor.from_pretrained(tmp_path)
    assert reloaded.clip_settings() == processor.clip_settings() and reloaded.video_backend == "decord"
    assert torch.equal(reloaded(str(generated_video))["pixel_values"], views)
    with pytest.raises(ValueError, match="spatial_crops=2"):
        TadaResNetVideoProcessor(spatial_crops=2)


def test_a_multi_view_pipeline_answers_once_with_the_mean_of_the_views_softmax(tmp_path, generated_video):
    """A processor saved with 2 x 3 views: the pipeline gives one answer per video, whose scores are the mean of
    the six views' softmax, computed here view by view."""
    config = TadaResNetConfig(**tiny_config_kwargs(num_labels=4, num_frames=4, image_size=32, id2label=LABELS))
    model = TadaResNetForVideoClassification(config).eval()
    model.save_pretrained(tmp_path)
    processor = TadaResNetVideoProcessor(num_frames=4, sample_interval=2, image_size=32, temporal_crops=2,
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
