"""Fault mode: a seeded draw that decides which API requests answer 429, 500, hang or broken JSON."""

from __future__ import annotations

import random
import threading

from .config import Config


class Faults:
    """Draws from one seeded ``random.Random`` so a run can be replayed with the same ``fault_seed``."""

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._random = random.Random(seed)

    def draw(self, config: Config) -> str | None:
        """The fault this request gets (one of ``config.fault_kinds``), or None."""
        if config.fault_rate <= 0 or not config.fault_kinds:
            return None
        with self._lock:
            hit = self._random.random() < config.fault_rate
            kind = self._random.choice(config.fault_kinds)
        return kind if hit else None
