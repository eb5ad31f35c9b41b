"""Turning the service's token counts into tokens by kind and dollars.

Gemini bills by token and prices each kind differently: prompt tokens (text and
images alike), text output, image output and thinking. The defaults below follow the
published rates; ``[pricing."<model>"]`` in ``config.toml`` overrides any of them,
in dollars per million tokens. When the service does not report usage the cost is
unknown, and ripen says so (``None``) rather than pretending it was free.
"""

from __future__ import annotations

from typing import Any

from core.backends.base import Usage

PRICE_KINDS = ("input", "output", "image_output", "thinking")

DEFAULT_PRICES: dict[str, dict[str, float]] = {
    # About $0.039 per 1K image (1,290 image tokens).
    "gemini-2.5-flash-image": {
        "input": 0.30,
        "output": 2.50,
        "image_output": 30.0,
        "thinking": 2.50,
    },
    # About $0.134 per 1K or 2K image (1,120 tokens), $0.24 per 4K (2,000 tokens).
    "gemini-3-pro-image-preview": {
        "input": 2.00,
        "output": 12.0,
        "image_output": 120.0,
        "thinking": 12.0,
    },
}


def prices_for(model: str, overrides: dict[str, dict[str, float]]) -> dict[str, float]:
    """Dollars per million tokens of each kind for ``model``, overrides applied."""
    family = (
        "gemini-3-pro-image-preview" if "pro" in model else "gemini-2.5-flash-image"
    )
    prices = dict(DEFAULT_PRICES.get(model, DEFAULT_PRICES[family]))
    for kind, value in overrides.get(model, {}).items():
        if kind in PRICE_KINDS and isinstance(value, int | float):
            prices[kind] = float(value)
    return prices


def usage_from(metadata: Any) -> Usage:
    """Tokens by kind from a response's ``usageMetadata`` (None when not reported).

    ``output`` counts the text the model wrote and ``image`` the image it rendered.
    When the service gives no breakdown by modality, all output tokens are in
    ``output`` and ``image`` stays unknown.
    """
    if not isinstance(metadata, dict):
        return Usage()
    candidates = _count(metadata.get("candidatesTokenCount"))
    image: int | None = None
    output = candidates
    details = metadata.get("candidatesTokensDetails")
    if isinstance(details, list) and details:
        image = sum(
            _count(item.get("tokenCount")) or 0
            for item in details
            if isinstance(item, dict) and str(item.get("modality")).upper() == "IMAGE"
        )
        if candidates is not None:
            output = max(0, candidates - image)
    return Usage(
        input=_count(metadata.get("promptTokenCount")),
        output=output,
        image=image,
        thoughts=_count(metadata.get("thoughtsTokenCount")),
    )


def dollars(
    usage: Usage, prices: dict[str, float], *, image_received: bool
) -> float | None:
    """What a call cost, or None when the service did not report its output tokens.

    Without a breakdown by modality, an answer that carried an image is priced at the
    image output rate, since an image model's output is almost all image tokens.
    """
    if usage.output is None and usage.image is None:
        return None  # the output is most of the bill; without it the cost is unknown
    per_token = {kind: rate / 1_000_000 for kind, rate in prices.items()}
    output_rate = per_token["output"]
    if usage.image is None and image_received:
        output_rate = per_token["image_output"]
    total = (usage.input or 0) * per_token["input"]
    total += (usage.output or 0) * output_rate
    total += (usage.image or 0) * per_token["image_output"]
    total += (usage.thoughts or 0) * per_token["thinking"]
    return round(total, 6)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
