"""Fonts for labels in any script: a chain of font files, each character drawn with the first
font whose character map holds it.

No single font file covers Latin, Greek, Cyrillic, CJK and Arabic, so labels are split into
runs of characters that one font covers (:meth:`FontChain.runs`). The chain, in order
(:data:`FONT_FILES`): Noto Sans (Latin, Greek, Cyrillic), Noto Sans CJK, Noto Sans Arabic,
Hebrew, Devanagari, Thai (Debian's ``fonts-noto-core`` and ``fonts-noto-cjk``, which
``tools/setup_env.sh`` installs), then DejaVu Sans (Debian's ``fonts-dejavu-core``, or the copy
matplotlib ships: always there; Latin, Greek, Cyrillic, Arabic, no CJK). Extra folders to search:
``UMG_FONT_DIRS`` (``os.pathsep``-separated).

Shaping: with Pillow's Raqm layout (``PIL.features.check('raqm')``), Arabic letters take their
joined forms and right-to-left runs are ordered; without it, Pillow's basic layout draws each
letter in its isolated form, left to right (:data:`SHAPING`).
"""
import functools
import os
import os.path as osp
import unicodedata
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

from fontTools.ttLib import TTFont
from PIL import ImageDraw, ImageFont, features

#: font files searched for, in chain order: (file name, face index in a collection)
FONT_FILES: Tuple[Tuple[str, int], ...] = (
    ('NotoSans-Regular.ttf', 0),
    ('NotoSansCJK-Regular.ttc', 0),
    ('NotoSansArabic-Regular.ttf', 0),
    ('NotoSansHebrew-Regular.ttf', 0),
    ('NotoSansDevanagari-Regular.ttf', 0),
    ('NotoSansThai-Regular.ttf', 0),
    ('DejaVuSans.ttf', 0),
)
#: folders searched for :data:`FONT_FILES` (and ``UMG_FONT_DIRS`` first)
FONT_DIRS = ('/usr/share/fonts', '/usr/local/share/fonts', '~/.local/share/fonts', '~/.fonts')
#: whether Pillow shapes complex scripts (Arabic joining, right-to-left order)
SHAPING = features.check('raqm')
LAYOUT = ImageFont.Layout.RAQM if SHAPING else ImageFont.Layout.BASIC


def _matplotlib_fonts() -> str:
    import matplotlib
    return osp.join(osp.dirname(matplotlib.__file__), 'mpl-data', 'fonts', 'ttf')


@functools.lru_cache(maxsize=None)
def _font_index(dirs: Tuple[str, ...]) -> Dict[str, str]:
    """File name -> path of every font file under ``dirs`` (the first found wins)."""
    found = {}
    for folder in dirs:
        for root, _, files in os.walk(osp.expanduser(folder)):
            for name in sorted(files):
                found.setdefault(name, osp.join(root, name))
    return found


def find_fonts(files: Sequence[Tuple[str, int]] = FONT_FILES) -> List[Tuple[str, int]]:
    """The ``(path, face index)`` of each of ``files`` that is installed, in chain order."""
    extra = tuple(d for d in os.environ.get('UMG_FONT_DIRS', '').split(os.pathsep) if d)
    index = _font_index(extra + FONT_DIRS + (_matplotlib_fonts(), ))
    return [(index[name], face) for name, face in files if name in index]


@functools.lru_cache(maxsize=None)
def character_map(path: str, face: int = 0) -> FrozenSet[int]:
    """The code points font ``path`` (face ``face`` of a collection) has glyphs for."""
    font = TTFont(path, fontNumber=face, lazy=True)
    try:
        return frozenset(font.getBestCmap() or {})
    finally:
        font.close()


def _attaches(char: str) -> bool:
    """Characters drawn with their neighbour's font: spaces, marks, joiners, controls."""
    return char.isspace() or unicodedata.category(char) in ('Mn', 'Me', 'Mc', 'Cf', 'Cc')


class FontChain:
    """Fonts that together cover a text: each run of characters is drawn with the first font
    that has glyphs for all of them.

    Args:
        size: the font size in pixels.
        fonts: ``(path, face index)`` pairs in order; default: :func:`find_fonts`.

    Raises:
        FileNotFoundError: no font file is found.
    """

    def __init__(self, size: int, fonts: Optional[Sequence[Tuple[str, int]]] = None) -> None:
        fonts = list(fonts) if fonts is not None else find_fonts()
        if not fonts:
            raise FileNotFoundError(
                f'no font found for labels ({", ".join(n for n, _ in FONT_FILES)}); install '
                f'Debian fonts-noto-core and fonts-noto-cjk (tools/setup_env.sh does) or set '
                f'UMG_FONT_DIRS to a folder holding them')
        self.size = size
        self.paths = fonts
        self.fonts = [ImageFont.truetype(path, size, index=face, layout_engine=LAYOUT)
                      for path, face in fonts]
        self.cmaps = [character_map(path, face) for path, face in fonts]

    def font_for(self, char: str) -> Optional[int]:
        """Index of the first font with a glyph for ``char``; ``None`` if none has one."""
        code = ord(char)
        return next((i for i, cmap in enumerate(self.cmaps) if code in cmap), None)

    def missing(self, text: str) -> List[str]:
        """The characters of ``text`` no font of the chain covers (drawn as a box)."""
        return sorted({c for c in text if not _attaches(c) and self.font_for(c) is None})

    def runs(self, text: str) -> List[Tuple[int, str]]:
        """``text`` split into ``(font index, characters)`` runs, in logical order. Spaces go
        with the run after them (so that a right-to-left run does not take them), marks and
        joiners with the character before them; characters no font covers go with the first
        font (which draws its missing-glyph box)."""
        runs: List[Tuple[int, str]] = []
        spaces = ''
        for char in text:
            if char.isspace():
                spaces += char
                continue
            if runs and not spaces and _attaches(char):
                runs[-1] = (runs[-1][0], runs[-1][1] + char)
                continue
            font = self.font_for(char)
            font = 0 if font is None else font
            if runs and runs[-1][0] == font:
                runs[-1] = (font, runs[-1][1] + spaces + char)
            else:
                runs.append((font, spaces + char))
            spaces = ''
        if spaces:
            runs.append((runs[-1][0] if runs else 0, spaces))
        return runs

    def text_size(self, text: str) -> Tuple[int, int]:
        """``(width, height)`` in pixels of ``text`` on one line (height: the chain's line)."""
        width = sum(self.fonts[i].getlength(run) for i, run in self.runs(text))
        return int(round(width)), self.line_height

    @property
    def line_height(self) -> int:
        """Ascent + descent of the first font: the height of one line of text."""
        ascent, descent = self.fonts[0].getmetrics()
        return ascent + descent

    def draw(self, draw: ImageDraw.ImageDraw, xy: Tuple[float, float], text: str,
             fill) -> None:
        """Draw ``text`` with its top-left corner at ``xy``, run by run."""
        x, y = xy
        ascent = self.fonts[0].getmetrics()[0]
        for i, run in self.runs(text):
            # align the runs on one baseline ('ls': left, baseline)
            draw.text((x, y + ascent), run, font=self.fonts[i], fill=fill, anchor='ls')
            x += self.fonts[i].getlength(run)


@functools.lru_cache(maxsize=16)
def default_chain(size: int) -> FontChain:
    """The :class:`FontChain` of the installed :data:`FONT_FILES` at ``size`` px (cached)."""
    return FontChain(size)
