"""The personal identification number (số định danh cá nhân) a citizen's account is.

Twelve digits (Luật Căn cước 2023, Điều 12): the code of the province where the birth
was registered (3 digits, Thông tư 07/2016/TT-BCA, Phụ lục 1), the century and sex of
birth (1 digit: 0/1 the 1900s, 2/3 the 2000s, 4/5 the 2100s, male/female), the year of
birth (2 digits) and a random number (6 digits).
"""

from __future__ import annotations

from datetime import date

# The 63 provinces' codes of Phụ lục 1 (the codes stay with the birth registration,
# whatever provinces have merged since).
_APPENDIX_1 = (
    "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 "
    "034 035 036 037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 "
    "067 068 070 072 074 075 077 079 080 082 083 084 086 087 089 091 092 093 094 095 096"
)
PROVINCE_CODES = frozenset(_APPENDIX_1.split())
CENTURY_START = {0: 1900, 1: 1900, 2: 2000, 3: 2000, 4: 2100, 5: 2100}


def problems(number: str, *, today: date) -> list[str]:
    """What is wrong with ``number`` as a personal identification number (Vietnamese,
    for the person typing it); empty when nothing is."""
    if len(number) != 12 or not number.isdigit():
        return ["Số định danh cá nhân gồm đúng 12 chữ số."]
    found = []
    if number[:3] not in PROVINCE_CODES:
        found.append("Ba chữ số đầu không phải mã tỉnh, thành phố nơi đăng ký khai sinh.")
    century = CENTURY_START.get(int(number[3]))
    if century is None:
        found.append("Chữ số thứ tư (thế kỷ và giới tính) không hợp lệ.")
    elif century + int(number[4:6]) > today.year:
        found.append("Năm sinh trong số định danh ở tương lai.")
    return found


def birth_year(number: str) -> int:
    return CENTURY_START[int(number[3])] + int(number[4:6])
