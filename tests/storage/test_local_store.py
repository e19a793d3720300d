"""LocalStore specifics: layout on disk, atomic replacement, failure modes."""

from __future__ import annotations

import os

import pytest

from storage.base import ObjectNotFound, StoreError, StoreUnavailable
from storage.local import LocalStore


def test_object_is_a_plain_file_with_its_type_beside_it(tmp_path):
    store = LocalStore(tmp_path)
    store.put("assets/ab/abc", b"bytes", "image/webp")
    assert (tmp_path / "assets" / "ab" / "abc").read_bytes() == b"bytes"
    assert (tmp_path / "assets" / "ab" / ".abc.type").read_text() == "image/webp"
    assert store.content_type("assets/ab/abc") == "image/webp"
    assert list(store.iter_keys()) == ["assets/ab/abc"]


def test_no_temporary_files_are_left_behind(tmp_path):
    store = LocalStore(tmp_path)
    for i in range(3):
        store.put("k/v", str(i).encode(), "text/plain")
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == [".v.type", "v"]


def test_a_failed_replace_keeps_the_old_object(tmp_path, monkeypatch):
    store = LocalStore(tmp_path)
    store.put("k/v", b"old", "text/plain")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(StoreError, match="No space left"):
        store.put("k/v", b"new", "text/plain")
    monkeypatch.undo()
    assert store.get("k/v") == b"old"
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == [".v.type", "v"]


def test_a_directory_is_not_an_object(tmp_path):
    store = LocalStore(tmp_path)
    store.put("dir/child", b"1", "text/plain")
    assert not store.exists("dir")
    with pytest.raises(ObjectNotFound):
        store.get("dir")
    with pytest.raises(ObjectNotFound):
        store.get("dir/child/deeper")
    store.delete("dir")
    assert store.get("dir/child") == b"1"


def test_an_object_in_the_way_of_a_directory_is_a_store_error(tmp_path):
    store = LocalStore(tmp_path)
    store.put("file", b"1", "text/plain")
    with pytest.raises(StoreError):
        store.put("file/child", b"2", "text/plain")


def test_objects_written_are_readable_by_others(tmp_path):
    store = LocalStore(tmp_path)
    store.put("a", b"1", "text/plain")
    assert (tmp_path / "a").stat().st_mode & 0o044 == 0o044


def test_ping_creates_the_root_and_fails_when_it_cannot(tmp_path):
    LocalStore(tmp_path / "new" / "root").ping()
    assert (tmp_path / "new" / "root").is_dir()

    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    with pytest.raises(StoreUnavailable):
        LocalStore(blocker / "objects").ping()


def test_constructing_does_not_touch_the_disk(tmp_path):
    LocalStore(tmp_path / "later")
    assert not (tmp_path / "later").exists()
