"""Keep an open-vocabulary model's classes equal to the classes of the dataset it runs on."""
from typing import Optional, Sequence, Union

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from umg_mm.structures.vocabulary import Vocabulary, load_vocabulary
from umg_mm.registry import HOOKS


@HOOKS.register_module()
class DatasetVocabularyHook(Hook):
    """Give the model the thing and stuff classes of the dataset of each loop.

    Labels produced by a dataset are indices into its ``metainfo['classes']``; an open-vocabulary
    model must classify over exactly those names in that order, or its losses and metrics are
    silently wrong. This hook calls ``model.set_vocabulary(thing_classes=..., stuff_classes=...)``
    with the training dataset's classes before training, with the validation dataset's before
    each validation (and restores the training ones after it), and with the test dataset's
    before testing. Swapping the test dataset (COCO -> ADE20K) swaps the vocabulary.

    Args:
        texts: optional text for the dataset's class names (a vocabulary name, file or list with
            one entry per class, in the order of ``metainfo['classes']``), e.g.
            ``'coco_panoptic_133'`` to read COCO's ``wall-other-merged`` as ``wall``. ``None``:
            the names in the metainfo are the texts (a name ``'a, b'`` gives synonyms).
    """

    priority = 'HIGH'  # before the visualization and logger hooks

    def __init__(self, texts: Optional[Union[str, Sequence, Vocabulary]] = None):
        self.texts = None if texts is None else load_vocabulary(texts)
        self._train_split = None

    def _split(self, dataset, loop: str):
        meta = getattr(dataset, 'metainfo', None) or {}
        missing = [k for k in ('classes', 'thing_classes', 'stuff_classes') if k not in meta]
        if missing:
            raise KeyError(f'DatasetVocabularyHook: the {loop} dataset {type(dataset).__name__} '
                           f'has no {missing} in its metainfo; set metainfo=dict(classes=..., '
                           f'thing_classes=..., stuff_classes=...) (things first)')
        classes = list(meta['classes'])
        things, stuff = list(meta['thing_classes']), list(meta['stuff_classes'])
        if classes != things + stuff:
            raise ValueError(f'DatasetVocabularyHook: the {loop} dataset lists classes '
                             f'{classes} which are not thing_classes followed by stuff_classes '
                             f'({things} + {stuff}); panoptic labels need things first')
        texts = list(load_vocabulary(classes).synonyms)
        if self.texts is not None:
            if len(self.texts) != len(classes):
                raise ValueError(f'DatasetVocabularyHook texts={self.texts.source!r} has '
                                 f'{len(self.texts)} entries but the {loop} dataset has '
                                 f'{len(classes)} classes; give one text per class, in order, '
                                 f'or texts=None')
            texts = list(self.texts.synonyms)
        return texts[:len(things)], texts[len(things):]

    def _apply(self, runner, split, loop: str) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'set_vocabulary'):
            raise TypeError(f'DatasetVocabularyHook needs a model with set_vocabulary(thing_'
                            f'classes, stuff_classes); {type(model).__name__} has none')
        vocabulary = model.set_vocabulary(thing_classes=split[0], stuff_classes=split[1])
        print_log(f'{loop} vocabulary: {len(split[0])} things + {len(split[1])} stuff '
                  f'({", ".join(vocabulary.class_names[:8])}'
                  f'{", ..." if len(vocabulary) > 8 else ""})', logger='current')

    def before_train(self, runner) -> None:
        self._train_split = self._split(runner.train_loop.dataloader.dataset, 'train')
        self._apply(runner, self._train_split, 'train')

    def before_val_epoch(self, runner) -> None:
        self._apply(runner, self._split(runner.val_loop.dataloader.dataset, 'val'), 'val')

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self._train_split is not None:
            self._apply(runner, self._train_split, 'train')

    def before_test_epoch(self, runner) -> None:
        self._apply(runner, self._split(runner.test_loop.dataloader.dataset, 'test'), 'test')
