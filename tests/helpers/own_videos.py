"""Your own videos as tests write them: short clips whose frames say their own index, in three containers, under
class names with spaces and letters beyond ASCII."""

from pathlib import Path

from hf_video.data.video_writing import write_video

from .video_files import numbered_frames

# Names with spaces and letters beyond ASCII, in three containers.
CLASSES = ("jump rope", "café crème", "Zürich walk")
FORMATS = ("mpeg4_avi", "h264_mp4", "vp9_webm")
SUFFIXES = {"mpeg4_avi": ".avi", "h264_mp4": ".mp4", "vp9_webm": ".webm"}


def write_clip(path: Path, num_frames: int, video_format: str = "mpeg4_avi", fps: int = 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Square frames: the evaluation crop keeps all of them, and the index bars stay readable.
    write_video(str(path), numbered_frames(num_frames, 96, 96), fps=fps, video_format=video_format)
    return path


def class_tree(root: Path, per_class: int, splits=("train",), first_length: int = 12) -> Path:
    for split in splits:
        for label, name in enumerate(CLASSES):
            for index in range(per_class):
                video_format = FORMATS[(label + index) % 3]
                write_clip(root / split / name / f"clip {index}{SUFFIXES[video_format]}",
                           first_length + index + label, video_format)
    return root
