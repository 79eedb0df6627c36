"""The Kinetics builder on generated trees in the CVDF layout and in per-class folders: H.264 MP4 videos, the 400
sorted classes, missing videos skipped, counted and listed (or fatal), bad CSV lines named, the unlabelled test list,
and Kinetics-600/700-style lists through their own classes."""

import logging
import shutil
from pathlib import Path

import pytest

from hf_video.clips.clip_settings import ClipSettings
from hf_video.clips.clip_transform import VideoClipTransform
from hf_video.clips.video_io import read_frame_list
from hf_video.data.dataset_kinds import KINETICS400
from hf_video.data.kinetics import KineticsDataError, kinetics_class_names, load_kinetics
from hf_video.data.kinetics_labels import KINETICS400_CLASSES
from hf_video.data.video_writing import write_video
from helpers.video_files import frame_number, numbered_frames

HEADER = "label,youtube_id,time_start,time_end,split"
# (label, youtube id, start, end, split folder, frames): real class names, spaces and parentheses included.
PRESENT = (
    ("abseiling", "---QUuC4vJs", 3, 13, "train", 20),
    ("passing American football (in game)", "-5oY9nxYLtQ", 14, 24, "train", 17),
    ("zumba", "a_b-c_d0e1f", 0, 10, "train", 23),
    ("abseiling", "0wR5jVB-WPk", 417, 427, "val", 19),
    ("zumba", "3caPS4FHFF8", 30, 40, "val", 21),
    ("zumba", "t3stVideo01", 5, 15, "test", 16),
)
MISSING = (("abseiling", "removed0001", 10, 20, "train"), ("zumba", "removed0002", 0, 10, "val"))
SPLIT_OF_FOLDER = {"train": "train", "val": "validate", "test": "test"}  # the CSV's own split column


def file_name(youtube_id, start, end):
    return f"{youtube_id}_{start:06d}_{end:06d}.mp4"


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("kinetics_videos")
    for _, youtube_id, start, end, _, num_frames in PRESENT:
        write_video(folder / file_name(youtube_id, start, end), numbered_frames(num_frames, 48, 64), fps=25,
                    video_format="h264_mp4")
    return folder


def write_tree(root: Path, videos: Path, per_class_folders=False, underscores=False, lines=None) -> Path:
    (root / "annotations").mkdir(parents=True)
    for _, youtube_id, start, end, folder, _ in PRESENT:
        label = next(row[0] for row in PRESENT if row[1] == youtube_id)
        target = root / folder
        if per_class_folders:
            target = target / (label.replace(" ", "_") if underscores else label)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(videos / file_name(youtube_id, start, end), target / file_name(youtube_id, start, end))
    rows = {folder: [] for folder in SPLIT_OF_FOLDER}
    for label, youtube_id, start, end, folder, *_ in PRESENT + MISSING:
        # The CSVs quote labels that hold a comma or parentheses in some copies: both must read the same.
        quoted = f'"{label}"' if "(" in label else label
        rows[folder].append(f"{quoted},{youtube_id},{start},{end},{SPLIT_OF_FOLDER[folder]}")
    for folder, folder_rows in rows.items():
        text = "\n".join([HEADER, *(lines or {}).get(folder, folder_rows)]) + "\n"
        (root / "annotations" / f"{folder}.csv").write_text(text)
    return root


def expected_rows(folder):
    return {(f"{'validation' if folder == 'val' else folder}/{file_name(youtube_id, start, end)[:-4]}",
             KINETICS400_CLASSES.index(label), num_frames)
            for label, youtube_id, start, end, row_folder, num_frames in PRESENT if row_folder == folder}


@pytest.mark.parametrize("layout", ["flat", "class folders", "class folders with underscores"])
def test_the_cvdf_lists_give_the_sorted_classes_and_skip_missing_videos_with_one_warning(
        videos, tmp_path, caplog, layout):
    tree = write_tree(tmp_path / "k400", videos, per_class_folders=layout != "flat",
                      underscores=layout.endswith("underscores"))
    with caplog.at_level(logging.WARNING):
        dataset = load_kinetics(str(tree), cache_dir=str(tmp_path / "cache"))
    assert set(dataset) == {"train", "validation", "test"}
    assert dataset["train"].features["label"].names == list(KINETICS400_CLASSES) == sorted(KINETICS400_CLASSES)
    for split, folder in (("train", "train"), ("validation", "val"), ("test", "test")):
        assert {(row["video_id"], row["label"], row["num_frames"]) for row in dataset[split]} == expected_rows(folder)
    warnings = [record.getMessage() for record in caplog.records if "have no file" in record.getMessage()]
    assert len(warnings) == 1
    assert "2 listed video(s) have no file and are left out (train: 1 of 4, validation: 1 of 3)" in warnings[0]
    assert "train.csv:5: " in warnings[0] and "removed0001_000010_000020.mp4" in warnings[0]
    assert "val.csv:4: " in warnings[0] and "removed0002_000000_000010.mp4" in warnings[0]


