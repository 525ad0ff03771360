"""Where liveloom finds Live: `--live HOST:PORT`, env LIVELOOM_LIVE, or `sim`.

Defaults follow AbletonOSC: Live listens on 127.0.0.1:11000 and replies to port 11001
(LIVELOOM_LIVE_REPLY_PORT changes the reply port).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

DEFAULT_LIVE = "127.0.0.1:11000"
DEFAULT_REPLY_PORT = 11001


@dataclass(frozen=True)
class LiveTarget:
    simulated: bool
    host: str = "127.0.0.1"
    port: int = 11000
    reply_port: int = DEFAULT_REPLY_PORT

    @property
    def is_loopback(self) -> bool:
        if self.simulated or self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def __str__(self) -> str:
        return "sim" if self.simulated else f"{self.host}:{self.port} (replies on {self.reply_port})"


def _port(text: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not 1 <= value <= 65535:
        raise ValueError(f"{what} {value} is outside 1-65535")
    return value


def parse_target(text: str | None = None, reply_port: str | None = None) -> LiveTarget:
    """Parse 'HOST:PORT' or 'sim' (None: 127.0.0.1:11000), replies on `reply_port` (None: 11001)."""
    raw = (text if text is not None else DEFAULT_LIVE).strip()
    reply_raw = reply_port
    reply = _port(reply_raw, "reply port") if reply_raw else DEFAULT_REPLY_PORT
    if raw.lower() == "sim":
        return LiveTarget(simulated=True, reply_port=reply)
    host, sep, port = raw.rpartition(":")
    if not sep or not host:
        raise ValueError(f"Live target {raw!r} should be HOST:PORT (e.g. 127.0.0.1:11000) or 'sim'")
    host = host.strip("[]")
    return LiveTarget(simulated=False, host=host, port=_port(port, "port"), reply_port=reply)
