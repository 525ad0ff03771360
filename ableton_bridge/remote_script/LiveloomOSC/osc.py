"""A small OSC 1.0 codec (messages and bundles) on the standard library only, because a Remote
Script runs on Live's embedded Python and cannot install packages. Python 3.7 compatible."""

from __future__ import annotations

import struct


class OSCError(ValueError):
    pass


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (4 - len(data) % 4)


def _read_string(data: bytes, pos: int):
    end = data.find(b"\0", pos)
    if end < 0:
        raise OSCError("unterminated OSC string")
    text = data[pos:end].decode("utf-8", errors="replace")
    return text, (end // 4 + 1) * 4


def encode_message(address: str, args=(), doubles: bool = False) -> bytes:
    """Encode one message. Floats are float32 (as AbletonOSC sends them) unless `doubles`."""
    tags = ","
    body = b""
    for a in args:
        if a is True:
            tags += "T"
        elif a is False:
            tags += "F"
        elif a is None:
            tags += "N"
        elif isinstance(a, int):
            if -2 ** 31 <= a < 2 ** 31:
                tags += "i"
                body += struct.pack(">i", a)
            else:
                tags += "h"
                body += struct.pack(">q", a)
        elif isinstance(a, float):
            if doubles:
                tags += "d"
                body += struct.pack(">d", a)
            else:
                tags += "f"
                body += struct.pack(">f", a)
        elif isinstance(a, str):
            tags += "s"
            body += _pad(a.encode("utf-8"))
        elif isinstance(a, (bytes, bytearray)):
            tags += "b"
            body += struct.pack(">i", len(a)) + bytes(a) + b"\0" * ((4 - len(a) % 4) % 4)
        else:
            raise OSCError("cannot encode %r in OSC" % (a,))
    return _pad(address.encode("utf-8")) + _pad(tags.encode("ascii")) + body


def decode_message(data: bytes):
    """-> (address, [args])"""
    address, pos = _read_string(data, 0)
    if not address.startswith("/"):
        raise OSCError("not an OSC message")
    if pos >= len(data):
        return address, []
    tags, pos = _read_string(data, pos)
    if not tags.startswith(","):
        raise OSCError("missing OSC type tags")
    args = []
    for t in tags[1:]:
        if t == "i":
            args.append(struct.unpack_from(">i", data, pos)[0])
            pos += 4
        elif t == "h":
            args.append(struct.unpack_from(">q", data, pos)[0])
            pos += 8
        elif t == "f":
            args.append(struct.unpack_from(">f", data, pos)[0])
            pos += 4
        elif t == "d":
            args.append(struct.unpack_from(">d", data, pos)[0])
            pos += 8
        elif t == "s":
            s, pos = _read_string(data, pos)
            args.append(s)
        elif t == "b":
            n = struct.unpack_from(">i", data, pos)[0]
            args.append(data[pos + 4: pos + 4 + n])
            pos += 4 + ((n + 3) // 4) * 4
        elif t == "T":
            args.append(True)
        elif t == "F":
            args.append(False)
        elif t == "N":
            args.append(None)
        else:
            raise OSCError("unsupported OSC type tag %r" % t)
        if pos > len(data):
            raise OSCError("truncated OSC message")
    return address, args


def encode_bundle(messages) -> bytes:
    out = b"#bundle\0" + struct.pack(">Q", 1)
    for m in messages:
        out += struct.pack(">i", len(m)) + m
    return out


def decode_packet(data: bytes):
    """A datagram -> a list of (address, args); bundles are flattened in order. Raises OSCError if malformed."""
    try:
        return _decode_packet(data)
    except (struct.error, UnicodeDecodeError, IndexError) as exc:
        raise OSCError("malformed OSC packet: %s" % exc)


def _decode_packet(data: bytes):
    if data.startswith(b"#bundle\0"):
        out = []
        pos = 16
        while pos + 4 <= len(data):
            n = struct.unpack_from(">i", data, pos)[0]
            if n <= 0 or pos + 4 + n > len(data):
                raise OSCError("truncated OSC bundle")
            out.extend(_decode_packet(data[pos + 4: pos + 4 + n]))
            pos += 4 + n
        return out
    return [decode_message(data)]
