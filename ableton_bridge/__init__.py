"""The bridge to Ableton Live: where Live is (`target`), and — as it lands — the OSC client,
the companion Remote Script and the fake Live Object Model the tests run it against."""
