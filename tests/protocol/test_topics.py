"""The topic tree: every name is built and parsed in one place, and nothing else parses (SEC-17, SEC-19)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import topics
from protocol.topics import TopicError

SETTINGS = settings(max_examples=200, deadline=None)
slugs = st.from_regex(r"[a-z0-9][a-z0-9-]{0,62}", fullmatch=True)


def test_the_tree_is_the_one_in_the_design() -> None:
    """DESIGN.md decision 3, spelled out."""
    assert topics.device_up("ange", topics.ACTIONS) == "tinget/v1/kiosk/ange/up/actions"
    assert topics.device_up("follinge", "heartbeat") == "tinget/v1/kiosk/follinge/up/heartbeat"
    assert topics.device_up("ange", "state") == "tinget/v1/kiosk/ange/up/state"
    assert topics.device_down("ange", topics.ACK) == "tinget/v1/kiosk/ange/down/ack"
    assert topics.device_down("ange", "command") == "tinget/v1/kiosk/ange/down/command"
    assert topics.set_version("polls") == "tinget/v1/sets/polls"
    assert topics.office_presence("ange") == "tinget/v1/office/ange/presence"


def test_subscriptions_cover_what_each_side_reads() -> None:
    """The ingest shares one subscription to every up topic; a device reads its down topics and the sets."""
    assert topics.ingest_subscription() == "$share/ingest/tinget/v1/kiosk/+/up/#"
    assert topics.ingest_subscription("ingest-2") == "$share/ingest-2/tinget/v1/kiosk/+/up/#"
    assert topics.device_down_subscription("ange") == "tinget/v1/kiosk/ange/down/+"
    assert topics.sets_subscription() == "tinget/v1/sets/+"
    assert topics.presence_subscription() == "tinget/v1/office/+/presence"


def test_the_device_acl_confines_a_device_to_its_own_topics() -> None:
    """SEC-17: the patterns a broker ACL is generated from: write own up/, read own down/ and shared trees."""
    rules = dict((pattern, access) for access, pattern in topics.device_acl_rules())
    assert rules["tinget/v1/kiosk/%u/up/#"] == "write"
    assert rules["tinget/v1/kiosk/%u/down/#"] == "read"
    assert {p for p, a in rules.items() if a != "read"} == {"tinget/v1/kiosk/%u/up/#"}
    assert all(p.startswith("tinget/v1/") for p in rules)
    assert all("+" not in p for p in rules if "/kiosk/" in p)


def test_the_constants_are_the_documented_ones() -> None:
    assert sorted(topics.UP_KINDS) == ["actions", "heartbeat", "state"]
    assert sorted(topics.DOWN_KINDS) == ["ack", "command"]
    assert sorted(topics.SET_NAMES) == ["catalogue", "config", "polls", "roll", "schedule", "trust"]


@SETTINGS
@given(slugs, st.sampled_from(sorted(topics.UP_KINDS)))
def test_every_up_topic_parses_back_to_its_device_and_kind(device: str, kind: str) -> None:
    assert topics.parse_device_up(topics.device_up(device, kind)) == (device, kind)


@SETTINGS
@given(slugs, st.sampled_from(sorted(topics.DOWN_KINDS)))
def test_every_down_topic_parses_back_to_its_device_and_kind(device: str, kind: str) -> None:
    assert topics.parse_device_down(topics.device_down(device, kind)) == (device, kind)


@pytest.mark.parametrize("name", sorted(topics.SET_NAMES))
def test_every_set_topic_parses_back_to_its_name(name: str) -> None:
    assert topics.parse_set_version(topics.set_version(name)) == name


def test_an_office_topic_parses_back_to_its_office() -> None:
    assert topics.parse_office_presence(topics.office_presence("follinge")) == "follinge"


@pytest.mark.parametrize(
    "device",
    [
        "",
        "Ange",
        "änge",
        "ange/x",
        "+",
        "#",
        "an+ge",
        "an#ge",
        "-ange",
        "ange ",
        " ange",
        "a" * 64,
        "ange\n",
        "a.b",
    ],
)
def test_device_ids_that_are_not_slugs_are_refused(device: str) -> None:
    """SEC-17: a device id can never smuggle a wildcard or another level into a topic."""
    with pytest.raises(TopicError, match=r"device id .* is not a slug"):
        topics.device_up(device, "heartbeat")
    with pytest.raises(TopicError, match="device id"):
        topics.device_down_subscription(device)


def test_the_longest_slug_is_accepted() -> None:
    assert topics.check_slug("a" * 63) == "a" * 63
    assert topics.check_slug("0-") == "0-"


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda: topics.device_up("ange", "ack"), "unknown up kind 'ack'"),
        (lambda: topics.device_up("ange", "#"), "up kind '#' is not a slug"),
        (lambda: topics.device_down("ange", "heartbeat"), "unknown down kind 'heartbeat'"),
        (lambda: topics.set_version("votes"), "unknown set name 'votes' (known: catalogue, config"),
        (lambda: topics.office_presence("Föllinge"), "office id 'Föllinge' is not a slug"),
        (lambda: topics.ingest_subscription("a/b"), "share group 'a/b' is not a slug"),
    ],
)
def test_unknown_kinds_and_bad_names_are_refused_with_a_reason(make: Callable[[], str], said: str) -> None:
    with pytest.raises(TopicError) as caught:
        make()
    assert said in str(caught.value)


@pytest.mark.parametrize(
    "topic",
    [
        "",
        "tinget/v1/kiosk/ange/up",
        "tinget/v1/kiosk/ange/up/",
        "tinget/v1/kiosk/ange/up/heartbeat/extra",
        "tinget/v1/kiosk/+/up/heartbeat",
        "tinget/v1/kiosk/ange/up/#",
        "tinget/v1/kiosk/ange/down/ack",
        "tinget/v2/kiosk/ange/up/heartbeat",
        "/tinget/v1/kiosk/ange/up/heartbeat",
        "$share/ingest/tinget/v1/kiosk/ange/up/heartbeat",
        "tinget/v1/kiosk/Ange/up/heartbeat",
        "tinget/v1/kiosk/ange/up/ballots",
        "tinget/v1/sets/polls",
    ],
)
def test_parse_device_up_refuses_anything_but_an_up_topic(topic: str) -> None:
    """SEC-19: the ingest gets a `TopicError` with the reason for a topic outside the tree."""
    with pytest.raises(TopicError):
        topics.parse_device_up(topic)


@SETTINGS
@given(st.text(max_size=80) | st.sampled_from(["tinget/v1/kiosk/", "tinget/v1/sets/", "tinget/v1/office/"]))
def test_parsing_arbitrary_text_raises_nothing_but_topic_error(topic: str) -> None:
    """SEC-19: hostile topic names give a `TopicError`, never another exception."""
    for parse in (
        topics.parse_device_up,
        topics.parse_device_down,
        topics.parse_set_version,
        topics.parse_office_presence,
    ):
        try:
            parse(topic)
        except TopicError as exc:
            assert str(exc)


@SETTINGS
@given(slugs, st.sampled_from(sorted(topics.UP_KINDS)), st.text(min_size=1, max_size=5))
def test_a_valid_topic_with_anything_appended_is_refused(device: str, kind: str, tail: str) -> None:
    """No up kind is a prefix of another, so a longer last level is always an unknown kind or a new level."""
    with pytest.raises(TopicError):
        topics.parse_device_up(topics.device_up(device, kind) + tail)


def test_topic_error_is_a_value_error() -> None:
    assert issubclass(TopicError, ValueError)
