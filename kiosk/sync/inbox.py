"""What the hub sends a kiosk (acks, commands, set versions), decoded and checked. Plain Python, no I/O."""

from __future__ import annotations

from protocol import topics
from protocol.codec import DecodeError
from protocol.messages import HUB_SENDER, Message, SetVersion, from_payload


def decode_down(device: str, topic: str, payload: bytes) -> Message:
    """A message from the hub on one of our subscriptions: an `Ack`, a `Command` or a `SetVersion`.

    `DecodeError` for anything else, or for a message whose sender is not the hub or whose set name is not
    its topic's.
    """
    try:
        if topic.startswith(f"{topics.PREFIX}/sets/"):
            name = topics.parse_set_version(topic)
            notice = from_payload(SetVersion, payload)
            if notice.name != name:
                raise DecodeError(f"set-version: name {notice.name!r} is not the topic's {name!r}")
            message: Message = notice
        else:
            target, kind = topics.parse_device_down(topic)
            if target != device:
                raise DecodeError(f"topic {topic[:200]!r} is for device {target!r}, not us")
            message = from_payload(kind, payload)
    except topics.TopicError as exc:
        raise DecodeError(str(exc)) from None
    if message.sender != HUB_SENDER:
        raise DecodeError(f"{message.KIND}: sender {message.sender!r} is not the hub")
    return message
