"""Copy the browser tests' screenshots the README shows into docs/screenshots, smaller.

Run after `make test` (which takes them at 1280 and 375 px into .web-shots/):

    .venv/bin/python scripts/readme-screenshots.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / ".web-shots"
TARGET = ROOT / "docs" / "screenshots"
JOURNEY = "test-a-citizen-files-follows-and-rates-a-dossier"
SEARCH = "test-a-citizen-finds-birth-registration-without-diacritics"
DESK = "test-an-officer-works-a-dossier-from-the-queue-to-returned"
LEADER = "test-a-leader-sees-the-agencys-rates-overdue-dossiers-and-index"
CHOSEN = {
    "home": (SEARCH, "trang-chu"),
    "procedure": (SEARCH, "thu-tuc"),
    "submission": (JOURNEY, "nop-ho-so"),
    "dossier": (JOURNEY, "bo-sung"),
    "queue": (DESK, "hang-doi"),
    "desk-dossier": (DESK, "da-giao"),
    "dashboard": (LEADER, "bang-dieu-hanh"),
}


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, (test, shot) in CHOSEN.items():
        for width in ("desk", "phone"):
            source = SHOTS / test / f"{shot}-{width}.png"
            image = Image.open(source).convert("RGB")
            # 128 colours are plenty for flat pages and a third of the bytes.
            small = image.quantize(colors=128, method=Image.Quantize.MEDIANCUT)
            small.save(TARGET / f"{name}-{width}.png", optimize=True)
            print(f"{source.relative_to(ROOT)} -> docs/screenshots/{name}-{width}.png")


if __name__ == "__main__":
    main()
