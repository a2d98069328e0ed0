"""Vocabularies: the class names (with synonyms) a model is asked to recognise.

A vocabulary file has one class per line, in label order (line ``i`` is label ``i``); a line may
list synonyms separated by commas, the first being the class's display name::

    wall
    building, edifice
    sky

Blank lines and lines starting with ``#`` are skipped; a class whose name begins with ``#`` is
written with a backslash before it (``\\#hashtag``, see :func:`vocabulary_line`). Names are
compared case- and whitespace-insensitively: the same name twice on one line, or two lines
naming the same classes (``Star`` and ``star``), are errors. The files of the standard
benchmarks live in ``umg_mm/structures/vocabularies/<name>.txt`` (``coco_panoptic_133``,
``coco_stuff_171``, ``ade20k_150``, ``pascal_context_59``, ``pascal_voc_20``,
``pascal_voc_21``, regenerated from the mmdet/mmseg dataset METAINFO by
``tools/dataset_converters/vocabularies_from_metainfo.py``; ``ade20k_847`` and
``pascal_context_459`` are written by their dataset converters in the same format).
:func:`load_vocabulary` accepts such a name, a file path, or a Python list.

A panoptic vocabulary knows its thing/stuff split: :func:`join_things_stuff` puts the things
first and records their count in ``num_things``; :attr:`Vocabulary.things` and
:attr:`Vocabulary.stuff` give the two parts back.
"""
import logging
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.logging import print_log

from umg_mm.utils.atomic_io import write_lines_atomic

VOCABULARY_DIR = osp.join(osp.dirname(__file__), 'vocabularies')


@dataclass(frozen=True)
class Vocabulary:
    """Class names in label order, each a tuple of synonyms (the first is the display name).

    Hashable, so a vocabulary can key a cache of its text embeddings.

    Attributes:
        synonyms: per class, its names.
        source: where it was read from (a file, a shipped name, ``'<list>'``).
        num_things: for a panoptic vocabulary, the number ``T`` of thing classes, which come
            first (labels ``0 .. T - 1``; stuff ``T .. K - 1``); ``None`` when the task has no
            thing/stuff split.
    """
    synonyms: Tuple[Tuple[str, ...], ...]
    source: str = '<list>'
    num_things: Optional[int] = None

    def __post_init__(self):
        if self.num_things is not None and not 0 <= self.num_things <= len(self.synonyms):
            raise ValueError(f'vocabulary {self.source}: num_things={self.num_things} must lie '
                             f'in [0, {len(self.synonyms)}] (the number of classes)')

    @property
    def things(self) -> 'Vocabulary':
        """The thing classes of a panoptic vocabulary (the first ``num_things``)."""
        return Vocabulary(self.synonyms[:self._split_at()], f'{self.source} (things)')

    @property
    def stuff(self) -> 'Vocabulary':
        """The stuff classes of a panoptic vocabulary (those after the things)."""
        return Vocabulary(self.synonyms[self._split_at():], f'{self.source} (stuff)')

    def _split_at(self) -> int:
        if self.num_things is None:
            raise ValueError(f'vocabulary {self.source} has no thing/stuff split (num_things is '
                             f'None); build it with join_things_stuff(things, stuff)')
        return self.num_things

    @property
    def class_names(self) -> List[str]:
        """The display name of each class."""
        return [names[0] for names in self.synonyms]

    def __len__(self) -> int:
        return len(self.synonyms)


def list_vocabularies() -> List[str]:
    """Names of the vocabulary files shipped in ``umg_mm/structures/vocabularies``."""
    return sorted(f[:-4] for f in os.listdir(VOCABULARY_DIR) if f.endswith('.txt'))


def _split_synonyms(entry: str) -> Tuple[str, ...]:
    return tuple(name.strip() for name in entry.split(','))


def vocabulary_line(names: Sequence[str]) -> str:
    """One line of a vocabulary file for a class's synonyms (a leading ``#`` escaped)."""
    line = ', '.join(names)
    return '\\' + line if line.startswith('#') else line


def write_vocabulary_file(path: str, entries: Sequence[str]) -> None:
    """Write a vocabulary file atomically, one entry (a name, or ``a, b`` synonyms) per line,
    each line escaped with :func:`vocabulary_line` so that a name starting with ``#`` stays a name."""
    write_lines_atomic(path, [vocabulary_line([entry]) for entry in entries])


def normalize_name(name: str) -> str:
    """A class name as compared for duplicates: case-folded, runs of white space as one space."""
    return ' '.join(name.split()).casefold()


