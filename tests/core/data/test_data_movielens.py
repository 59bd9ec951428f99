"""The MovieLens loader on small archives written here (no network in tests)."""

from __future__ import annotations

import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
from warprec.data.movielens import movielens
from warprec.errors import DataError
from warprec.utils.registry import dataset_registry

ML_100K = "1\t31\t4\t881250949\n2\t12\t5\t891717742\n1\t12\t3\t878887116\n"
ML_1M = "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n"


def _archive(folder: Path, name: str, member: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, text)
    return path


def test_reads_100k_from_a_local_archive(tmp_path: Path) -> None:
    path = _archive(tmp_path, "ml-100k.zip", "ml-100k/u.data", ML_100K)
    frame = movielens("100k", path=path)
    assert list(frame.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert frame["item_id"].tolist() == [31, 12, 12]
    assert frame["rating"].dtype == "float32" and frame["timestamp"].iloc[0] == 881250949


def test_reads_1m_with_its_double_colon_separator(tmp_path: Path) -> None:
    path = _archive(tmp_path, "ml-1m.zip", "ml-1m/ratings.dat", ML_1M)
    frame = movielens("ml-1m", path=path)
    assert frame["user_id"].tolist() == [1, 1, 2] and frame["rating"].tolist() == [5.0, 3.0, 4.0]


def test_reads_an_unpacked_folder(tmp_path: Path) -> None:
    (tmp_path / "u.data").write_text(ML_100K)
    assert len(movielens(path=tmp_path)) == 3


def test_uses_the_cache_without_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _archive(tmp_path / "cache", "ml-100k.zip", "ml-100k/u.data", ML_100K)
    monkeypatch.setenv("WARPREC_CACHE", str(tmp_path / "cache"))
    assert len(movielens(download=False)) == 3
    with pytest.raises(DataError, match=r"ml-1m\.zip: not found and download is off"):
        movielens("1m", download=False)


def test_downloads_into_the_cache_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _archive(tmp_path / "remote", "ml-100k.zip", "ml-100k/u.data", ML_100K)
    calls: list[str] = []

    def fake_retrieve(url: str, target: str) -> None:
        calls.append(url)
        Path(target).write_bytes(source.read_bytes())

    monkeypatch.setattr(urllib.request, "urlretrieve", fake_retrieve)
    cache = tmp_path / "cache"
    assert len(movielens(cache_dir=cache)) == 3
    assert len(movielens(cache_dir=cache)) == 3
    assert calls == ["https://files.grouplens.org/datasets/movielens/ml-100k.zip"]
    assert [p.name for p in cache.iterdir()] == ["ml-100k.zip"]


def test_failed_download_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(url: str, target: str) -> None:
        Path(target).write_bytes(b"half")
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlretrieve", offline)
    with pytest.raises(DataError, match=r"cannot download https://\S+ml-100k\.zip .*by hand"):
        movielens(cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown MovieLens version '20m'"):
        movielens("20m", path=tmp_path)
    (tmp_path / "x.zip").write_text("not a zip")
    with pytest.raises(DataError, match=r"x\.zip: not a zip archive"):
        movielens(path=tmp_path / "x.zip")
    wrong = _archive(tmp_path, "w.zip", "other.txt", "x")
    with pytest.raises(DataError, match=r"w\.zip: the archive has no ml-100k/u\.data"):
        movielens(path=wrong)
    garbled = _archive(tmp_path, "g.zip", "ml-100k/u.data", "a\tb\n")
    with pytest.raises(DataError, match="not in the MovieLens format"):
        movielens(path=garbled)


def test_registered_as_a_dataset() -> None:
    assert dataset_registry.get_class("movielens") is movielens
