"""Class names of a zero-shot evaluation and its seen / held-out split."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from umg_mm.structures.seen_classes import SeenClasses
from umg_mm.structures.vocabulary import Vocabulary, load_vocabulary

VocabularySpec = Union[str, Sequence[str], Vocabulary]


class ClassSplit:
    """The evaluation vocabulary (label order = the model's score columns) and which classes
    are held out: those not in ``seen_classes`` (:class:`~umg_mm.structures.SeenClasses`).

    Args:
        vocabulary: the vocabulary the model scores (``test_cfg.vocabulary``): a file, a shipped
            name or a list.
        seen_classes: the classes of some training stage (the synthetic world's
            ``vocabularies/seen.txt``); ``None``, or every class seen: no split.
    """

    def __init__(self, vocabulary: VocabularySpec,
                 seen_classes: Optional[VocabularySpec] = None):
        vocab = load_vocabulary(vocabulary)
        self.names: List[str] = vocab.class_names
        self.index: Dict[str, int] = {}
        for label, synonyms in enumerate(vocab.synonyms):
            for name in synonyms:
                self.index.setdefault(name, label)
        seen = SeenClasses.build(seen_classes)
        self.held_out = np.zeros(len(self.names), dtype=bool) if seen is None else \
            seen.held_out_mask(vocab)
        self.has_split = bool(self.held_out.any())

    def __len__(self) -> int:
        return len(self.names)

    def label(self, names: Sequence[str]) -> int:
        """Label of the first of ``names`` in the vocabulary, -1 if none is."""
        for name in names:
            if name in self.index:
                return self.index[name]
        return -1

    def subsets(self, labels: np.ndarray) -> Dict[str, np.ndarray]:
        """Row selections ``{'': all, '_seen': ..., '_held_out': ...}`` for rows of ``labels``
        (the split only when some class is held out)."""
        labels = np.asarray(labels, dtype=np.int64)
        if not self.has_split:
            return {'': np.ones(len(labels), dtype=bool)}
        held = self.held_out[labels]
        return {'': np.ones(len(labels), dtype=bool), '_seen': ~held, '_held_out': held}

    def image_scores(self, sample: dict, labels: dict, label_file: str, what: str,
                     entry: str = 'label') -> tuple:
        """An image's ``pred_img_scores`` (``(len(names),)`` float tensor, checked against this
        vocabulary) and its ground truth ``labels[file name]``; ``KeyError`` naming the image and
        ``label_file`` when it has no ``entry`` there."""
        scores = torch.as_tensor(sample['pred_img_scores']).float().cpu()
        self.check_scores(scores, what)
        name = osp.basename(sample['img_path'])
        if name not in labels:
            raise KeyError(f'{name} has no {entry} in {label_file}')
        return scores, labels[name]

    def check_scores(self, scores, what: str) -> None:
        """Raise when the model scored another number of classes than this vocabulary has."""
        if scores.shape[-1] != len(self.names):
            raise ValueError(f'{what}: the model scored {scores.shape[-1]} classes but the '
                             f"metric's vocabulary has {len(self.names)}; give the metric the "
                             f"model's test_cfg.vocabulary")
