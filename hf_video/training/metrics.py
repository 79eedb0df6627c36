"""Accuracy through `evaluate`, offline: our own top-k metric (`top_k_accuracy.py`), loaded by path, so nothing is
downloaded; for clips (the Trainer's `compute_metrics`) and per video over its evaluation views."""

import functools
from pathlib import Path

import numpy as np

from .top_k_accuracy import video_probabilities

TOP_K_ACCURACY = Path(__file__).with_name("top_k_accuracy.py")

__all__ = ["TOP_K_ACCURACY", "clip_accuracy", "load_top_k_accuracy", "multi_view_accuracy", "video_probabilities"]


@functools.cache
def load_top_k_accuracy():
    """The `evaluate` metric of top-k accuracy (see top_k_accuracy.py), loaded from this package: no network."""
    import evaluate

    return evaluate.load(str(TOP_K_ACCURACY), keep_in_memory=True)


def clip_accuracy(eval_prediction) -> dict:
    """`compute_metrics` for the Trainer: top-1 and top-5 accuracy of the clips, as fractions, named as transformers'
    examples name them (`eval_accuracy`, and `eval_top5_accuracy` beside it)."""
    result = load_top_k_accuracy().compute(predictions=eval_prediction.predictions,
                                           references=eval_prediction.label_ids)
    return {"accuracy": result["top1"], "top5_accuracy": result["top5"]}


def multi_view_accuracy(view_logits: np.ndarray, view_labels: np.ndarray, view_videos: np.ndarray) -> dict:
    """Clip-level accuracy over every view, and video-level accuracy of the views' mean softmax per video (top-1 and
    top-5, as fractions)."""
    result = load_top_k_accuracy().compute(predictions=view_logits, references=view_labels, video_ids=view_videos)
    return {"video_accuracy": result["video_top1"], "video_top5_accuracy": result["video_top5"],
            "clip_accuracy": result["top1"], "clip_top5_accuracy": result["top5"], "num_videos": result["num_videos"],
            "num_views": result["num_views"]}
