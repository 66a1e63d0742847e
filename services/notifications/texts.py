"""Counting an SMS, and masking addresses for the logs.

An SMS carries 140 bytes. Text wholly in the GSM 03.38 alphabet takes 7 bits a
character: 160 in one message, 153 a part when split. Vietnamese with its diacritics is
not in that alphabet (only a handful of its letters are), so it goes as UCS-2, two bytes
a UTF-16 code unit: 70 in one message, 67 a part. Every precomposed Vietnamese letter
(NFC) is one code unit; decomposed, a letter with two marks would be three, so texts
are normalised to NFC before they are counted and sent.
"""

from __future__ import annotations

import math
import unicodedata

# GSM 03.38 basic set; the extension characters take two septets.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def is_gsm7(text: str) -> bool:
    return all(char in _GSM_BASIC or char in _GSM_EXTENSION for char in text)


def sms_units(text: str) -> tuple[int, str]:
    """How long ``text`` is for an SMS, and in what: septets (GSM-7) or UTF-16 code
    units (UCS-2)."""
    text = nfc(text)
    if is_gsm7(text):
        return sum(2 if char in _GSM_EXTENSION else 1 for char in text), "gsm7"
    return len(text.encode("utf-16-le")) // 2, "ucs2"


def sms_parts(text: str) -> int:
    """How many SMS ``text`` takes."""
    units, encoding = sms_units(text)
    single, part = (160, 153) if encoding == "gsm7" else (70, 67)
    return 1 if units <= single else math.ceil(units / part)


def mask(address: str | None) -> str:
    """An e-mail or phone as the logs show it: enough to tell two apart, not to use."""
    if not address:
        return "-"
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:2]}***@{domain}"
    return f"{address[:3]}****{address[-3:]}" if len(address) > 6 else "****"
