"""Image captcha (图形验证码) shown during playback."""

from __future__ import annotations

import random

from captcha.image import ImageCaptcha

#: Digits and uppercase letters without the look-alikes 0/O, 1/I/L.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
WIDTH = 160
HEIGHT = 60


def random_captcha_text(rnd: random.Random, length: int = 4) -> str:
    """``length`` characters from ``ALPHABET`` (pass ``random.SystemRandom()`` in production)."""
    return "".join(rnd.choice(ALPHABET) for _ in range(length))


def captcha_png(text: str) -> bytes:
    """PNG bytes (160×60) showing ``text`` distorted."""
    return ImageCaptcha(width=WIDTH, height=HEIGHT).generate(text, format="png").getvalue()


def captcha_matches(expected: str, answer: str) -> bool:
    """Case-insensitive comparison, ignoring surrounding spaces."""
    return expected.strip().upper() == (answer or "").strip().upper()
