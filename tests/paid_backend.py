"""A test backend that charges like the service, shared by tests and benchmarks.

It answers at once with a small image of a colour of its own (a different one for
each of the first 65,536 calls, so every round stores a new file), charges 20
credits on Common and 40 on Ultra with dollars per round, and can be told to fail
the next call, to wait at a gate until the test opens it, or to report a given
price (None: a round whose price the service did not report).
"""

from __future__ import annotations

import threading

from PIL import Image

from core.backends.base import (
    BlobStore,
    GenerationRequest,
    GenerationResult,
    Quality,
    Usage,
)
from core.cancel import CancelToken, ProgressCallback
from core.config import load_config
from core.engine import Engine

USD_PER_ROUND = 0.039


class PaidBackend:
    """Charges like Gemini; can be told to fail, stall or report a price."""

    def __init__(self, name: str = "paid", size: tuple[int, int] = (64, 48)) -> None:
        self.name = name
        self.size = size
        self.calls = 0
        self.requests: list[GenerationRequest] = []
        self.fail_next: Exception | None = None
        self.gate: threading.Event | None = None
        self.prices: list[float | None] = []

    def model_for(self, quality: Quality) -> str:
        return f"{self.name}-{quality}"

    def credits_for(self, quality: Quality) -> int:
        return 40 if quality == "ultra" else 20

    def generate(
        self,
        request: GenerationRequest,
        blobs: BlobStore,
        progress: ProgressCallback,
        cancel: CancelToken,
    ) -> GenerationResult:
        self.calls += 1
        self.requests.append(request)
        if self.gate is not None:
            while not self.gate.wait(0.02):
                cancel.raise_if_cancelled()
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        n = self.calls
        return GenerationResult(
            image=Image.new("RGB", self.size, (n % 256, (n // 256) % 256, 90)),
            model=self.model_for(request.quality),
            usage=Usage(input=10, output=1290, image=1290, thoughts=None),
            usd=self.prices.pop(0) if self.prices else USD_PER_ROUND,
        )


def charging_engine() -> tuple[Engine, PaidBackend]:
    """An engine over the test's data folder with a fresh paid backend."""
    backend = PaidBackend()
    return Engine(load_config(), backends={"paid": backend}), backend
