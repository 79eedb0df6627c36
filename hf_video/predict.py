"""Run a video classifier over many videos: `python -m hf_video.predict` (or `hf-video-predict`).

    python -m hf_video.predict --model outputs/tada_demo --output predictions.jsonl videos/ extra.mp4 'more/*.avi'
    python -m hf_video.predict --model outputs/tada_demo --output long.jsonl --window_seconds 2 --stride_seconds 1 \
        --plot long.mp4

Inputs are files, folders (every video under them), globs, list files (.csv, .tsv, .jsonl with a `path` or `video`
column, and optional `start` / `end` seconds) and http(s) URLs, or with `--dataset_name` the rows of a dataset (a Hub
id, a parquet file or folder: a video column of paths or bytes). Every video is read by the model's saved video
processor's settings (frames, sampling, crop, views; for a folder without one, the model's config and the recipe)
and decoded frame-exactly in `--num_workers` loader processes. Each output row holds the video, the top-k labels
and scores (the mean softmax of its views) and the views used; with `--window_seconds`, one row per window along
the video, and `--plot` draws the top classes' scores over time. A run that stops is continued by running it again:
videos already in the output are skipped. A video that cannot be read gets a row naming why, is counted at the end,
and never stops the run.
"""

import argparse
import csv
import glob
import io
import json
import os
import re
import sys
from pathlib import Path

from .clips.video_sources import VIDEO_SUFFIXES

LIST_SUFFIXES = (".csv", ".tsv", ".jsonl")


def video_inputs(inputs: list) -> list:
    """(name, source, start seconds, end seconds) of every video the inputs name, in order, each once."""
    found, seen = [], set()

    def add(name, start=None, end=None):
        key = (name, start, end)
        if key not in seen:
            seen.add(key)
            found.append(key)

    for item in inputs:
        if item.startswith(("http://", "https://")):
            add(item)
        elif os.path.isdir(item):
            for root, folders, files in os.walk(item):
                folders.sort()
                for name in sorted(files):
                    if name.lower().endswith(VIDEO_SUFFIXES):
                        add(os.path.join(root, name))
        elif os.path.isfile(item) and item.lower().endswith(LIST_SUFFIXES):
            for path, start, end in _listed_videos(item):
                add(path, start, end)
        elif os.path.isfile(item):
            add(item)
        else:
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                raise SystemExit(f"{item}: no such file, folder or URL, and no file matches it as a pattern.")
            for path in matches:
                if os.path.isfile(path):
                    add(path)
    return found


def _listed_videos(path: str) -> list:
    """(path, start, end) of a list file's rows; relative paths are relative to the list's folder."""
    folder = os.path.dirname(os.path.abspath(path))
    with open(path, encoding="utf-8", newline="") as file:
        if path.endswith(".jsonl"):
            rows = [json.loads(line) for line in file if line.strip()]
        else:
            rows = list(csv.DictReader(file, delimiter="\t" if path.endswith(".tsv") else ","))
    listed = []
    for number, row in enumerate(rows, 1):
        video = next((row[name] for name in ("path", "video", "file_name") if row.get(name)), None)
        if video is None:
            raise SystemExit(f"{path}: row {number} has no path, video or file_name column.")
        start, end = (float(row[name]) if row.get(name) not in (None, "") else None for name in ("start", "end"))
        listed.append((video if video.startswith(("http://", "https://")) else os.path.join(folder, video), start,
                       end))
    return listed


