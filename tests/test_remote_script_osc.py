"""The Remote Script's standard-library OSC codec agrees with python-osc, both ways."""

from __future__ import annotations

import pytest
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message import OscMessage
from pythonosc.osc_packet import OscPacket

from liveloom.ableton_bridge.client import build_message
from liveloom.ableton_bridge.fake_live import install_fake_live

install_fake_live()  # the script's package imports Live, as it would inside Live

from liveloom.ableton_bridge.remote_script.LiveloomOSC.osc import OSCError, decode_packet, encode_bundle, encode_message  # noqa: E402

ARGS = (1, -7, 2 ** 40, 0.5, "text", "", True, False, None, b"\x01\x02\x03")


def test_script_encoding_is_read_by_python_osc():
    msg = OscMessage(encode_message("/live/clip/get/notes", ARGS, doubles=True))
    assert msg.address == "/live/clip/get/notes"
    assert list(msg.params) == list(ARGS)
    f32 = OscMessage(encode_message("/x", (0.1,)))
    assert f32.params[0] == pytest.approx(0.1, rel=1e-7) and f32.params[0] != 0.1  # float32, like AbletonOSC


def test_python_osc_encoding_and_bundles_are_read_by_the_script():
    a = build_message("/liveloom/clip/add/notes", (5, "session", 0, 1, 60, 0.25, True), doubles=True)
    b = build_message("/live/test", ())
    builder = OscBundleBuilder(IMMEDIATELY)
    builder.add_content(OscMessage(a))
    builder.add_content(OscMessage(b))
    decoded = decode_packet(builder.build().dgram)
    assert decoded == [("/liveloom/clip/add/notes", [5, "session", 0, 1, 60, 0.25, True]), ("/live/test", [])]
    assert decode_packet(encode_bundle([a, b])) == decoded
    assert [m.message.address for m in OscPacket(encode_bundle([a, b])).messages] == ["/liveloom/clip/add/notes",
                                                                                      "/live/test"]


@pytest.mark.parametrize("data", [b"", b"nope", b"x\0\0\0", b"/x\0\0,i\0\0", b"/x\0\0,d\0\0\0\0\0",
                                  b"/x\0\0,q\0\0", b"#bundle\0" + b"\0" * 8 + b"\0\0\0\x40"])
def test_malformed_datagrams_raise_only_the_codec_error(data):
    with pytest.raises(OSCError):
        decode_packet(data)


def test_a_bare_address_is_a_message_without_arguments():
    assert decode_packet(b"/live/test\0\0") == [("/live/test", [])]


def test_the_script_parses_as_python_3_7_for_live_11():
    import ast
    from pathlib import Path

    import liveloom.ableton_bridge.remote_script.LiveloomOSC as script

    for f in Path(script.__file__).parent.glob("*.py"):
        ast.parse(f.read_text(), filename=str(f), feature_version=(3, 7))
