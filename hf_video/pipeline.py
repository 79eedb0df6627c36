"""transformers' video-classification pipeline with its `top_k` and its input checked. Why upstream's class is not
left as it is: a zero or negative `top_k` reaches torch's `topk` and fails there ("selected index k out of range"),
and an empty list of videos fails inside the base class with an IndexError, neither naming the value or saying what
to do. transformers has no way to give a built-in task another class for some models only (custom pipelines need
remote code), so importing hf_video makes this subclass the task's class for every model: it only adds the two
checks, and everything else is upstream's.

The class is made when a pipeline is first built, not when hf_video is imported: transformers' pipeline module imports
a video decoder, which `import hf_video` must not.
"""

import functools

from transformers.pipelines import PIPELINE_REGISTRY

CLASS_NAME = "CheckedVideoClassificationPipeline"


def install() -> bool:
    """Make it the pipeline `pipeline("video-classification")` builds (where transformers' task table has the task);
    returns whether it did."""
    task = PIPELINE_REGISTRY.supported_tasks.get("video-classification")
    if not isinstance(task, dict) or "impl" not in task:
        return False
    # Newer transformers name each task's class by its dotted path and import it when a pipeline is built.
    task["impl"] = f"{__name__}.{CLASS_NAME}" if isinstance(task["impl"], str) else _checked_pipeline_class()
    return True


def __getattr__(name):
    if name == CLASS_NAME:
        return _checked_pipeline_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _checked_pipeline_class():
    from transformers.pipelines.video_classification import VideoClassificationPipeline

    class CheckedVideoClassificationPipeline(VideoClassificationPipeline):
        def _sanitize_parameters(self, top_k=None, **kwargs):
            if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
                raise ValueError(f"top_k={top_k!r}: expected how many labels to return, a whole number from 1 (all: "
                                 f"{self.model.config.num_labels}).")
            return super()._sanitize_parameters(top_k=top_k, **kwargs)

        def __call__(self, inputs=None, **kwargs):
            if isinstance(inputs, (list, tuple)) and not inputs:
                raise ValueError("the pipeline was given an empty list of videos: pass a video (a path, a URL) or a "
                                 "list of them.")
            return super().__call__(inputs, **kwargs)

    return CheckedVideoClassificationPipeline
