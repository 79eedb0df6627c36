"""Prepare speed: how long a builder takes to prepare a tree of videos, cold and from its cache, and what that
projects to for the full dataset.

    python benchmarks/prepare_speed.py                 # HMDB51: num_proc=2, 2 cold runs, 5 cached reloads
    python benchmarks/prepare_speed.py --dataset ssv2 --num_videos 5000 --cold_runs 1
    python benchmarks/prepare_speed.py --dataset kinetics400 --num_videos 5000 --cold_runs 1

HMDB51's tree (`hmdb51_like.full_hmdb51_tree`) has every real HMDB51 file name (brackets, `!`, `&` and all) and
every real frame count, at 320x240, with split files in the official format. The SSv2 and Kinetics trees
(`large_trees`) follow their official layouts with the real classes, at those datasets' sizes and lengths. A tree is
written once into the work folder. A cold run prepares into an empty cache folder: the builder reads the lists,
probes every video (decoding it to count its frames) and writes the Arrow files. A cached reload is the load again
on the same cache. The projection scales the cold run's cost per video (process-seconds: time x num_proc / videos)
to the full dataset on `--projected_num_proc` processes, assuming probing scales with processes (it is
embarrassingly parallel; the disk must keep up).
"""

import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from benchmark_common import argument_parser, print_table, summarize, verdict, write_json  # noqa: E402
from hmdb51_like import full_hmdb51_tree  # noqa: E402
from large_trees import kinetics_tree, ssv2_tree  # noqa: E402

TARGET_COLD_SECONDS = 60  # HMDB51's full tree with num_proc=2, at most
TARGET_CACHED_SECONDS = 2  # at most
TARGET_FULL_PREPARE_SECONDS = 3600  # SSv2 and Kinetics, projected on 16 processes, at most
FULL_SIZE = {"hmdb51": 6_766, "ssv2": 220_847, "kinetics400": 240_000}  # videos in the full datasets


def parse_arguments(argv=None):
    parser = argument_parser(__doc__)
    parser.add_argument("--dataset", choices=sorted(FULL_SIZE), default="hmdb51")
    parser.add_argument("--work_dir", default="benchmarks/work", help="where the generated tree is kept")
    parser.add_argument("--num_proc", type=int, default=2)
    parser.add_argument("--num_videos", type=int, default=5000, help="SSv2 and Kinetics: videos in the tree")
    parser.add_argument("--projected_num_proc", type=int, default=16)
    parser.add_argument("--num_classes", type=int, default=51, help="HMDB51: fewer classes for a quick check")
    parser.add_argument("--size", default="320x240", help="HMDB51: frame size WIDTHxHEIGHT of the generated videos")
    parser.add_argument("--cold_runs", type=int, default=2)
    parser.add_argument("--cached_runs", type=int, default=5)
    parser.add_argument("--output", default=None,
                        help="default: benchmarks/results/prepare_speed.json (HMDB51), prepare_speed_<dataset>.json")
    arguments = parser.parse_args(argv)
    if arguments.output is None:
        suffix = "" if arguments.dataset == "hmdb51" else f"_{arguments.dataset}"
        arguments.output = f"benchmarks/results/prepare_speed{suffix}.json"
    return arguments


def tree_and_classes(args) -> tuple[Path, int, tuple | None]:
    """(the generated tree, its number of video files, the classes to prepare it with: None for the default)."""
    if args.dataset == "ssv2":
        tree = ssv2_tree(args.work_dir, args.num_videos)
        return tree, sum(1 for _ in (tree / "20bn-something-something-v2").iterdir()), None
    if args.dataset == "kinetics400":
        tree = kinetics_tree(args.work_dir, args.num_videos)
        return tree, sum(1 for folder in ("train", "val") for _ in (tree / folder).iterdir()), None
    width, height = (int(side) for side in args.size.split("x"))
    tree = full_hmdb51_tree(args.work_dir, width, height, args.num_proc, args.num_classes)
    return (tree, sum(1 for _ in (tree / "videos").glob("*/*")),
            tuple(sorted(folder.name for folder in (tree / "videos").iterdir())))