def _check(synonyms: Sequence[Tuple[str, ...]], source: str, lines: Sequence[int]) -> None:
    if not synonyms:
        raise ValueError(f'vocabulary {source} has no classes')
    first_seen, display_seen = {}, {}
    for names, line in zip(synonyms, lines):
        if any(not name for name in names):
            raise ValueError(f'vocabulary {source}, line {line}: empty class name in '
                             f'{", ".join(names)!r}; write one class per line, synonyms separated '
                             f'by single commas')
        normalized = tuple(normalize_name(name) for name in names)
        repeated = next((n for i, n in enumerate(names) if normalized[i] in normalized[:i]),
                        None)
        if repeated is not None:
            raise ValueError(f'vocabulary {source}, line {line}: {", ".join(names)!r} names '
                             f'{repeated!r} twice (names are compared ignoring case and spaces); '
                             f'list each synonym once')
        if normalized in first_seen:
            raise ValueError(f'vocabulary {source}, line {line}: class {", ".join(names)!r} '
                             f'repeats line {first_seen[normalized]} (names are compared ignoring '
                             f'case and spaces); each class must appear once')
        if normalized[0] in display_seen:
            # e.g. ADE20K's full release names different objects 'door' and 'door, doorway'
            print_log(f'vocabulary {source}, line {line}: display name {names[0]!r} also names '
                      f'line {display_seen[normalized[0]]}; the classes differ only by their '
                      f'synonyms', logger='current', level=logging.WARNING)
        first_seen[normalized] = line
        display_seen.setdefault(normalized[0], line)


def _read_entries(path: str) -> Tuple[List[Tuple[str, ...]], List[int]]:
    """The synonym tuples of a vocabulary file and their line numbers (blank/comment lines
    skipped, a leading backslash escape removed), unchecked."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'vocabulary file {path!r} does not exist')
    synonyms, lines = [], []
    with open(path, 'rb') as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode('utf-8').strip()
            except UnicodeDecodeError as err:
                raise ValueError(f'vocabulary {path}, line {number}: byte {err.start} is not '
                                 f'UTF-8 ({err.reason}); save the file as UTF-8') from None
            if not line or line.startswith('#'):
                continue
            if line.startswith('\\#'):
                line = line[1:]
            synonyms.append(_split_synonyms(line))
            lines.append(number)
    return synonyms, lines


def read_vocabulary_file(path: str) -> Vocabulary:
    """Read a vocabulary file (format in the module docstring)."""
    synonyms, lines = _read_entries(path)
    _check(synonyms, path, lines)
    return Vocabulary(tuple(synonyms), source=path)


def join_things_stuff(things: Union[str, Sequence, 'Vocabulary'],
                      stuff: Union[str, Sequence, 'Vocabulary']) -> Vocabulary:
    """A panoptic vocabulary: the thing classes, then the stuff classes (mmdet's label order),
    with ``num_things`` recording the split. Each part is anything :func:`load_vocabulary`
    accepts; a class named in both is an error."""
    things, stuff = load_vocabulary(things), load_vocabulary(stuff)
    synonyms = things.synonyms + stuff.synonyms
    source = f'{things.source} + {stuff.source}'
    _check(synonyms, source, list(range(1, len(synonyms) + 1)))
    return Vocabulary(synonyms, source, num_things=len(things))


def refuse_stuff(stuff, owner: str) -> None:
    """Raise unless ``stuff`` is ``None``: ``owner`` (a model's class name) has no thing/stuff
    split, so a ``set_vocabulary(vocabulary, stuff=...)`` call for it is a mistake."""
    if stuff is not None:
        raise ValueError(f'{owner}.set_vocabulary(vocabulary, stuff=...): {owner} has no '
                         f'thing/stuff split (only panoptic models do); give all its classes as '
                         f'vocabulary and leave stuff=None')


def load_held_out_names(spec: Optional[Union[str, Sequence, Vocabulary]]) -> Tuple[str, ...]:
    """Display names of a list of held-out classes, which may be empty.

    A world or benchmark with nothing held out is normal, so ``None``, an empty list and a file
    with no class lines (``vocabularies/held_out.txt`` of a fully supervised synthetic world) give
    ``()``; anything else is read by :func:`load_vocabulary`, with its checks.
    """
    if spec is None or (not isinstance(spec, (str, Vocabulary)) and len(spec) == 0):
        return ()
    if isinstance(spec, str) and osp.isfile(spec) and not _read_entries(spec)[0]:
        return ()
    return tuple(load_vocabulary(spec).class_names)


def load_vocabulary(spec: Union[str, Sequence, Vocabulary]) -> Vocabulary:
    """Load a vocabulary from a benchmark name, a file, or a list.

    Args:
        spec: a :class:`Vocabulary`; a name of :func:`list_vocabularies` (``'ade20k_150'``); a
            path to a vocabulary file; or a list whose items are class names (``'a, b'`` gives
            synonyms) or sequences of synonyms.

    Returns:
        The :class:`Vocabulary`.
    """
    if isinstance(spec, Vocabulary):
        return spec
    if isinstance(spec, str):
        if osp.isfile(spec):
            return read_vocabulary_file(spec)
        named = osp.join(VOCABULARY_DIR, f'{spec}.txt')
        if osp.isfile(named):
            return read_vocabulary_file(named)
        raise FileNotFoundError(
            f'vocabulary {spec!r} is neither a file nor a shipped vocabulary; shipped ones are '
            f'{list_vocabularies()} (ade20k_847 and pascal_context_459 appear once their dataset '
            f'converters have run), or pass a list of class names.')
    synonyms = [_split_synonyms(item) if isinstance(item, str) else tuple(item) for item in spec]
    _check(synonyms, '<list>', [i + 1 for i in range(len(synonyms))])
    return Vocabulary(tuple(synonyms))