def dataset_videos(name: str, config_name, splits, video_column, hub_kwargs: dict) -> tuple[list, dict]:
    """(name, start, end, (split, index)) of every row of a dataset's splits (all, or those named), and
    {split: (rows, video column, folder relative paths resolve against)} to read them from. A row is named
    `<dataset>:<split>:<index>`, which a continued run recognises."""
    import datasets

    from .data.own_videos import VIDEO_COLUMN_NAMES, OwnVideosError, read_source

    try:
        raw, base_dir = read_source(name, config_name, None, hub_kwargs)
    except OwnVideosError as error:
        raise SystemExit(f"--dataset_name {error}") from None
    unknown = sorted(set(splits or ()) - set(raw))
    if unknown:
        raise SystemExit(f"--dataset_name {name}: no split {', '.join(unknown)}; it has {', '.join(raw)}.")
    entries, tables = [], {}
    for split in splits or list(raw):
        rows = raw[split]
        column = video_column or next((column for column in VIDEO_COLUMN_NAMES if column in rows.column_names), None)
        if column not in rows.column_names:
            raise SystemExit(f"--dataset_name {name}: the {split} split has no video column "
                             f"{column or ' or '.join(VIDEO_COLUMN_NAMES)!r} (its columns: "
                             f"{', '.join(rows.column_names)}); name it with --video_column_name.")
        if isinstance(rows.features[column], datasets.Video):
            rows = rows.cast_column(column, datasets.Video(decode=False))
        spans = zip(*(rows[key] if key in rows.column_names else [None] * len(rows) for key in ("start", "end")))
        for index, (start, end) in enumerate(spans):
            try:
                start, end = (None if value in (None, "") else float(value) for value in (start, end))
            except ValueError:
                raise SystemExit(f"--dataset_name {name}: {split} row {index}: start={start!r}, end={end!r} are not "
                                 "seconds.") from None
            entries.append((f"{name}:{split}:{index}", start, end, (split, index)))
        tables[split] = (rows, column, base_dir)
    return entries, tables


def row_source(name: str, row: dict, column: str, base_dir):
    """What the readers take for a dataset row's video: its bytes (in memory, named `name`) or its path, relative
    ones under the list's folder, the dataset's, or the working folder."""
    from .clips.video_sources import InMemoryVideo

    value = row[column]
    path = value.get("path") if isinstance(value, dict) else value
    if isinstance(value, (bytes, bytearray)) or isinstance(value, dict) and value.get("bytes"):
        return InMemoryVideo(bytes(value["bytes"] if isinstance(value, dict) else value),
                             f"{name} ({path})" if isinstance(path, str) and path else name)
    if not isinstance(path, str) or not path:
        raise ValueError(f"{column}={str(value)[:80]!r} is neither a path nor a video's bytes")
    return os.path.join(row.get("_list_folder") or base_dir or os.getcwd(), os.path.expanduser(path))


def windows(duration: float, window_seconds: float | None, stride_seconds: float | None, start=None, end=None):
    """[(start, end)] in seconds: the whole span, or windows of `window_seconds` every `stride_seconds` (default:
    the window's length) that start inside it."""
    start, end = start or 0.0, duration if end is None else min(end, duration)
    if not window_seconds:
        return [(start if start else None, end if end < duration else None)]
    stride = stride_seconds or window_seconds
    spans, position = [], start
    while position < end - 1e-9:
        spans.append((position, min(position + window_seconds, end)))
        position += stride
    return spans


class VideoWindows:
    """A map-style dataset for the DataLoader: item i is video i's views for every window, decoded in the worker that
    reads it, or the reason it cannot be read. `videos`: (name, start, end, row) tuples, `row` None for a file or URL
    (the name), else (split, index) in `tables` (`dataset_videos`)."""

    def __init__(self, videos: list, settings, video_backend: str, window_seconds, stride_seconds, download,
                 tables: dict | None = None):
        self.videos, self.settings, self.video_backend = videos, settings, video_backend
        self.window_seconds, self.stride_seconds, self.download = window_seconds, stride_seconds, download
        self.tables = tables or {}  # a dataset's splits, read row by row in the worker (memory-mapped, not copied)

    def __len__(self):
        return len(self.videos)

    def __getitem__(self, index):
        from .clips.clip_transform import VideoClipTransform
        from .clips.segments import segment_frames
        from .clips.video_io import stream_info

        name, start, end, row = self.videos[index]
        try:
            if row is not None:
                rows, column, base_dir = self.tables[row[0]]
                source = row_source(name, rows[row[1]], column, base_dir)
            else:
                source = self.download(name) if name.startswith(("http://", "https://")) else name
            info = stream_info(source)
            transform = VideoClipTransform(self.settings, train=False, video_backend=self.video_backend)
            clips, spans = [], []
            duration = info.num_frames / info.fps
            for span_start, span_end in windows(duration, self.window_seconds, self.stride_seconds, start, end):
                segment = segment_frames(info.packets, info.num_frames, info.fps, info.time_base, span_start,
                                         span_end)
                if segment is None:
                    continue
                views = transform.read_eval_views(source, info.num_frames, info.fps, info.packets, segment=segment)
                clips.append(views if views.dim() == 5 else views.unsqueeze(0))
                spans.append((span_start, span_end))
            if not clips:
                raise ValueError(f"{name}: no frame is shown between start={start} and end={end}.")
            return {"name": name, "clips": clips, "spans": spans, "start": start, "end": end, "row": row, "error": None}
        except Exception as error:  # any failure belongs to this video's row; the run goes on
            return {"name": name, "clips": [], "spans": [], "start": start, "end": end, "row": row,
                    "error": f"{type(error).__name__}: {error}"}