def test_missing_videos_are_fatal_when_asked(videos, tmp_path):
    tree = write_tree(tmp_path / "k400", videos)
    with pytest.raises(KineticsDataError) as caught:
        load_kinetics(str(tree), cache_dir=str(tmp_path / "cache"), allow_missing_videos=False)
    assert len(caught.value.problems) == 2
    assert all("the video is missing (allow_missing_videos=False)" in problem for problem in caught.value.problems)


def test_frames_of_an_h264_row_are_the_ones_written(videos, tmp_path):
    dataset = load_kinetics(str(write_tree(tmp_path / "k400", videos)), cache_dir=str(tmp_path / "cache"))
    settings = ClipSettings(num_frames=4, sample_interval=2, target_fps=25, image_size=32)
    row = dataset["validation"][0]
    frames = read_frame_list(row["video"], list(range(row["num_frames"])), num_frames=row["num_frames"],
                             packets=row["packets"])
    assert [frame_number(frame) for frame in frames] == list(range(row["num_frames"]))
    assert VideoClipTransform(settings, train=True)(dataset["train"][:2])["pixel_values"][0].shape == (4, 3, 32, 32)


def test_bad_lines_and_labels_are_named_with_their_line(videos, tmp_path):
    lines = {"train": ["abseiling,---QUuC4vJs,3,13,train",
                       "abseiling,short_line,3",
                       "juggling kittens,-5oY9nxYLtQ,14,24,train",
                       "zumba,a_b-c_d0e1f,zero,10,train",
                       ",a_b-c_d0e1f,0,10,train",
                       "abseiling,---QUuC4vJs,3,13,train",
                       "zumba,a_b-c_d0e1f,0,10,train"]}
    tree = write_tree(tmp_path / "k400", videos, lines=lines)
    (tree / "annotations" / "test.csv").write_text("youtube_id,start\nabc,1\n")
    with pytest.raises(KineticsDataError) as caught:
        load_kinetics(str(tree), cache_dir=str(tmp_path / "cache"))
    problems = caught.value.problems
    assert any(problem.startswith(f"{tree / 'annotations' / 'train.csv'}:3: 'abseiling,short_line,3' has 3 fields")
               for problem in problems)
    assert f"{tree / 'annotations' / 'train.csv'}:4: unknown label 'juggling kittens' (not one of the 400 " \
           "class_names)" in problems
    assert f"{tree / 'annotations' / 'train.csv'}:5: time_start 'zero' is not a whole number of seconds" in problems
    assert f"{tree / 'annotations' / 'train.csv'}:6: no label (not one of the 400 class_names)" in problems
    assert any(problem.startswith(f"{tree / 'annotations' / 'train.csv'}:7: ---QUuC4vJs_000003_000013.mp4 is "
                                  "listed twice") for problem in problems)
    assert any(problem.startswith(f"{tree / 'annotations' / 'test.csv'}:1: the header 'youtube_id,start' lacks "
                                  "['time_start', 'time_end']") for problem in problems)
    assert len(problems) == 6


def test_a_video_in_another_class_folder_is_named(videos, tmp_path):
    tree = write_tree(tmp_path / "k400", videos, per_class_folders=True)
    shutil.move(tree / "train" / "zumba" / file_name("a_b-c_d0e1f", 0, 10), tree / "train" / "abseiling")
    with pytest.raises(KineticsDataError, match=r"a_b-c_d0e1f_000000_000010.mp4 is labelled 'zumba' but lies in the "
                                                r"class folder .*abseiling"):
        load_kinetics(str(tree), cache_dir=str(tmp_path / "cache"))


