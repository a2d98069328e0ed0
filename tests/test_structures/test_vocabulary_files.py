"""check_vocabulary_files: a config naming a class-list file that does not exist fails before
anything is built, with the config key and the path in the message."""
import pytest
from mmengine.config import Config

from umg_mm.structures.vocabulary_files import check_vocabulary_files


def test_missing_class_list_names_the_key_and_the_file(tmp_path):
    seen = tmp_path / 'seen.txt'
    seen.write_text('sky\n')
    cfg = Config(dict(
        model=dict(train_vocabulary=str(seen), test_cfg=dict(vocabulary='ade20k_150')),
        train_dataloader=dict(dataset=dict(vocabulary=str(tmp_path / 'gone.txt'))),
        val_evaluator=[dict(type='IoUMetric'), dict(seen_classes=str(tmp_path / 'other.txt'))]))
    with pytest.raises(FileNotFoundError, match=r"train_dataloader\.dataset\.vocabulary='.*gone"
                                                r"\.txt' names a class-list file that does not"):
        check_vocabulary_files(cfg)
    # tools/test.py does not read the training data
    with pytest.raises(FileNotFoundError, match=r"val_evaluator\.1\.seen_classes='.*other"):
        check_vocabulary_files(cfg, skip=('train_dataloader',))
    (tmp_path / 'other.txt').write_text('sky\n')
    check_vocabulary_files(cfg, skip=('train_dataloader',))
