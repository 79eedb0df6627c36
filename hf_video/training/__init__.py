"""Fine-tuning helpers for the Trainer: local metrics, multi-view evaluation, model cards of fine-tuned models."""
