"""Labels in any script: every character of a five-script vocabulary is drawn with a font that
has its glyph (character map), and its rendering differs from that font's missing-glyph box."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from umg_mm.visualization.fonts import SHAPING, FontChain, character_map, find_fonts

# Latin with diacritics, Greek, Cyrillic, CJK (Chinese, Japanese kana, Korean), Arabic
VOCABULARY = ['crème brûlée', 'Ελληνικό σπίτι', 'кошка', '猫', 'ねこ', '고양이', 'قطة', 'سماء']
#: a code point no font maps (plane 16 private use): rendered as the font's .notdef glyph
UNMAPPED = '\U0010FFFD'
SIZE = 24


def render(font, text: str) -> np.ndarray:
    image = Image.new('L', (4 * SIZE, 2 * SIZE))
    ImageDraw.Draw(image).text((4, 4), text, font=font, fill=255)
    return np.asarray(image)


@pytest.fixture(scope='module')
def chain():
    return FontChain(SIZE)


def test_the_chain_covers_five_scripts(chain):
    for word in VOCABULARY:
        assert chain.missing(word) == [], word
        for index, run in chain.runs(word):
            for char in run.replace(' ', ''):
                assert ord(char) in chain.cmaps[index], (word, char, chain.paths[index])


def test_no_character_is_drawn_as_the_missing_glyph(chain):
    for word in VOCABULARY:
        for index, run in chain.runs(word):
            font = chain.fonts[index]
            assert ord(UNMAPPED) not in chain.cmaps[index]
            notdef = render(font, UNMAPPED)
            for char in run.replace(' ', ''):
                drawn = render(font, char)
                assert drawn.any(), (word, char)
                assert not np.array_equal(drawn, notdef), (word, char, chain.paths[index])


def test_a_latin_only_font_is_caught(chain):
    """The checks above can fail: with Noto Sans alone, CJK and Arabic are missing and drawn as
    the .notdef box."""
    latin = FontChain(SIZE, fonts=[chain.paths[0]])
    assert latin.missing('猫 قطة cat') == sorted('猫قطة')
    assert np.array_equal(render(latin.fonts[0], '猫'), render(latin.fonts[0], UNMAPPED))


def test_runs_split_by_font_and_keep_spaces_and_marks(chain):
    runs = chain.runs('кошка 猫 e\u0301')
    assert ''.join(text for _, text in runs) == 'кошка 猫 e\u0301'
    assert [chain.paths[i][0].rsplit('/', 1)[1] for i, _ in runs] == [
        'NotoSans-Regular.ttf', 'NotoSansCJK-Regular.ttc', 'NotoSans-Regular.ttf']


def test_the_fonts_are_found(chain):
    names = [path.rsplit('/', 1)[1] for path, _ in find_fonts()]
    for name in ('NotoSans-Regular.ttf', 'NotoSansCJK-Regular.ttc',
                 'NotoSansArabic-Regular.ttf'):
        assert name in names
    path, face = chain.paths[1]
    assert ord('猫') in character_map(path, face)


def test_no_font_is_a_clear_error(monkeypatch):
    with pytest.raises(FileNotFoundError, match='fonts-noto-core and fonts-noto-cjk'):
        FontChain(SIZE, fonts=[])


@pytest.mark.skipif(not SHAPING, reason="Pillow without Raqm: Arabic is not shaped")
def test_arabic_is_shaped(chain):
    """With Raqm the letters of قطة join: the word is narrower than its isolated letters."""
    index, _ = chain.runs('قطة')[0]
    font = chain.fonts[index]
    assert font.getlength('قطة') < sum(font.getlength(c) for c in 'قطة')