def test_an_unlabelled_or_absent_test_split_is_left_out(videos, tmp_path, caplog):
    tree = write_tree(tmp_path / "k400", videos)
    (tree / "annotations" / "test.csv").write_text("label,youtube_id,time_start,time_end,split\n"
                                                   ",t3stVideo01,5,15,test\n")
    with caplog.at_level(logging.INFO):
        assert set(load_kinetics(str(tree), cache_dir=str(tmp_path / "cache"))) == {"train", "validation"}
    assert "test.csv has no labels: the test split is left out" in caplog.text
    shutil.rmtree(tree / "test")
    (tree / "annotations" / "test.csv").write_text(f"{HEADER}\nzumba,t3stVideo01,5,15,test\n")
    with caplog.at_level(logging.WARNING):
        assert set(load_kinetics(str(tree), cache_dir=str(tmp_path / "cache2"))) == {"train", "validation"}
    assert "no " in caplog.text and "test/ folder: the test split is left out" in caplog.text
    shutil.rmtree(tree / "val")
    with pytest.raises(KineticsDataError, match=r"missing .*val/ \(the validation videos\)"):
        load_kinetics(str(tree), cache_dir=str(tmp_path / "cache3"))


def test_kinetics_600_style_lists_take_their_own_sorted_classes(videos, tmp_path, caplog):
    tree = write_tree(tmp_path / "k600", videos)
    text = (tree / "annotations" / "train.csv").read_text().replace("abseiling,", "yodelling,")
    (tree / "annotations" / "train.csv").write_text(text)
    with pytest.raises(KineticsDataError, match="unknown label 'yodelling'"):
        load_kinetics(str(tree), cache_dir=str(tmp_path / "cache"))
    classes = kinetics_class_names(str(tree))
    assert classes == ("passing American football (in game)", "yodelling", "zumba")
    with caplog.at_level(logging.WARNING):
        dataset = load_kinetics(str(tree), cache_dir=str(tmp_path / "cache"), class_names=classes)
    assert dataset["train"].features["label"].names == list(classes)
    assert sorted(dataset["train"]["label"]) == [0, 1, 2]  # the validation list's abseiling row is left out
    assert "listed video(s) of 1 label(s) outside class_names are left out: abseiling" in caplog.text


def test_without_data_dir_it_says_where_to_get_the_videos(tmp_path):
    with pytest.raises(KineticsDataError, match=r"not downloaded automatically .*cvdfoundation/kinetics-dataset"):
        load_kinetics(None, cache_dir=str(tmp_path / "cache"))


def test_the_kind_evaluates_on_validation_with_the_authors_views():
    assert (KINETICS400.eval_split, KINETICS400.eval_views, KINETICS400.training_flip()) == \
        ("validation", (10, 3), (0.5, None))


def test_a_clip_in_two_splits_and_an_id_that_is_a_path_are_named(videos, tmp_path):
    """A clip listed in train.csv and val.csv would be evaluated after training on it (SSv2 refuses the same); a
    youtube_id with a path in it is refused by the rule every builder applies."""
    train = [f"{label},{youtube_id},{start},{end},train" for label, youtube_id, start, end, folder, _ in PRESENT
             if folder == "train"]
    val = [f"{label},{youtube_id},{start},{end},validate" for label, youtube_id, start, end, folder, _ in PRESENT
           if folder == "val"]
    tree = write_tree(tmp_path / "k400", videos, lines={"train": train, "val": val + [train[0], "zumba,../x,0,10,val"]})
    with pytest.raises(KineticsDataError) as caught:
        load_kinetics(str(tree), cache_dir=str(tmp_path / "cache"))
    problems = caught.value.problems
    val_csv = tree / "annotations" / "val.csv"
    assert any(problem.startswith(f"{val_csv}:{len(val) + 2}: ") and "listed twice (first at "
               f"{tree / 'annotations' / 'train.csv'}:2)" in problem for problem in problems), problems
    assert any(problem.startswith(f"{val_csv}:{len(val) + 3}: youtube_id: '../x' is not a file name inside")
               for problem in problems), problems
    assert len(problems) == 2


def test_the_kinetics400_classes_are_torchvisions_and_the_converters_label_set():
    """One list in the package (data/kinetics_labels.py), held to an independent one: torchvision's Kinetics-400
    metadata, in the standard (alphabetical) label order; the converters' `--label_set kinetics400` is the same list."""
    from torchvision.models.video import R3D_18_Weights

    from hf_video.models.label_sets import named_label_set

    assert list(R3D_18_Weights.KINETICS400_V1.meta["categories"]) == list(KINETICS400_CLASSES)
    assert named_label_set("kinetics400") == list(KINETICS400_CLASSES)
