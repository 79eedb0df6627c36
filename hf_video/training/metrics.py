"""Accuracy computed locally (no metric download): top-k for clips, and per video over its evaluation views."""

import numpy as np


def top_k_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Fraction of rows whose label is among the k highest scores (k is capped at the number of classes)."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    k = min(k, scores.shape[-1])
    top = np.argpartition(-scores, k - 1, axis=-1)[:, :k]
    return float((top == labels[:, None]).any(axis=-1).mean())


def clip_accuracy(eval_prediction) -> dict:
    """`compute_metrics` for the Trainer: top-1 and top-5 accuracy of the clips."""
    logits, labels = eval_prediction.predictions, eval_prediction.label_ids
    return {"top1": top_k_accuracy(logits, labels, 1), "top5": top_k_accuracy(logits, labels, 5)}


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def video_probabilities(view_logits: np.ndarray, view_videos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(video ids, mean softmax of each video's views): the original averages its softmax outputs over views."""
    view_logits, view_videos = np.asarray(view_logits), np.asarray(view_videos)
    videos, inverse = np.unique(view_videos, return_inverse=True)
    probabilities = np.zeros((len(videos), view_logits.shape[-1]))
    np.add.at(probabilities, inverse, softmax(view_logits))
    return videos, probabilities / np.bincount(inverse)[:, None]


def multi_view_accuracy(view_logits: np.ndarray, view_labels: np.ndarray, view_videos: np.ndarray) -> dict:
    """Clip-level accuracy over every view, and video-level accuracy of the views' mean softmax per video."""
    view_labels = np.asarray(view_labels)
    videos, probabilities = video_probabilities(view_logits, view_videos)
    video_labels = np.zeros(len(videos), dtype=view_labels.dtype)
    video_labels[np.unique(np.asarray(view_videos), return_inverse=True)[1]] = view_labels
    return {
        "clip_top1": top_k_accuracy(view_logits, view_labels, 1),
        "clip_top5": top_k_accuracy(view_logits, view_labels, 5),
        "video_top1": top_k_accuracy(probabilities, video_labels, 1),
        "video_top5": top_k_accuracy(probabilities, video_labels, 5),
        "num_videos": len(videos),
        "num_views": len(view_labels),
    }