def timed_load(dataset, data_dir, cache_dir, num_proc, class_names):
    from hf_video.data.dataset_kinds import DATASET_KINDS

    kind = DATASET_KINDS[dataset]
    start = time.perf_counter()
    loaded = kind.load(str(data_dir), split=1, cache_dir=str(cache_dir), num_proc=num_proc,
                       **({} if class_names is None else {"class_names": class_names}))
    seconds = time.perf_counter() - start
    return seconds, {split: loaded[split].num_rows for split in loaded}


def fingerprint_seconds(dataset: str, tree: Path, repetitions: int) -> list:
    """Seconds to fingerprint the files a cached load checks (`video_builder.files_fingerprint`)."""
    from hf_video.data.hmdb51 import Hmdb51Config
    from hf_video.data.kinetics import KineticsConfig
    from hf_video.data.ssv2 import Ssv2Config
    from hf_video.data.video_builder import files_fingerprint

    config = {"hmdb51": Hmdb51Config, "ssv2": Ssv2Config, "kinetics400": KineticsConfig}[dataset]
    samples = []
    for _ in range(repetitions):
        start = time.perf_counter()
        files_fingerprint(str(tree), *config.files_read)
        samples.append(time.perf_counter() - start)
    return samples


def main(argv=None):
    args = parse_arguments(argv)
    import datasets

    datasets.disable_progress_bars()
    logging.getLogger("hf_video").setLevel(logging.ERROR)  # the missing Kinetics videos' warning lists every one
    tree, num_videos, class_names = tree_and_classes(args)
    cold, cached, rows = [], [], None
    for _ in range(args.cold_runs):
        cache_dir = Path(tempfile.mkdtemp(prefix=f"{args.dataset}_cache_"))
        try:
            seconds, rows = timed_load(args.dataset, tree, cache_dir, args.num_proc, class_names)
            cold.append(seconds)
            if len(cold) == args.cold_runs:  # reload from the last cold run's cache
                cached = [timed_load(args.dataset, tree, cache_dir, args.num_proc, class_names)[0]
                          for _ in range(args.cached_runs)]
        finally:
            shutil.rmtree(cache_dir, ignore_errors=True)

    results = {"settings": vars(args), "videos_in_tree": num_videos, "rows": rows,
               "cold_seconds": summarize(cold), "cached_seconds": summarize(cached)}
    per_video = results["cold_seconds"]["median"] * args.num_proc / num_videos
    full = FULL_SIZE[args.dataset]
    results["process_seconds_per_video"] = per_video
    results["projected_full_prepare_seconds"] = per_video * full / args.projected_num_proc
    # Of a cached load, the part that grows with the dataset is the cache key's fingerprint of every file (its size
    # and time); opening the Arrow files maps them, whatever their size.
    fingerprint = summarize(fingerprint_seconds(args.dataset, tree, repetitions=3))
    results["fingerprint_seconds"] = fingerprint
    results["projected_full_cached_seconds"] = (results["cached_seconds"]["median"]
                                                + fingerprint["median"] * (full - num_videos) / num_videos)
    results["verdicts"] = {"cached": verdict(results["projected_full_cached_seconds"] if args.dataset != "hmdb51"
                                             else results["cached_seconds"]["median"], TARGET_CACHED_SECONDS, True)}
    if args.dataset == "hmdb51":
        results["verdicts"]["cold"] = verdict(results["cold_seconds"]["median"], TARGET_COLD_SECONDS, True)
    else:
        results["verdicts"]["cold"] = verdict(results["projected_full_prepare_seconds"],
                                              TARGET_FULL_PREPARE_SECONDS, True)
    print(f"{args.dataset} tree of {num_videos} videos -> {rows} rows, num_proc={args.num_proc}\n")
    print_table(["run", "median s", "min s", "max s", "runs", "target"], [
        [name, f"{summary['median']:.2f}", f"{summary['min']:.2f}", f"{summary['max']:.2f}",
         len(summary["samples"]), results["verdicts"][name]]
        for name, summary in (("cold", results["cold_seconds"]), ("cached", results["cached_seconds"]))])
    print(f"\n{1000 * per_video:.1f} process-ms per video; the full {full:,} videos: about "
          f"{results['projected_full_prepare_seconds'] / 60:.0f} min on {args.projected_num_proc} processes, "
          f"cached load about {results['projected_full_cached_seconds']:.1f} s")
    write_json(args.output, results)


if __name__ == "__main__":
    main()
