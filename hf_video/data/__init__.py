"""Data: the datasets. Your own videos (`own_videos`: folders, list files, any dataset with a video column), the
HMDB51, UCF101, Something-Something V2 and Kinetics builders on their shared layer (`video_builder`), their label
lists, the classes a mirror swaps (`mirrored_classes`), the dataset kinds a run resolves (`dataset_kinds`), exports
for the Hub and streaming (`export`), and the synthetic motion set.
Turning a video into clips is `hf_video.clips`' job.

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
    "Ssv2": "ssv2",
    "Ssv2Config": "ssv2",
    "Ssv2DataError": "ssv2",
    "load_ssv2": "ssv2",
    "SSV2_CLASSES": "ssv2_labels",
    "Kinetics": "kinetics",
    "KineticsConfig": "kinetics",
    "KineticsDataError": "kinetics",
    "load_kinetics": "kinetics",
    "kinetics_class_names": "kinetics",
    "KINETICS400_CLASSES": "kinetics_labels",
    "mirrored_labels": "mirrored_classes",
    "load_videos": "own_videos",
    "prepare_videos": "own_videos",
    "OwnVideosError": "own_videos",
    "export_dataset": "export",
    "load_export": "export",
    "ExportError": "export",
    "VideoDataError": "video_builder",
    "DatasetKind": "dataset_kinds",
    "DATASET_KINDS": "dataset_kinds",
    "write_mpeg4_avi": "video_writing",
    "write_video": "video_writing",
    "SYNTHETIC_CLASSES": "synthetic",
    "synthetic_class_names": "synthetic",
    "write_synthetic_motion_dataset": "synthetic",
}
__all__ = sorted(_PUBLIC_NAMES)


def __getattr__(name):
    if name not in _PUBLIC_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_PUBLIC_NAMES[name]}", __name__), name)
