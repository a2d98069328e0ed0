"""Keep a text-classifying model's classes equal to the classes of the dataset it runs on."""
from typing import Optional, Sequence, Union

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from umg_mm.registry import HOOKS
from umg_mm.structures.vocabulary import Vocabulary, join_things_stuff, load_vocabulary

VocabularySpec = Union[str, Sequence, Vocabulary]


def dataset_vocabulary(metainfo: dict, role: str) -> Vocabulary:
    """The vocabulary of a dataset, in label order.

    ``metainfo['vocabulary']`` if set (``VocabularySegDataset`` sets it), else its ``classes``
    (a name ``'a, b'`` gives synonyms). A panoptic dataset (``thing_classes`` and
    ``stuff_classes`` in its metainfo, things first) gives a vocabulary with its
    ``num_things``.

    Args:
        metainfo: the dataset's metainfo.
        role: ``'train'``, ``'val'`` or ``'test'``, for the error messages.

    Returns:
        The :class:`Vocabulary`; an error if it disagrees with ``metainfo['classes']``.
    """
    classes = metainfo.get('classes')
    if classes is None:
        raise KeyError(f'the {role} dataset has no metainfo "classes"; give it '
                       f'metainfo=dict(classes=...) or use VocabularySegDataset(vocabulary=...)')
    classes = list(classes)
    vocabulary = load_vocabulary(metainfo.get('vocabulary', classes))
    if len(vocabulary) != len(classes):
        raise ValueError(f'the {role} dataset\'s metainfo "vocabulary" ({vocabulary.source}) has '
                         f'{len(vocabulary)} classes but its "classes" has {len(classes)}; they '
                         f'must list the same classes in label order')
    if 'thing_classes' not in metainfo and 'stuff_classes' not in metainfo:
        return vocabulary
    things, stuff = list(metainfo.get('thing_classes', ())), list(metainfo.get('stuff_classes', ()))
    if classes != things + stuff:
        raise ValueError(f'the {role} dataset lists classes {classes} which are not '
                         f'thing_classes followed by stuff_classes ({things} + {stuff}); '
                         f'panoptic labels need things first')
    return Vocabulary(vocabulary.synonyms, vocabulary.source, num_things=len(things))


@HOOKS.register_module()
class VocabularyHook(Hook):
    """Give the model the classes of the dataset of each loop (mmdet, mmseg and mmpretrain).

    Labels produced by a dataset index its ``metainfo['classes']``; a model that classifies
    with text must score exactly those classes in that order, or its losses and metrics are
    silently wrong. This hook calls ``model.set_vocabulary(...)`` with the training dataset's
    vocabulary (:func:`dataset_vocabulary`: its ``metainfo['vocabulary']`` or ``classes``, with
    the thing/stuff split of a panoptic dataset) before training, the validation dataset's
    before each validation (and the training one again after it), the test dataset's before
    testing. Replacing the test dataset (COCO -> ADE20K) or its vocabulary (``--cfg-options
    test_dataloader.dataset.vocabulary=my_classes.txt``) is all it takes to test on other
    classes. A model trained over a fixed ``train_vocabulary`` (the semantic segmentor) is
    checked to have as many classes as the training dataset.

    Args:
        vocabulary: optional texts for the datasets' classes (a shipped name, a file or a list,
            one entry per class in label order), e.g. ``'coco_panoptic_133'`` to read COCO's
            ``wall-other-merged`` as ``wall``; with ``stuff``, the thing classes only.
            ``None``: each dataset's own names.
        stuff: with ``vocabulary``, the stuff classes of a panoptic dataset. Without it a
            panoptic dataset's split applies to ``vocabulary``.
    """

    priority = 'HIGH'  # before the visualization and logger hooks

    def __init__(self, vocabulary: Optional[VocabularySpec] = None,
                 stuff: Optional[VocabularySpec] = None):
        if stuff is not None and vocabulary is None:
            raise ValueError('VocabularyHook(stuff=...) names the stuff classes of an explicit '
                             'vocabulary=...; give the thing classes as vocabulary too')
        self.vocabulary = None if vocabulary is None else \
            load_vocabulary(vocabulary) if stuff is None else join_things_stuff(vocabulary, stuff)
        self._train_vocabulary = None

    def _vocabulary(self, dataset, role: str) -> Vocabulary:
        """The dataset's vocabulary, or the explicit one once checked against the dataset."""
        own = dataset_vocabulary(getattr(dataset, 'metainfo', None) or {}, role)
        if self.vocabulary is None:
            return own
        explicit = self.vocabulary
        if len(explicit) != len(own) or (explicit.num_things is not None and
                                         explicit.num_things != own.num_things):
            split = '' if own.num_things is None else f' ({own.num_things} things)'
            raise ValueError(f'VocabularyHook vocabulary={explicit.source!r} has {len(explicit)} '
                             f'classes but the {role} dataset has {len(own)}{split}; give one '
                             f'text per class, in label order, or vocabulary=None')
        return Vocabulary(explicit.synonyms, explicit.source, num_things=own.num_things)

    def _apply(self, runner, vocabulary: Vocabulary, role: str) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'set_vocabulary'):
            raise TypeError(f'VocabularyHook needs a model with set_vocabulary(vocabulary, '
                            f'stuff=None); {type(model).__name__} has none')
        vocabulary = model.set_vocabulary(vocabulary)
        count = f'{len(vocabulary)} classes' if vocabulary.num_things is None else \
            f'{len(vocabulary.things)} things + {len(vocabulary.stuff)} stuff'
        print_log(f'{role} vocabulary: {count} ({", ".join(vocabulary.class_names[:8])}'
                  f'{", ..." if len(vocabulary) > 8 else ""})', logger='current')

    def before_train(self, runner) -> None:
        vocabulary = self._vocabulary(runner.train_loop.dataloader.dataset, 'train')
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        trained = getattr(model, 'train_vocabulary', None)
        if trained is not None and len(trained) != len(vocabulary):
            raise ValueError(f'the training dataset has {len(vocabulary)} classes but '
                             f'model.train_vocabulary ({trained.source}) has {len(trained)}; '
                             f'set them to the same vocabulary')
        self._train_vocabulary = vocabulary
        self._apply(runner, vocabulary, 'train')

    def before_val_epoch(self, runner) -> None:
        self._apply(runner, self._vocabulary(runner.val_loop.dataloader.dataset, 'val'), 'val')

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self._train_vocabulary is not None:
            self._apply(runner, self._train_vocabulary, 'train')

    def before_test_epoch(self, runner) -> None:
        self._apply(runner, self._vocabulary(runner.test_loop.dataloader.dataset, 'test'),
                    'test')


def _replaced_hook(name: str):
    """A hook name that a config may still use: building it says what replaced it."""

    def replaced(**kwargs):
        raise KeyError(f'{name} was replaced by VocabularyHook (one hook for mmdet, mmseg and '
                       f"mmpretrain): write custom_hooks=[dict(type='VocabularyHook')] (its "
                       f'texts= argument is now vocabulary=)')

    replaced.__name__ = name
    return replaced


for _name in ('DatasetVocabularyHook', 'SemSegVocabularyHook'):
    HOOKS.register_module(name=_name, module=_replaced_hook(_name))