def load_model_and_settings(model_name: str, hub_kwargs: dict):
    """(model, clip settings): the saved video processor's settings, else the model config's frames and size on the
    recipe, with the family's normalisation (`video_processor_defaults`: CLIP's mean and std for TAdaFormer), as a
    folder saved by hf_video would hold them."""
    import dataclasses

    from transformers import AutoModelForVideoClassification, AutoVideoProcessor

    import hf_video  # noqa: F401  (registers the TAda models and their processor)  # pyflakes: used for its effect

    from .clips.clip_settings import RECIPE

    model = AutoModelForVideoClassification.from_pretrained(model_name, **hub_kwargs).eval()
    try:
        processor = AutoVideoProcessor.from_pretrained(model_name, **hub_kwargs)
        return model, processor.clip_settings()
    except (OSError, ValueError, AttributeError):  # no saved video processor (or not ours)
        pass
    config = model.config
    defaults = getattr(model, "video_processor_defaults", {})
    settings = dataclasses.replace(RECIPE, num_frames=config.num_frames, image_size=config.image_size,
                                   mean=tuple(defaults.get("image_mean", RECIPE.mean)),
                                   std=tuple(defaults.get("image_std", RECIPE.std)))
    return model, settings


class OutputFile:
    """The predictions file, JSON lines or CSV by its suffix; the videos it already holds (a run continued). Where a
    stopped run cut the last line short, that line and the rows of the video being written go, and it is redone."""

    FIELDS = ("video", "start", "end", "labels", "scores", "views", "error")

    def __init__(self, path: str):
        self.path, self.csv = path, path.endswith(".csv")
        if not path.endswith((".csv", ".jsonl")):
            raise SystemExit(f"--output {path}: expected a .jsonl or .csv file.")
        self.done = set()
        if os.path.exists(path):
            kept = []
            with open(path, encoding="utf-8", newline="") as file:
                lines = file.readlines()
            for line in lines[1:] if self.csv else lines:
                if not line.endswith("\n"):  # cut short: the video being written when the run stopped is redone
                    cut = self._video_of_cut_line(line)
                    last = kept[-1][1] if kept else None
                    if cut in (None, last):  # its earlier windows may be there: they go too
                        kept = [(text, video) for text, video in kept if video != last]
                    break
                try:
                    row = next(csv.DictReader([line], fieldnames=self.FIELDS)) if self.csv else json.loads(line)
                except (json.JSONDecodeError, StopIteration):
                    continue
                kept.append((line, row["video"]))
            self.done = {video for _, video in kept}
            kept = [text for text, _ in kept]
            with open(path, "w", encoding="utf-8", newline="") as file:
                file.writelines(([",".join(self.FIELDS) + "\n"] if self.csv else []) + kept)
        elif self.csv:
            with open(path, "w", encoding="utf-8", newline="") as file:
                file.write(",".join(self.FIELDS) + "\n")

    def _video_of_cut_line(self, line: str) -> str | None:
        """The video a cut-short line was written for, where its first field survived; else None."""
        if self.csv:
            fields = next(csv.reader([line]), [])
            return fields[0] if len(fields) > 1 else None
        match = re.match(r'\{"video": ("(?:[^"\\]|\\.)*")', line)
        return json.loads(match[1]) if match else None

    def write(self, rows: list) -> None:
        """A video's rows, appended in one write."""
        text = io.StringIO()
        for row in rows:
            if self.csv:
                csv.writer(text).writerow([row.get(field) if not isinstance(row.get(field), list)
                                           else json.dumps(row[field], ensure_ascii=False) for field in self.FIELDS])
            else:
                text.write(json.dumps(row, ensure_ascii=False) + "\n")
        with open(self.path, "a", encoding="utf-8", newline="") as file:
            file.write(text.getvalue())


