"""The node-id-to-cassette-name rule (docs/pytest.md): readable, stable, always a name tapedeck
accepts, and different for different tests."""

import re

import pytest

from pytest_tapedeck import cassette_name_for, validate_cassette_name

HASHED = re.compile(r"-[0-9a-f]{8}$")


@pytest.mark.parametrize("nodeid, name", [
    ("tests/test_chat.py::test_reply", "tests/test_chat/test_reply"),
    ("tests/test_chat.py::TestChat::test_reply", "tests/test_chat/TestChat/test_reply"),
    ("tests/test_chat.py::TestChat::test_reply[gpt-4o]",
     "tests/test_chat/TestChat/test_reply-gpt-4o"),
    ("test_top.py::test_a[1.5-True]", "test_top/test_a-1.5-True"),
    ("tests/api/test_x.py::TestA::TestB::test_c", "tests/api/test_x/TestA/TestB/test_c"),
    ("tests/test_chat.py::test_reply[]", "tests/test_chat/test_reply-"),
    ("tests/test_chat.py::test_reply[..]", "tests/test_chat/test_reply-.."),
])
def test_readable_names_keep_the_node_id(nodeid, name):
    assert cassette_name_for(nodeid) == name


@pytest.mark.parametrize("nodeid", [
    "tests/test_chat.py::test_reply[tape deck]",
    "tests/test_chat.py::test_reply[a/b]",
    "tests/test_chat.py::test_reply[a::b]",
    "tests/test_chat.py::test_reply[ümlaut]",
    "../outside/test_up.py::test_a",
    "tests/my tests/test_x.py::test_a",
    "tests/../test_x.py::test_a",
])
def test_a_replaced_character_adds_the_node_ids_hash(nodeid):
    name = cassette_name_for(nodeid)
    assert validate_cassette_name(name) is None, (name, validate_cassette_name(name))
    assert HASHED.search(name), name
    assert cassette_name_for(nodeid) == name, "the same node id gives the same name every time"


def test_ids_that_differ_only_in_replaced_characters_get_different_names():
    ids = [f"tests/test_chat.py::test_reply[{p}]" for p in ("a b", "a/b", "a:b", "a-b", "a_b")]
    names = [cassette_name_for(i) for i in ids]
    assert len(set(names)) == len(names), names
    assert names[3] == "tests/test_chat/test_reply-a-b", "no hash when nothing was replaced"


def test_a_long_node_id_folds_to_200_bytes_with_its_hash():
    long_param = "x" * 300
    a = cassette_name_for(f"tests/test_chat.py::test_reply[{long_param}]")
    b = cassette_name_for(f"tests/test_chat.py::test_reply[{long_param}y]")
    for name in (a, b):
        assert len(name.encode()) <= 200 and validate_cassette_name(name) is None, name
        assert name.startswith("tests/test_chat/test_reply-xxx") and HASHED.search(name), name
    assert a != b


def test_a_fold_never_ends_in_a_slash():
    nodeid = "a" * 190 + "/b.py::test_x[long id]"
    name = cassette_name_for(nodeid)
    assert validate_cassette_name(name) is None, name


@pytest.mark.parametrize("name, problem", [
    ("ok/name-1.v2_x", None),
    ("", "empty"),
    ("/abs", "empty segment"),
    ("a//b", "empty segment"),
    ("a/", "empty segment"),
    ("a/../b", "'..'"),
    ("./a", "'.'"),
    ("a b", "only letters"),
    ("x" * 201, "200 bytes"),
])
def test_validate_cassette_name_follows_tapedecks_rule(name, problem):
    got = validate_cassette_name(name)
    if problem is None:
        assert got is None
    else:
        assert got is not None and problem in got, got
