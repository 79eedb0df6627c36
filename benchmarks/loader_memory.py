"""Loader memory: does a DataLoader worker's resident memory keep growing as it decodes clip after clip?

    python benchmarks/loader_memory.py                       # 5,000 training clips per backend
    python benchmarks/loader_memory.py --num_clips 300 --warmup_clips 100

Each backend gets a real `torch.utils.data.DataLoader` with one worker over a `datasets.Dataset` of HMDB51-like
videos (`hmdb51_like.py`) with `VideoClipTransform(train=True)` set as its transform, drawing random rows until
`--num_clips` clips have come through. The worker's RSS is read from /proc every `--sample_every` clips. Growth is
the last reading minus the reading at the end of warm-up (target: at most 50 MB); the peak excursion, the highest
reading after warm-up minus that same reading, shows transient swings of the allocators.
"""

import multiprocessing
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from benchmark_common import argument_parser, print_table, verdict, write_json  # noqa: E402
from hmdb51_like import hmdb51_like_videos  # noqa: E402

TARGET_GROWTH_MB = 50


def parse_arguments(argv=None):
    parser = argument_parser(__doc__)
    parser.add_argument("--work_dir", default="benchmarks/work", help="where the generated videos are kept")
    parser.add_argument("--num_videos", type=int, default=48)
    parser.add_argument("--backends", default="pyav,decord")
    parser.add_argument("--num_clips", type=int, default=5000)
    parser.add_argument("--warmup_clips", type=int, default=500)
    parser.add_argument("--sample_every", type=int, default=100)
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--output", default="benchmarks/results/loader_memory.json")
    return parser.parse_args(argv)


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def worker_rss_growth(videos: list, video_backend: str, num_clips: int, warmup_clips: int, sample_every: int = 100,
                      batch_size: int = 4) -> dict:
    """Run `num_clips` training clips through a one-worker DataLoader and report the worker's RSS readings
    (clips seen -> bytes), its net growth after `warmup_clips` and its peak excursion above that point, in bytes."""
    import datasets
    import torch

    from hf_video.clips.collate import collate_clips
    from hf_video.clips.clip_settings import ClipSettings
    from hf_video.clips.clip_transform import VideoClipTransform

    dataset = datasets.Dataset.from_list([{**video, "label": 0} for video in videos])
    dataset.set_transform(VideoClipTransform(ClipSettings(), train=True, video_backend=video_backend))
    sampler = torch.utils.data.RandomSampler(dataset, replacement=True, num_samples=num_clips,
                                             generator=torch.Generator().manual_seed(0))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=1,
                                         collate_fn=collate_clips, multiprocessing_context="fork")
    before = set(multiprocessing.active_children())
    readings, seen, worker = {}, 0, None
    for batch in loader:
        if worker is None:
            workers = [child for child in multiprocessing.active_children() if child not in before]
            if len(workers) != 1:
                raise RuntimeError(f"expected one DataLoader worker process, found {len(workers)}")
            worker = workers[0].pid
        previous, seen = seen, seen + len(batch["labels"])
        if seen // sample_every > previous // sample_every or seen == num_clips:
            readings[seen] = _rss_bytes(worker)
    at_warmup = readings[min(count for count in readings if count >= warmup_clips)]
    after = [rss for count, rss in readings.items() if count > warmup_clips]
    return {"readings": readings, "rss_after_warmup": at_warmup, "growth_bytes": readings[max(readings)] - at_warmup,
            "peak_excursion_bytes": max(after, default=at_warmup) - at_warmup}


def main(argv=None):
    args = parse_arguments(argv)
    if args.num_clips <= args.warmup_clips:
        raise SystemExit(f"--num_clips ({args.num_clips}) must exceed --warmup_clips ({args.warmup_clips}).")
    videos = hmdb51_like_videos(args.work_dir, args.num_videos)
    results = {"settings": vars(args), "backends": {}}
    rows = []
    for backend in args.backends.split(","):
        measured = worker_rss_growth(videos, backend, args.num_clips, args.warmup_clips, args.sample_every,
                                     args.batch_size)
        growth_mb = measured["growth_bytes"] / 2**20
        measured["verdict"] = verdict(growth_mb, TARGET_GROWTH_MB, True)
        results["backends"][backend] = measured
        readings = measured["readings"]
        rows.append([backend, f"{readings[min(readings)] / 2**20:.0f}", f"{measured['rss_after_warmup'] / 2**20:.0f}",
                     f"{readings[max(readings)] / 2**20:.0f}", f"{growth_mb:.1f}",
                     f"{measured['peak_excursion_bytes'] / 2**20:.1f}", measured["verdict"]])
    print(f"One DataLoader worker, {args.num_clips} training clips per backend from {len(videos)} HMDB51-like "
          f"videos; warm-up {args.warmup_clips} clips\n")
    print_table(["backend", "first MiB", "after warm-up MiB", "last MiB", "growth MiB", "peak excursion MiB",
                 "target (growth)"], rows)
    write_json(args.output, results)


if __name__ == "__main__":
    main()
