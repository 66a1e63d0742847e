"""Search text: Vietnamese folded to plain lowercase ASCII words.

Names are stored with a folded copy (written once, at publish time) and queries are
folded the same way, so "Đăng ký khai sinh", "dang ky khai sinh" and "DANG KY KHAI SINH"
are one thing on PostgreSQL and on SQLite alike, with no database extension needed to
compare them. PostgreSQL indexes the folded column with trigrams for speed.
"""

import re
import unicodedata

_NOT_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """'Đăng ký khai sinh' -> 'dang ky khai sinh'."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return _NOT_WORD.sub(" ", plain).strip()


def words(text: str) -> list[str]:
    return fold(text).split()
