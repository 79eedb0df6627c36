"""Top-k accuracy of classification scores, for clips and for videos, as an `evaluate` metric.

Loaded by path, so it needs no network (`hf_video.training.load_top_k_accuracy()`, or
`evaluate.load(".../top_k_accuracy.py")`); `evaluate` copies this file on its own, so it imports nothing from hf_video.

    metric.compute(predictions=scores, references=labels)                     # clip level
    metric.compute(predictions=scores, references=labels, video_ids=videos)   # video level as well

`predictions` are per-row class scores (logits or probabilities), `references` the true class indices. With
`video_ids` (one per row, the rows being the evaluation views of videos), each video's views are averaged as
softmax probabilities, as the original TAda implementation averages its test views, and video-level accuracy is
reported beside the clip-level one.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = "Top-k accuracy of class scores, per row (clip) and, given video ids, per video (mean softmax)."
_KWARGS_DESCRIPTION = """
Args:
    predictions: class scores, one row per clip.
    references: true class index of each row.
    k: the k values to report (default (1, 5); each is capped at the number of classes).
    video_ids: optional group of each row; adds video-level accuracy of the rows' mean softmax per group.
Returns:
    top1, top5, ... (clip level); with video_ids also video_top1, video_top5, ..., num_videos and num_views.
"""


def top_k_accuracy(scores, labels, k: int) -> float:
    """Fraction of rows whose label is among the k highest scores (k is capped at the number of classes)."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    k = min(k, scores.shape[-1])
    top = np.argpartition(-scores, k - 1, axis=-1)[:, :k]
    return float((top == labels[:, None]).any(axis=-1).mean())


def softmax(logits) -> np.ndarray:
    logits = np.asarray(logits)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def video_probabilities(view_scores, view_videos) -> tuple:
    """(video ids in sorted order, mean softmax of each video's views)."""
    view_scores, view_videos = np.asarray(view_scores), np.asarray(view_videos)
    videos, inverse = np.unique(view_videos, return_inverse=True)
    probabilities = np.zeros((len(videos), view_scores.shape[-1]))
    np.add.at(probabilities, inverse, softmax(view_scores))
    return videos, probabilities / np.bincount(inverse)[:, None]


class TopKAccuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Sequence(datasets.Value("float64")),
                                        "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references, k=(1, 5), video_ids=None):
        scores, labels = np.asarray(predictions, dtype=np.float64), np.asarray(references)
        results = {f"top{value}": top_k_accuracy(scores, labels, value) for value in k}
        if video_ids is None:
            return results
        if len(video_ids) != len(labels):
            raise ValueError(f"video_ids has {len(video_ids)} entries for {len(labels)} rows; give one per row.")
        videos, probabilities = video_probabilities(scores, video_ids)
        video_labels = np.zeros(len(videos), dtype=labels.dtype)
        video_labels[np.unique(np.asarray(video_ids), return_inverse=True)[1]] = labels
        results.update({f"video_top{value}": top_k_accuracy(probabilities, video_labels, value) for value in k})
        return {**results, "num_videos": len(videos), "num_views": len(labels)}
