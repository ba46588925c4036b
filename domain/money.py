"""Money formatting: integer fen to Chinese uppercase (人民币大写)."""

from __future__ import annotations

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿", "万亿")


def _four(n: int) -> str:
    """Uppercase of 1..9999 with internal zeros collapsed (no leading 零)."""
    s = ""
    zero = False
    for pos in range(3, -1, -1):
        d = n // 10**pos % 10
        if d == 0:
            zero = bool(s)
        else:
            if zero:
                s += "零"
                zero = False
            s += _DIGITS[d] + _SMALL_UNITS[pos]
    return s


def _integer(n: int) -> str:
    if n == 0:
        return ""
    groups: list[int] = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    if len(groups) > len(_BIG_UNITS):
        raise ValueError("amount too large")
    out = ""
    need_zero = False
    for i in range(len(groups) - 1, -1, -1):
        g = groups[i]
        if g == 0:
            need_zero = bool(out)
            continue
        if out and (need_zero or g < 1000):
            out += "零"
        out += _four(g) + _BIG_UNITS[i]
        need_zero = False
    return out


def cny_uppercase(cents: int) -> str:
    """人民币大写 of an amount in fen, e.g. 12000 -> 壹佰贰拾元整, 10050 -> 壹佰元零伍角.

    Follows 《支付结算办法》: 整 after 元, none after 角/分; one 零 for each run of zeros."""
    if cents < 0:
        return "负" + cny_uppercase(-cents)
    yuan, rest = divmod(cents, 100)
    jiao, fen = divmod(rest, 10)
    if cents == 0:
        return "零元整"
    out = _integer(yuan)
    if out:
        out += "元"
    if jiao == 0 and fen == 0:
        return out + "整"
    if jiao:
        if out and yuan % 10 == 0:
            out += "零"
        out += _DIGITS[jiao] + "角"
    if fen:
        if out and jiao == 0:
            out += "零"
        out += _DIGITS[fen] + "分"
    return out
