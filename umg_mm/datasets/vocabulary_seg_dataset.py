"""An mmseg dataset whose classes are read from a vocabulary (name, file or list)."""
import os
from typing import Dict, Optional, Sequence, Union

from mmcv.transforms import LoadAnnotations
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .transforms.seg_label_check import CheckSegLabels
from ..structures.vocabulary import Vocabulary, load_vocabulary

VocabularySpec = Union[str, Sequence, Vocabulary]


def _load(spec: VocabularySpec, argument: str) -> Vocabulary:
    try:
        return load_vocabulary(spec)
    except FileNotFoundError as error:
        raise FileNotFoundError(f'VocabularySegDataset({argument}={spec!r}): {error} (a relative '
                                f'path is read from the working directory {os.getcwd()})') \
            from error


@DATASETS.register_module()
class VocabularySegDataset(BaseSegDataset):
    """mmseg's ``BaseSegDataset`` with its classes given by a vocabulary.

    For label maps whose class indices are the lines of a vocabulary file: ADE20K-847 and
    Pascal Context-459 (written by umg_mm's converters, 16-bit, read with
    ``LoadWideSegAnnotations``), Pascal VOC-20 (VOC's maps with ``reduce_zero_label=True``:
    background becomes ignored and the 20 objects index ``pascal_voc_20``), the synthetic world
    (``vocabularies/seen.txt`` for training, ``all.txt`` for testing) and your own data.

    ``metainfo['classes']`` becomes the vocabulary's display names (what ``IoUMetric`` prints)
    and ``metainfo['vocabulary']`` its synonyms, from which ``VocabularyHook`` sets the
    open-vocabulary segmentor's test vocabulary.

    **Holding classes out.** With ``label_vocabulary`` (the list the label maps index, e.g. all
    your classes) and ``vocabulary`` a subset of it (matched by display name, e.g. the classes
    to train on), labels are renumbered to ``vocabulary``'s order and the pixels of the other
    classes become ``ignore_index``: mmseg's own ``label_map``, applied by ``LoadAnnotations``.

    Every label map is checked when it is loaded: a :class:`CheckSegLabels` goes right after the
    pipeline's ``LoadAnnotations`` (or ``LoadWideSegAnnotations``), so a value that is neither a
    class index nor ``ignore_index`` raises an error naming the label map, the value, the class
    count and the ignore index, instead of failing deep in the loss.

    Args:
        vocabulary: anything :func:`umg_mm.datasets.load_vocabulary` accepts: a shipped name
            (``'pascal_voc_20'``), a vocabulary file, or a list of class names.
        label_vocabulary: the vocabulary whose line numbers the label maps hold, when it is not
            ``vocabulary`` itself. Default: ``vocabulary``.
        check_labels: insert the :class:`CheckSegLabels`. ``False`` only to predict over a
            vocabulary that does not match the label maps (the metrics are then meaningless).
        **kwargs: ``BaseSegDataset``'s arguments (``data_root``, ``data_prefix``,
            ``img_suffix``, ``seg_map_suffix``, ``reduce_zero_label``, ``ignore_index``,
            ``ann_file``, ...). ``metainfo`` may add keys (``palette``) but not ``classes``.
    """

    def __init__(self, vocabulary: VocabularySpec,
                 label_vocabulary: Optional[VocabularySpec] = None, check_labels: bool = True,
                 **kwargs):
        metainfo = dict(kwargs.pop('metainfo', None) or {})
        if 'classes' in metainfo:
            raise ValueError(f'VocabularySegDataset takes its classes from vocabulary='
                             f'{vocabulary!r}; remove metainfo["classes"] '
                             f'({len(metainfo["classes"])} names) or use BaseSegDataset')
        vocab = _load(vocabulary, 'vocabulary')
        self._label_vocabulary = vocab if label_vocabulary is None else \
            _load(label_vocabulary, 'label_vocabulary')
        metainfo.update(classes=tuple(vocab.class_names), vocabulary=vocab.synonyms)
        super().__init__(metainfo=metainfo, **kwargs)
        if check_labels:
            self._insert_label_check()

    def get_label_map(self, new_classes: Optional[Sequence] = None) -> Optional[Dict[int, int]]:
        """Map label-map values (lines of ``label_vocabulary``) to ``vocabulary`` indices.

        Returns:
            ``{old: new}`` with ``ignore_index`` for the classes left out, or ``None`` when the
            label maps index ``vocabulary`` itself.
        """
        names = list(self._label_vocabulary.class_names)
        if new_classes is None or list(new_classes) == names:
            return None
        missing = [name for name in new_classes if name not in names]
        if missing:
            raise ValueError(f'VocabularySegDataset: classes {missing} of the vocabulary are not '
                             f'in label_vocabulary {self._label_vocabulary.source} ({names}); '
                             f'the vocabulary must be a subset of it (matched by display name)')
        return {old: list(new_classes).index(name) if name in new_classes else self.ignore_index
                for old, name in enumerate(names)}

    def _insert_label_check(self) -> None:
        """Put a ``CheckSegLabels`` after the pipeline's label map loading transform."""
        transforms = self.pipeline.transforms
        for i, transform in enumerate(transforms):
            if isinstance(transform, LoadAnnotations):
                transforms.insert(i + 1, CheckSegLabels(
                    num_classes=len(self._label_vocabulary), ignore_index=self.ignore_index,
                    classes_source=f'vocabulary {self._label_vocabulary.source}'))
                return
