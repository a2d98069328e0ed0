"""An mmdet COCO panoptic dataset whose thing and stuff classes are read from vocabularies."""
from typing import Sequence, Union

from mmdet.registry import DATASETS

from .coco_panoptic_subset_dataset import CocoPanopticSubsetDataset
from ..structures.vocabulary import Vocabulary, load_vocabulary


@DATASETS.register_module()
class VocabularyCocoPanopticDataset(CocoPanopticSubsetDataset):
    """mmdet's ``CocoPanopticDataset`` with its thing and stuff classes given by vocabularies.

    The class list of a COCO panoptic file is its ``categories``; which of them a config trains
    or tests on is ``metainfo['classes']`` (matched by name), which stock configs spell out as
    tuples. Reading them from vocabulary files instead lets one config serve any split of seen and
    held-out classes (the synthetic world's ``vocabularies/seen_things.txt`` ...,
    or your own files): segments of classes outside the vocabularies are void (ignored), as in
    :class:`CocoPanopticSubsetDataset`. ``VocabularyHook`` passes the same names to the model.

    Args:
        thing_classes: the thing classes: anything :func:`umg_mm.datasets.load_vocabulary`
            accepts (a vocabulary file, a shipped name, a list of names).
        stuff_classes: the stuff classes, likewise.
        **kwargs: mmdet ``CocoPanopticDataset``'s arguments; ``metainfo`` may add keys (``palette``)
            but not the class lists.
    """

    def __init__(self, thing_classes: Union[str, Sequence, Vocabulary],
                 stuff_classes: Union[str, Sequence, Vocabulary], **kwargs):
        metainfo = dict(kwargs.pop('metainfo', None) or {})
        given = sorted({'classes', 'thing_classes', 'stuff_classes'} & set(metainfo))
        if given:
            raise ValueError(f'VocabularyCocoPanopticDataset takes its classes from thing_classes='
                             f'{thing_classes!r} and stuff_classes={stuff_classes!r}; remove '
                             f'metainfo{given} or use CocoPanopticSubsetDataset')
        things = tuple(load_vocabulary(thing_classes).class_names)
        stuff = tuple(load_vocabulary(stuff_classes).class_names)
        both = sorted(set(things) & set(stuff))
        if both:
            raise ValueError(f'VocabularyCocoPanopticDataset: {both} are both thing classes '
                             f'({thing_classes!r}) and stuff classes ({stuff_classes!r})')
        metainfo.update(classes=things + stuff, thing_classes=things, stuff_classes=stuff)
        super().__init__(metainfo=metainfo, **kwargs)
