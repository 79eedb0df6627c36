"""Multi-view evaluation with the Trainer: every video of a split as `temporal_crops` x `spatial_crops` views, predicted
as ordinary clips (so batching, devices and distributed gathering are the Trainer's), then averaged per video."""

import numpy as np

from ..clips.clip_settings import ClipSettings
from ..clips.clip_transform import VideoClipTransform
from ..clips.views import num_eval_views
from .metrics import multi_view_accuracy, video_probabilities


def expand_views(dataset, settings: ClipSettings):
    """One row per (video, view) of a prepared dataset (no transform set): its columns plus `video_index` (the
    video's row) and `view_index` (numbered as in `hf_video.clips.views`)."""
    num_views = num_eval_views(settings)
    video_index = np.repeat(np.arange(len(dataset)), num_views)
    expanded = dataset.select(video_index).flatten_indices()
    expanded = expanded.add_column("video_index", video_index.tolist())
    return expanded.add_column("view_index", np.tile(np.arange(num_views), len(dataset)).tolist())


def evaluate_multi_view(trainer, dataset, settings: ClipSettings, video_backend: str = "pyav") -> tuple[dict, list]:
    """(metrics, per-video predictions) of `trainer.model` on `dataset` with the evaluation views of `settings`.

    Metrics: clip_accuracy / clip_top5_accuracy over all views, video_accuracy / video_top5_accuracy of the views'
    mean softmax per video (fractions), the mean loss of the views. Predictions: one dict per video with its id,
    label, predicted label and score. Every process gets them (the Trainer gathers)."""
    views = expand_views(dataset, settings)
    video_index = np.asarray(views["video_index"])
    views.set_transform(VideoClipTransform(settings, train=False, video_backend=video_backend))
    output = trainer.predict(views, metric_key_prefix="multi_view")
    metrics = {**multi_view_accuracy(output.predictions, output.label_ids, video_index),
               "loss": output.metrics["multi_view_loss"]}
    videos, probabilities = video_probabilities(output.predictions, video_index)
    names = trainer.model.config.id2label
    video_ids, labels = list(dataset["video_id"]), list(dataset["label"])
    predictions = [
        {"video_id": video_ids[video], "label": names[int(labels[video])], "predicted": names[int(row.argmax())],
         "score": float(row.max())}
        for video, row in zip(videos.tolist(), probabilities)
    ]
    return metrics, predictions
