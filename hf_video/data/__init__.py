"""Data: the HMDB51 and UCF101 datasets builders, video decoding, frame sampling, clip settings, evaluation views, clip
transforms, batching and the synthetic motion set.

Names are imported on first use: `import hf_video.data` pulls in neither `datasets` nor a video decoder, so the
model side works where those are not installed.
"""

import importlib

_PUBLIC_NAMES = {
    "Hmdb51": "hmdb51",
    "Hmdb51Config": "hmdb51",
    "Hmdb51DataError": "hmdb51",
    "load_hmdb51": "hmdb51",
    "HMDB51_CLASSES": "hmdb51_labels",
    "Ucf101": "ucf101",
    "Ucf101Config": "ucf101",
    "Ucf101DataError": "ucf101",
    "load_ucf101": "ucf101",
    "UCF101_CLASSES": "ucf101_labels",
    "ClipSettings": "clip_settings",
    "RECIPE": "clip_settings",
    "VideoClipTransform": "clip_transform",
    "TadaResNetVideoProcessor": "video_processing_tada_resnet",
    "num_eval_views": "views",
    "eval_view_index": "views",
    "eval_view_position": "views",
    "collate_clips": "collate",
    "collate_crops": "device_augmentation",
    "DeviceAugmentation": "device_augmentation",
    "move_batch": "device_augmentation",
    "read_frames": "video_io",
    "read_frame_list": "video_io",
    "probe_video": "video_io",
    "VideoDecodeError": "video_io",
    "InMemoryVideo": "video_io",
    "export_dataset": "export",
    "load_export": "export",
    "ExportError": "export",
    "DatasetKind": "dataset_kinds",
    "DATASET_KINDS": "dataset_kinds",
    "VIDEO_BACKENDS": "video_io",
    "DEFAULT_VIDEO_BACKEND": "video_io",
    "write_mpeg4_avi": "video_writing",
    "SYNTHETIC_CLASSES": "synthetic",
    "synthetic_class_names": "synthetic",
    "write_synthetic_motion_dataset": "synthetic",
}
__all__ = sorted(_PUBLIC_NAMES)


def __getattr__(name):
    if name not in _PUBLIC_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_PUBLIC_NAMES[name]}", __name__), name)
