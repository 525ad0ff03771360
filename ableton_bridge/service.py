"""The server's connection to Live, made on first use (so start-up never waits for Live)."""

from __future__ import annotations

import asyncio

from .bridge import LiveBridge
from .target import LiveTarget


class LiveService:
    def __init__(self, target: LiveTarget, *, timeout: float = 1.0):
        self.target = target
        self.timeout = timeout
        self.sim = None
        self._bridge: LiveBridge | None = None
        self._lock = asyncio.Lock()

    async def bridge(self) -> LiveBridge:
        async with self._lock:
            if self._bridge is None:
                target = self.target
                if target.simulated:
                    from .sim import SimulatedLive

                    self.sim = SimulatedLive(reply_port=None).start()
                    target = self.sim.target
                self._bridge = LiveBridge(target, timeout=self.timeout)
            return self._bridge

    async def close(self) -> None:
        if self._bridge is not None:
            await self._bridge.close()
            self._bridge = None
        if self.sim is not None:
            self.sim.stop()
            self.sim = None
