"""RAR extraction of the official HMDB51 archives' format, through the datasets download manager, on real RAR files
from rarfile's source distribution (fetched by `make install` into .test-data/; no tool here can write RAR)."""

import shutil
import tarfile
from pathlib import Path

import datasets
import pytest
import rarfile

from hf_video.data.hmdb51 import Hmdb51DataError, extract_archives
from helpers.shipped_data import shipped_package_file


@pytest.fixture(scope="module")
def rar_files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("rar")
    with tarfile.open(shipped_package_file("rarfile-*.tar.gz")) as sdist:
        for member in sdist.getmembers():
            if "/test/files/" in member.name and member.name.endswith(".rar"):
                member.name = Path(member.name).name
                sdist.extract(member, folder, filter="data")
    return folder


@pytest.fixture
def dl_manager(tmp_path):
    return datasets.DownloadManager(download_config=datasets.DownloadConfig(cache_dir=str(tmp_path / "cache")))


def _extracted_files(folder) -> dict:
    return {str(path.relative_to(folder)): path.read_bytes() for path in Path(folder).rglob("*") if path.is_file()}


@pytest.mark.parametrize("archive", ["rar3-subdirs.rar", "rar5-subdirs.rar"])
def test_real_rar_archives_extract_with_their_folders(rar_files, dl_manager, archive):
    """RAR 3 and RAR 5 archives with nested folders and names with spaces and non-ASCII (stored members, which
    rarfile reads without an external tool)."""
    extracted = _extracted_files(extract_archives(dl_manager, str(rar_files / archive)))
    with rarfile.RarFile(rar_files / archive) as original:
        expected = {info.filename: original.read(info) for info in original.infolist() if not info.is_dir()}
    assert extracted == expected
    assert "sub/with space/long fn.txt" in extracted


def test_compressed_rar_extracts_with_a_tool_or_says_what_to_install(rar_files, dl_manager):
    archive = str(rar_files / "rar3-solid.rar")  # compressed, RAR 3 like the official archives: needs unrar or unar
    if shutil.which("unrar") or shutil.which("unar"):
        extracted = _extracted_files(extract_archives(dl_manager, archive))
        assert sorted(extracted) == ["stest1.txt", "stest2.txt"] and all(extracted.values())
    else:  # no tool, or only bsdtar, which rarfile cannot extract these with
        with pytest.raises(Hmdb51DataError, match=r"(?s)rar3-solid\.rar.*install .?unar"):
            extract_archives(dl_manager, archive)
