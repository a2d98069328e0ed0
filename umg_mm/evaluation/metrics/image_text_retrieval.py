"""Image-text retrieval: recall at k in both directions."""
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from umg_mm.registry import METRICS
from .zero_shot_classes import ClassSplit, VocabularySpec


@METRICS.register_module()
class ImageTextRetrievalMetric(BaseMetric):
    """Recall@k (%) of image-to-text (``i2t``) and text-to-image (``t2i``) retrieval among the
    evaluated images that have a caption (``img_embedding``, ``text_embedding`` of ``img_text``).

    A query counts as found at k when a correct item is among the k most similar; a text is
    correct for an image when it is the image's own caption or an identical string (short
    captions repeat), and the same the other way round. Ties are ranked pessimistically (items
    scored as high as the best correct one rank before it).

    Args:
        seen_classes: the training classes (with ``vocabulary``): adds ``_seen`` /
            ``_held_out`` recalls over the queries whose image's tags (``img_tags``) contain no /
            some class of ``vocabulary`` outside them; the gallery is always the whole set.
        vocabulary: the vocabulary of the tags (needed with ``seen_classes``).
        topk: the k of the recalls.
    """
    default_prefix = 'retrieval'

    def __init__(self, seen_classes: Optional[VocabularySpec] = None,
                 vocabulary: Optional[VocabularySpec] = None, topk: Sequence[int] = (1, 5, 10),
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if seen_classes is not None and vocabulary is None:
            raise ValueError('ImageTextRetrievalMetric: seen_classes needs the vocabulary of the '
                             'images\' tags (vocabulary=...)')
        self.split = ClassSplit(vocabulary, seen_classes) if vocabulary is not None else None
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if sample.get('text_embedding') is None:
                continue
            tags = sample.get('img_tags', [])
            held = bool(self.split is not None and self.split.has_split and any(
                self.split.held_out[self.split.index[t]] for t in tags if t in self.split.index))
            self.results.append((torch.as_tensor(sample['img_embedding']).float().cpu().numpy(),
                                 torch.as_tensor(sample['text_embedding']).float().cpu().numpy(),
                                 sample['img_text'], held))

    @staticmethod
    def _ranks(similarity: np.ndarray, correct: np.ndarray) -> np.ndarray:
        best = np.where(correct, similarity, -np.inf).max(axis=1)
        return (similarity > best[:, None]).sum(axis=1)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        images = np.stack([r[0] for r in results])
        texts = np.stack([r[1] for r in results])
        strings = np.array([r[2] for r in results], dtype=object)
        held = np.array([r[3] for r in results])
        similarity = images @ texts.T
        correct = strings[:, None] == strings[None, :]
        ranks = dict(i2t=self._ranks(similarity, correct), t2i=self._ranks(similarity.T, correct))
        subsets = {'': np.ones(len(results), dtype=bool)}
        if self.split is not None and self.split.has_split:
            subsets.update(_seen=~held, _held_out=held)
        metrics = {}
        for direction, rank in ranks.items():
            for k in self.topk:
                for suffix, rows in subsets.items():
                    value = float((rank[rows] < k).mean() * 100) if rows.any() else float('nan')
                    metrics[f'{direction}_R@{k}{suffix}'] = value
        return metrics
