"""Fine-tuning with the Trainer: `TrainingArguments` with the original recipe's defaults, local metrics, multi-view
evaluation, and the model card of a fine-tuned model."""

from ..cards import finetuned_model_card
from .arguments import RECIPE_TRAINING_DEFAULTS, VideoTrainingArguments
from .metrics import clip_accuracy, multi_view_accuracy, top_k_accuracy, video_probabilities
from .multi_view import evaluate_multi_view, expand_views

__all__ = [
    "RECIPE_TRAINING_DEFAULTS",
    "VideoTrainingArguments",
    "clip_accuracy",
    "evaluate_multi_view",
    "expand_views",
    "finetuned_model_card",
    "multi_view_accuracy",
    "top_k_accuracy",
    "video_probabilities",
]
