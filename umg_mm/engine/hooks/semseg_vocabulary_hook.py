"""Make an open-vocabulary semantic segmentor predict over the classes of the dataset it is
tested on."""
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.model import is_model_wrapper

from umg_mm.structures.vocabulary import Vocabulary, load_vocabulary
from umg_mm.registry import HOOKS


def dataset_vocabulary(metainfo: dict, role: str) -> Vocabulary:
    """The vocabulary of a dataset: ``metainfo['vocabulary']`` if set, else its ``classes``.

    Args:
        metainfo: the dataset's metainfo.
        role: ``'train'``, ``'val'`` or ``'test'``, for the error message.

    Returns:
        The :class:`Vocabulary`; an error if its size differs from ``metainfo['classes']``.
    """
    classes = metainfo.get('classes')
    if classes is None:
        raise KeyError(f'the {role} dataset has no metainfo "classes"; give it '
                       f'metainfo=dict(classes=...) or use VocabularySegDataset(vocabulary=...)')
    vocabulary = load_vocabulary(metainfo.get('vocabulary', classes))
    if len(vocabulary) != len(classes):
        raise ValueError(f'the {role} dataset\'s metainfo "vocabulary" ({vocabulary.source}) has '
                         f'{len(vocabulary)} classes but its "classes" has {len(classes)}; they '
                         f'must list the same classes in label order')
    return vocabulary


@HOOKS.register_module()
class SemSegVocabularyHook(Hook):
    """Sets ``OpenVocabEncoderDecoder``'s test vocabulary from the evaluated dataset.

    Before validation and testing, the model predicts over the dataset's
    ``metainfo['vocabulary']`` (a shipped name, a file or a list; ``VocabularySegDataset`` sets
    it from its ``vocabulary`` argument) or, without one, its ``metainfo['classes']``; so
    replacing the test dataset (or its vocabulary, ``--cfg-options
    test_dataloader.dataset.vocabulary=my_classes.txt``) is all it takes to test on other
    classes. A model built with an explicit ``test_vocabulary`` keeps it; the hook then checks
    that the dataset has as many classes. Before training it checks that the training dataset
    lists as many classes as the model's ``train_vocabulary``.
    """

    priority = 'NORMAL'

    @staticmethod
    def _model(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'set_test_vocabulary'):
            raise TypeError(f'SemSegVocabularyHook needs a model with set_test_vocabulary() '
                            f'(OpenVocabEncoderDecoder), got {type(model).__name__}')
        return model

    def before_train(self, runner) -> None:
        model = self._model(runner)
        vocabulary = dataset_vocabulary(runner.train_dataloader.dataset.metainfo, 'train')
        if model.train_vocabulary is not None and \
                len(vocabulary) != len(model.train_vocabulary):
            raise ValueError(f'the training dataset has {len(vocabulary)} classes but '
                             f'model.train_vocabulary ({model.train_vocabulary.source}) has '
                             f'{len(model.train_vocabulary)}; set them to the same vocabulary')

    def _set(self, runner, dataset, role: str) -> None:
        model = self._model(runner)
        vocabulary = dataset_vocabulary(dataset.metainfo, role)
        if model.test_vocabulary_pinned:
            if len(vocabulary) != len(model.test_vocabulary):
                raise ValueError(f'model.test_vocabulary ({model.test_vocabulary.source}) has '
                                 f'{len(model.test_vocabulary)} classes but the {role} dataset '
                                 f'has {len(vocabulary)}; remove model.test_vocabulary to use '
                                 f"the dataset's, or give the dataset the same vocabulary")
            return
        model.set_test_vocabulary(vocabulary)
        MMLogger.get_current_instance().info(
            f'{role}: predicting over the dataset vocabulary ({len(vocabulary)} classes, '
            f'{vocabulary.source})')

    def before_val(self, runner) -> None:
        self._set(runner, runner.val_loop.dataloader.dataset, 'val')

    def before_test(self, runner) -> None:
        self._set(runner, runner.test_loop.dataloader.dataset, 'test')
