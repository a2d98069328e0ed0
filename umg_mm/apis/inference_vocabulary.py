"""The vocabulary of one inference call: checked, split into things and stuff for panoptic, and
set on the model (:func:`apply_vocabulary`, the inferencers' one place that changes a model's
vocabulary)."""
import os.path as osp
from typing import Optional, Sequence, Tuple, Union

from torch import nn

from umg_mm.structures.vocabulary import Vocabulary, list_vocabularies, load_vocabulary

VocabularySpec = Union[str, Sequence, Vocabulary]


def resolve_vocabulary(spec: Optional[VocabularySpec],
                       default: Optional[VocabularySpec]) -> Vocabulary:
    """The vocabulary to predict over.

    Args:
        spec: a list of class names, a vocabulary file, a shipped benchmark name (see
            :func:`~umg_mm.structures.vocabulary.load_vocabulary`), or ``None`` for ``default``.
        default: the model's own vocabulary (from its config; loaded only when ``spec`` is
            ``None``), or ``None`` if it has none.

    Raises:
        ValueError: the vocabulary is empty, or none is given and the model has none.
    """
    if spec is None:
        if default is None:
            raise ValueError('the model has no vocabulary of its own; pass vocabulary=[...] '
                             '(class names, a vocabulary file or a benchmark name)')
        return load_vocabulary(default)
    if (isinstance(spec, str) and not spec.strip()) or \
            (not isinstance(spec, (str, Vocabulary)) and len(spec) == 0):
        raise ValueError(f'the vocabulary is empty ({spec!r}); give at least one class name, '
                         f'a vocabulary file or a benchmark name such as "ade20k_150"')
    return load_vocabulary(spec)


def split_things_stuff(spec: Optional[Union[VocabularySpec, dict]],
                       stuff: Optional[VocabularySpec],
                       default: Tuple[Vocabulary, Vocabulary]) -> Tuple[Vocabulary, Vocabulary]:
    """Things and stuff of a panoptic vocabulary (labels: the things, then the stuff).

    Args:
        spec: ``dict(thing_classes=..., stuff_classes=...)``; or one vocabulary (as for
            :func:`resolve_vocabulary`) split by ``stuff``; or ``None`` for ``default``.
        stuff: the names (any synonym) of ``spec``'s stuff classes, as a list, a vocabulary file
            or a comma-separated string. ``None``: no class is stuff (no list of stuff names is
            guessed), unless ``spec`` is ``None`` too.
        default: the model's own ``(things, stuff)``.

    Returns:
        ``(things, stuff)``, each in the order of ``spec``.

    Raises:
        ValueError: a name of ``stuff`` is not a class of ``spec``; the vocabulary is empty.
    """
    if spec is None and stuff is None:
        return default
    if isinstance(spec, dict):
        if set(spec) != {'thing_classes', 'stuff_classes'} or stuff is not None:
            raise ValueError(f'a panoptic vocabulary dict has the keys thing_classes and '
                             f'stuff_classes (and then no stuff=...); got {sorted(spec)}')
        things, stuff_classes = (
            [] if not spec[key] else resolve_vocabulary(spec[key], None).synonyms
            for key in ('thing_classes', 'stuff_classes'))
        if not things and not stuff_classes:
            raise ValueError('the vocabulary is empty: thing_classes and stuff_classes are both '
                             'empty')
        return Vocabulary(tuple(things)), Vocabulary(tuple(stuff_classes))
    vocabulary = resolve_vocabulary(spec, Vocabulary(default[0].synonyms + default[1].synonyms))
    wanted = set()
    if stuff is not None:
        if isinstance(stuff, str) and not osp.isfile(stuff) and \
                stuff not in list_vocabularies():
            stuff = [name.strip() for name in stuff.split(',')]
        wanted = {name for names in load_vocabulary(stuff).synonyms for name in names}
        classes = {name for names in vocabulary.synonyms for name in names}
        missing = sorted(wanted - classes)
        if missing:
            raise ValueError(f'stuff classes {missing} are not in the vocabulary '
                             f'{vocabulary.class_names}; name stuff classes of the vocabulary')
    is_stuff = [any(name in wanted for name in names) for names in vocabulary.synonyms]
    things = tuple(n for n, s in zip(vocabulary.synonyms, is_stuff) if not s)
    stuff_classes = tuple(n for n, s in zip(vocabulary.synonyms, is_stuff) if s)
    return Vocabulary(things, vocabulary.source), Vocabulary(stuff_classes, vocabulary.source)


def model_vocabulary(model: nn.Module) -> Optional[Vocabulary]:
    """The vocabulary a model predicts over now (panoptic: things, then stuff, with their
    split); ``None`` if it has none (a pretrainer whose config names no vocabulary). A
    pretrainer's config may name a vocabulary file that only its own data has (the synthetic
    world's): its spec is returned unread, and a call that uses it reads it (and names the file
    if it is missing)."""
    try:
        return model.vocabulary
    except FileNotFoundError:
        return model.test_cfg['vocabulary']


def apply_vocabulary(model: nn.Module, vocabulary: Optional[VocabularySpec],
                     stuff: Optional[VocabularySpec] = None) -> Optional[Vocabulary]:
    """Make ``model`` predict over ``vocabulary`` (the vocabulary protocol's
    ``model.set_vocabulary(vocabulary, stuff=None)``): the inferencers' one place that changes a
    model's vocabulary.

    Args:
        model: a text-classifying umg_mm model.
        vocabulary: the classes (panoptic: the thing classes), anything
            :func:`~umg_mm.structures.vocabulary.load_vocabulary` reads; ``None`` (a pretrainer
            only) leaves the model without a vocabulary.
        stuff: panoptic only: the stuff classes (labels after the things).

    Returns:
        The model's vocabulary in label order (panoptic: things, then stuff).
    """
    return model.set_vocabulary(vocabulary, stuff=stuff)
