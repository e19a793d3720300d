"""What every object store backend promises (LocalStore, MinioStore over S3 wire, MemoryStore)."""

from __future__ import annotations

import pytest

from storage.base import InvalidKey, ObjectNotFound


def test_put_then_get_returns_the_same_bytes(store):
    store.put("assets/ab/object", b"\x00\x01binary\xff", "image/png")
    assert store.get("assets/ab/object") == b"\x00\x01binary\xff"
    assert store.exists("assets/ab/object")


def test_put_replaces_and_keeps_the_new_content_type(store):
    store.put("a/b", b"old", "image/png")
    store.put("a/b", b"new", "image/jpeg")
    assert store.get("a/b") == b"new"
    assert store.content_type("a/b") == "image/jpeg"


def test_missing_object_raises_object_not_found(store):
    with pytest.raises(ObjectNotFound) as caught:
        store.get("assets/zz/missing")
    assert caught.value.key == "assets/zz/missing"
    assert not store.exists("assets/zz/missing")


def test_delete_removes_and_a_missing_object_is_fine(store):
    store.put("x/y", b"1", "text/plain")
    store.delete("x/y")
    assert not store.exists("x/y")
    store.delete("x/y")
    store.delete("never/was")


def test_iter_keys_lists_by_prefix(store):
    for key in [
        "renditions/aa/thumb_ui",
        "renditions/aa/thumb_feed",
        "renditions/ab/x",
        "assets/aa/1",
    ]:
        store.put(key, b"k", "application/octet-stream")
    assert sorted(store.iter_keys("renditions/aa/")) == [
        "renditions/aa/thumb_feed",
        "renditions/aa/thumb_ui",
    ]
    assert sorted(store.iter_keys("renditions/a")) == [
        "renditions/aa/thumb_feed",
        "renditions/aa/thumb_ui",
        "renditions/ab/x",
    ]
    assert len(list(store.iter_keys(""))) == 4
    assert list(store.iter_keys("nothing/")) == []


def test_empty_object_round_trips(store):
    store.put("empty/object", b"", "application/octet-stream")
    assert store.get("empty/object") == b""
    assert store.exists("empty/object")


@pytest.mark.parametrize(
    "key",
    ["", "/abs/path", "a/../b", "../up", "a//b", "a/./b", ".hidden", "a/.b", "a\\b", "a b", "a/"],
)
def test_unsafe_keys_are_refused(store, key):
    with pytest.raises(InvalidKey):
        store.put(key, b"x", "text/plain")
    with pytest.raises(InvalidKey):
        store.get(key)


def test_ping_answers_when_reachable_and_changes_nothing(store):
    store.put("ping/kept", b"1", "text/plain")
    assert store.ping() is None
    assert list(store.iter_keys("")) == ["ping/kept"]
    assert store.get("ping/kept") == b"1"
