"""A UDP relay on 127.0.0.1 that loses, duplicates or swallows datagrams on purpose."""

from __future__ import annotations

import random
import socket
import threading


class UdpRelay:
    """Datagrams sent to `port` are forwarded to `dest` — or dropped, doubled or swallowed."""

    def __init__(self, dest: tuple[str, int], *, drop: float = 0.0, duplicate: bool | float = False,
                 reorder: float = 0.0, seed: int = 7):
        self.dest = dest
        self.drop = drop
        self.duplicate = duplicate  # True: every datagram twice; a float: that share of them
        self.reorder = reorder  # that share of datagrams is held back and sent after the next one
        self._held: bytes | None = None
        self.blackhole = False
        self.swallow: dict[bytes, int] = {}  # drop the next N datagrams that contain these bytes
        self.forwarded = 0
        self.dropped = 0
        self._rng = random.Random(seed)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.port = self._sock.getsockname()[1]
        self._out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self._sock.recvfrom(65536)
            except OSError:  # quiet for 50 ms: a held datagram goes out late rather than never
                if self._held is not None:
                    self._out.sendto(self._held, self.dest)
                    self._held = None
                continue
            hit = next((k for k, n in self.swallow.items() if n > 0 and k in data), None)
            if hit is not None:
                self.swallow[hit] -= 1
                self.dropped += 1
                continue
            if self.blackhole or self._rng.random() < self.drop:
                self.dropped += 1
                continue
            if self._held is None and self.reorder and self._rng.random() < self.reorder:
                self._held = data
                continue
            self._out.sendto(data, self.dest)
            self.forwarded += 1
            if self.duplicate is True or (self.duplicate and self._rng.random() < self.duplicate):
                self._out.sendto(data, self.dest)
            if self._held is not None:
                self._out.sendto(self._held, self.dest)
                self._held = None

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()
        self._out.close()
