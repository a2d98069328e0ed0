"""An mmseg dataset whose classes are read from a vocabulary (name, file or list)."""
from typing import Sequence, Union

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .vocabulary import Vocabulary, load_vocabulary


@DATASETS.register_module()
class VocabularySegDataset(BaseSegDataset):
    """mmseg's ``BaseSegDataset`` with its classes given by a vocabulary.

    For label maps whose class indices are the lines of a vocabulary file: ADE20K-847 and
    Pascal Context-459 (written by umg_mm's converters, 16-bit, read with
    ``LoadWideSegAnnotations``), Pascal VOC-20 (VOC's maps with ``reduce_zero_label=True``:
    background becomes ignored and the 20 objects index ``pascal_voc_20``), the synthetic world
    (``vocabularies/seen.txt`` for training, ``all.txt`` for testing) and your own data.

    ``metainfo['classes']`` becomes the vocabulary's display names (what ``IoUMetric`` prints)
    and ``metainfo['vocabulary']`` its synonyms, from which ``SemSegVocabularyHook`` sets the
    open-vocabulary segmentor's test vocabulary.

    Args:
        vocabulary: anything :func:`umg_mm.datasets.load_vocabulary` accepts: a shipped name
            (``'pascal_voc_20'``), a vocabulary file, or a list of class names.
        **kwargs: ``BaseSegDataset``'s arguments (``data_root``, ``data_prefix``,
            ``img_suffix``, ``seg_map_suffix``, ``reduce_zero_label``, ``ann_file``, ...).
            ``metainfo`` may add keys (``palette``) but not ``classes``.
    """

    def __init__(self, vocabulary: Union[str, Sequence, Vocabulary], **kwargs):
        metainfo = dict(kwargs.pop('metainfo', None) or {})
        if 'classes' in metainfo:
            raise ValueError(f'VocabularySegDataset takes its classes from vocabulary='
                             f'{vocabulary!r}; remove metainfo["classes"] '
                             f'({len(metainfo["classes"])} names) or use BaseSegDataset')
        vocab = load_vocabulary(vocabulary)
        metainfo.update(classes=tuple(vocab.class_names), vocabulary=vocab.synonyms)
        super().__init__(metainfo=metainfo, **kwargs)
