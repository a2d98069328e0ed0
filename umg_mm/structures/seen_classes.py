"""The classes a model was trained on ("seen"), and the one rule that says whether a class of
another vocabulary is one of them.

Every part that treats seen and unseen (held-out) classes apart, the metrics' seen / held-out
breakdowns, the FC-CLIP ensemble and the uncovered-region fallbacks, takes the training classes
as ``seen_classes`` and asks :class:`SeenClasses`; the held-out classes of an evaluation are the
classes of its vocabulary that are not seen.
"""
from typing import Optional, Sequence, Union

import numpy as np

from .vocabulary import Vocabulary, load_vocabulary, normalize_name

VocabularySpec = Union[str, Sequence, Vocabulary]


class SeenClasses:
    """The training classes and the name-matching rule.

    A class is seen when one of its names (synonyms included) equals one of the names of a
    training class, compared as :func:`~umg_mm.structures.vocabulary.normalize_name` compares
    them (case-folded, runs of white space as one space): ``'Star'`` and ``'star'`` match, and
    so do ``'star, pentagram'`` and ``'pentagram'``.

    Args:
        seen_classes: the training vocabulary: a shipped name (``'coco_stuff_171'``), a
            vocabulary file (the synthetic world's ``vocabularies/seen.txt``) or a list.
    """

    def __init__(self, seen_classes: VocabularySpec):
        self.vocabulary = load_vocabulary(seen_classes)
        self.names = frozenset(normalize_name(name) for names in self.vocabulary.synonyms
                               for name in names)

    @classmethod
    def build(cls, seen_classes: Optional[Union[VocabularySpec, 'SeenClasses']]
              ) -> Optional['SeenClasses']:
        """``None`` stays ``None`` (no split), a :class:`SeenClasses` is kept, anything else
        is loaded."""
        if seen_classes is None or isinstance(seen_classes, SeenClasses):
            return seen_classes
        return cls(seen_classes)

    def is_seen(self, names: Sequence[str]) -> bool:
        """Whether a class with these synonyms was seen in training."""
        return any(normalize_name(name) in self.names for name in names)

    def mask(self, vocabulary: VocabularySpec) -> np.ndarray:
        """``(K,)`` bool: which classes of ``vocabulary`` (label order) were seen."""
        return np.array([self.is_seen(names) for names in load_vocabulary(vocabulary).synonyms],
                        dtype=bool)

    def held_out_mask(self, vocabulary: VocabularySpec) -> np.ndarray:
        """``(K,)`` bool: which classes of ``vocabulary`` were not seen (held out)."""
        return ~self.mask(vocabulary)
