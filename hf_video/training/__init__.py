"""Fine-tuning with the Trainer: `TrainingArguments` with the original recipe's defaults, metrics through `evaluate`
(our own top-k accuracy, loaded offline), multi-view evaluation, the model card of a fine-tuned model (pushed by the
Trainer's own push through `VideoTrainer`), and what keeps a run from being lost (its output folder, SIGTERM, a full
disk)."""

from ..extras import require

require("train", "accelerate", "evaluate", "tensorboard", "datasets")

from ..cards import finetuned_model_card  # noqa: E402
from .arguments import RECIPE_TRAINING_DEFAULTS, VideoTrainingArguments  # noqa: E402
from .metrics import (TOP_K_ACCURACY, clip_accuracy, load_top_k_accuracy, multi_view_accuracy,  # noqa: E402
                      video_probabilities)
from .multi_view import evaluate_multi_view, expand_views  # noqa: E402
from .run_folder import RunFolderError, checkpoint_problems, disk_full_error, resolve_resume  # noqa: E402
from .termination import StopOnTermination, stop_with_launcher  # noqa: E402
from .top_k_accuracy import top_k_accuracy  # noqa: E402
from .trainer import VideoTrainer, parse_learning_rate_multipliers  # noqa: E402

__all__ = [
    "RECIPE_TRAINING_DEFAULTS",
    "RunFolderError",
    "TOP_K_ACCURACY",
    "StopOnTermination",
    "VideoTrainer",
    "VideoTrainingArguments",
    "checkpoint_problems",
    "clip_accuracy",
    "disk_full_error",
    "evaluate_multi_view",
    "expand_views",
    "finetuned_model_card",
    "load_top_k_accuracy",
    "multi_view_accuracy",
    "parse_learning_rate_multipliers",
    "resolve_resume",
    "stop_with_launcher",
    "top_k_accuracy",
    "video_probabilities",
]
