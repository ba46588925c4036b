import io
import random

from PIL import Image

from media.captcha_image import ALPHABET, captcha_matches, captcha_png, random_captcha_text


def test_alphabet_has_no_ambiguous_characters() -> None:
    assert not set("0O1IL") & set(ALPHABET)
    assert set(ALPHABET) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def test_random_text_is_reproducible_and_uses_alphabet() -> None:
    a = random_captcha_text(random.Random(42))
    assert a == random_captcha_text(random.Random(42))
    assert len(a) == 4 and set(a) <= set(ALPHABET)
    texts = {random_captcha_text(random.Random(i), length=6) for i in range(50)}
    assert len(texts) == 50 and all(len(t) == 6 for t in texts)


def test_captcha_png_size() -> None:
    data = captcha_png("A7K9")
    assert data.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == (160, 60)


def test_answers_are_case_insensitive() -> None:
    assert captcha_matches("A7K9", " a7k9 ")
    assert not captcha_matches("A7K9", "A7K8")
    assert not captcha_matches("A7K9", "")