def predict_rows(model, item: dict, top_k: int, batch_size: int, device, dtype) -> list:
    """One row per window of a loaded video: its top-k labels and scores (the mean softmax of its views)."""
    import torch

    if item["error"] is not None:
        return [{"video": item["name"], "start": item["start"], "end": item["end"], "labels": [], "scores": [],
                 "views": 0, "error": item["error"]}]
    rows = []
    names = model.config.id2label
    for clip, (start, end) in zip(item["clips"], item["spans"]):
        probabilities = []
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            for first in range(0, len(clip), batch_size):
                logits = model(clip[first:first + batch_size].to(device)).logits
                probabilities.append(logits.float().softmax(-1).cpu())
        mean = torch.cat(probabilities).mean(0)
        scores, labels = mean.topk(min(top_k, mean.numel()))
        rows.append({"video": item["name"], "start": start, "end": end,
                     "labels": [names[int(label)] for label in labels],
                     "scores": [round(float(score), 6) for score in scores], "views": len(clip), "error": None})
    return rows


def plot_scores(rows: list, path: str, classes: int = 3, mark: tuple | None = None) -> str:
    """A PNG of the `classes` best-scoring classes' scores along the video (at each window's centre); `mark`: a span
    (start, end seconds) to shade, such as the clip the model classifies by itself."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install 'tada-video[notebook]' (or matplotlib).") from None
    times = [((row["start"] or 0) + (row["end"] or 0)) / 2 for row in rows]
    best = {}
    for row in rows:
        for label, score in zip(row["labels"], row["scores"]):
            best[label] = max(best.get(label, 0.0), score)
    figure, axes = plt.subplots(figsize=(8, 3))
    if mark is not None:
        axes.axvspan(*mark, color="0.85", label="the model's clip")
    for label in sorted(best, key=best.get, reverse=True)[:classes]:
        axes.plot(times, [dict(zip(row["labels"], row["scores"])).get(label, 0.0) for row in rows], marker="o",
                  label=label)
    axes.set_xlabel("time (s)")
    axes.set_ylabel("score")
    axes.set_ylim(0, 1)
    axes.legend(loc="upper right")
    axes.set_title(os.path.basename(rows[0]["video"]))
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m hf_video.predict", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="*", help="video files, folders, globs, list files (.csv/.tsv/.jsonl), URLs")
    parser.add_argument("--dataset_name", help="also every row of this dataset: a Hub id, a parquet file or folder")
    parser.add_argument("--dataset_config_name", help="the dataset's configuration")
    parser.add_argument("--split", action="append", help="only this split of the dataset (repeatable; default: all)")
    parser.add_argument("--video_column_name", help="the dataset's video column (default: video, path, file_name, "
                                                    "...)")
    parser.add_argument("--model", required=True, help="a model folder or Hub id")
    parser.add_argument("--output", required=True, help="predictions file: .jsonl or .csv (continued if it exists)")
    parser.add_argument("--top_k", type=int, default=5, help="labels per row (default %(default)s)")
    parser.add_argument("--batch_size", type=int, default=8, help="clips per forward pass (default %(default)s)")
    parser.add_argument("--num_workers", type=int, default=0, help="loader processes decoding videos (default 0)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    parser.add_argument("--bf16", action="store_true", help="run the model in bfloat16 autocast")
    parser.add_argument("--window_seconds", type=float, help="score windows of this many seconds along each video")
    parser.add_argument("--stride_seconds", type=float, help="start a window every this many seconds (default: "
                                                             "--window_seconds)")
    parser.add_argument("--plot", nargs="*", metavar="VIDEO", help="with windows: a PNG of the top classes' scores "
                        "over time beside the output, for these videos (none named: every video)")
    parser.add_argument("--video_backend", default="pyav", choices=["pyav", "decord"])
    parser.add_argument("--revision", help="the model's Hub revision")
    parser.add_argument("--token", help="a Hugging Face token for a private model")
    parser.add_argument("--trust_remote_code", action="store_true", help="allow a Hub model's own code")
    arguments = parser.parse_args(argv)
    for name in ("top_k", "batch_size"):
        if getattr(arguments, name) < 1:
            parser.error(f"--{name} {getattr(arguments, name)}: expected a positive number")
    if not arguments.inputs and not arguments.dataset_name:
        parser.error("name videos (files, folders, globs, list files, URLs) or a dataset (--dataset_name)")
    if not arguments.dataset_name and (arguments.split or arguments.video_column_name or
                                       arguments.dataset_config_name):
        parser.error("--split, --video_column_name and --dataset_config_name choose from --dataset_name: give it")
    if arguments.num_workers < 0:
        parser.error(f"--num_workers {arguments.num_workers}: expected 0 or more")
    for name in ("window_seconds", "stride_seconds"):
        if getattr(arguments, name) is not None and not getattr(arguments, name) > 0:
            parser.error(f"--{name} {getattr(arguments, name)}: expected a positive number of seconds")
    if arguments.plot is not None and not arguments.window_seconds:
        parser.error("--plot draws scores over time: give --window_seconds too")
    return arguments


def main(argv=None) -> dict:
    """The run; returns {"videos": done now, "skipped": already in the output, "failed": rows with an error}."""
    arguments = parse_arguments(argv)
    import torch
    from torch.utils.data import DataLoader

    from .clips.video_processing_tada import TadaVideoProcessor
    from .clips.video_processing_tada import _download as download_video

    output = OutputFile(arguments.output)
    hub_kwargs = {name: getattr(arguments, name) for name in ("revision", "token") if getattr(arguments, name)}
    named = [(*video, None) for video in video_inputs(arguments.inputs)]
    tables = {}
    if arguments.dataset_name:
        rows, tables = dataset_videos(arguments.dataset_name, arguments.dataset_config_name, arguments.split,
                                      arguments.video_column_name, {"token": arguments.token} if arguments.token
                                      else {})
        named += rows
    videos = [video for video in named if video[0] not in output.done]
    skipped = len(named) - len(videos)
    model, settings = load_model_and_settings(arguments.model, {**hub_kwargs,
                                                                "trust_remote_code": arguments.trust_remote_code})
    device = torch.device("cuda" if arguments.device == "auto" and torch.cuda.is_available() else
                          "cpu" if arguments.device == "auto" else arguments.device)
    model.to(device)
    limits = TadaVideoProcessor()
    loader = DataLoader(VideoWindows(videos, settings, arguments.video_backend, arguments.window_seconds,
                                     arguments.stride_seconds,
                                     lambda url: download_video(url, limits.download_timeout,
                                                                limits.max_download_bytes), tables),
                        batch_size=None, num_workers=arguments.num_workers)
    from tqdm.auto import tqdm

    failed = 0
    plots = None if arguments.plot is None else set(arguments.plot)
    for item in tqdm(loader, total=len(videos), unit="video", desc="Predicting", file=sys.stderr):
        rows = predict_rows(model, item, arguments.top_k, arguments.batch_size, device,
                            torch.bfloat16 if arguments.bf16 else None)
        failed += rows[0]["error"] is not None
        output.write(rows)
        if plots is not None and rows[0]["error"] is None and (not plots or item["name"] in plots):
            folder = Path(arguments.output).with_suffix("").as_posix() + "_plots"
            os.makedirs(folder, exist_ok=True)
            stem = re.sub(r"[:/\\]", "_", item["name"]) if item.get("row") else Path(item["name"]).stem
            plot_scores(rows, os.path.join(folder, stem + ".png"))
    print(f"{len(videos)} video(s) predicted into {arguments.output}, {skipped} already there; {failed} could not be "
          f"read (their rows say why).", file=sys.stderr)
    return {"videos": len(videos), "skipped": skipped, "failed": failed}


def command_line() -> None:
    """The console script `hf-video-predict`: exit status 0 when the run ends, failed videos or not (their rows and
    the closing line say which)."""
    main()


if __name__ == "__main__":
    command_line()
