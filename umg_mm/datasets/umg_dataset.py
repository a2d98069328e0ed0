"""``UMGDataset``: UMG-schema records from a folder tree or an index file."""
import logging
import os.path as osp
from typing import List, Optional

from mmengine.dataset import BaseDataset
from mmengine.fileio import get_local_path
from mmengine.logging import print_log

from umg_mm.registry import DATASETS
from .invalid_records import InvalidRecordPolicy, collect_or_skip
from .schema import SCHEMA_VERSION
from .umg_sources import (SourceRecord, check_source_record, iter_folder_records,
                          iter_index_records)


def umg_data_info(src: SourceRecord) -> dict:
    """The data info (the pipeline's input) of one valid record.

    Keys: ``img_path``, ``img_id``, ``height``, ``width``, ``ann_file`` and ``record_id`` (where
    the record came from, for error messages), ``captions``, ``tags``, ``regions``, ``segments``
    (the record's lists as stored, empty when absent) and, for shard samples, ``img_bytes``.
    """
    record, image = src.record, src.record['image']
    info = dict(
        img_path=src.img_path,
        img_id=image.get('id', osp.splitext(osp.basename(image['file_name']))[0]),
        height=image['height'],
        width=image['width'],
        ann_file=src.file,
        record_id=src.record_id,
        captions=record.get('captions', []),
        tags=record.get('tags', []),
        regions=record.get('regions', []),
        segments=record.get('segments', []))
    if src.img_bytes is not None:
        info['img_bytes'] = src.img_bytes
    return info


@DATASETS.register_module()
class UMGDataset(BaseDataset):
    """Images annotated at image, region and pixel level in the UMG schema (``umg/1``).

    Two storage forms (``docs/umg_data.md``):

    - folder tree (``ann_file=''``): every ``*.json`` under ``data_prefix['img']`` (joined to
      ``data_root``) is one record; its ``image.file_name`` is relative to the JSON's folder;
    - index file (``ann_file='train.jsonl'`` or a ``.json`` with ``{"records": [...]}``):
      ``image.file_name`` is relative to ``data_prefix['img']``.

    Every record is checked against the schema when the data list is loaded (``full_init``,
    before training starts). By default any invalid record raises one ``ValueError`` listing the
    files, records and fields; ``skip_invalid=True`` skips them, logging each once and counting
    them in ``num_skipped``.

    Args:
        skip_invalid (bool): skip invalid records instead of raising. Defaults to False.
        check_images (bool): also open each image's header at load time to report missing or
            unreadable images and sizes that differ from ``image.height/width`` (one file open
            per image). Without it, a size mismatch is caught when ``LoadUMGImage`` decodes the
            image. Defaults to False.
        backend_args (dict, optional): passed to ``mmengine.fileio.get_local_path`` for the
            index file.
        data_prefix (dict): ``img``: the folder tree's root, or the folder that index-file
            image names are relative to. Defaults to ``dict(img='')``.
        **kwargs: ``mmengine.dataset.BaseDataset`` arguments (``ann_file``, ``data_root``,
            ``pipeline``, ``test_mode``, ``lazy_init``, ``indices``, ...).
    """

    METAINFO = dict(schema=SCHEMA_VERSION)

    def __init__(self,
                 *args,
                 skip_invalid: bool = False,
                 check_images: bool = False,
                 backend_args: Optional[dict] = None,
                 data_prefix: dict = dict(img=''),
                 **kwargs) -> None:
        self.skip_invalid = skip_invalid
        self.check_images = check_images
        self.backend_args = backend_args
        self.invalid_policy = InvalidRecordPolicy(skip_invalid, type(self).__name__)
        super().__init__(*args, data_prefix=data_prefix, **kwargs)

    @property
    def num_skipped(self) -> int:
        """How many invalid records were skipped when the data list was loaded."""
        return self.invalid_policy.num_skipped

    def load_data_list(self) -> List[dict]:
        """Read and check every record; return the data infos of the valid ones."""
        img_root = self.data_prefix.get('img', '') or self.data_root
        if self.ann_file:
            with get_local_path(self.ann_file, backend_args=self.backend_args) as local_path:
                sources = list(iter_index_records(self.ann_file, local_path, img_root))
        else:
            sources = list(iter_folder_records(img_root))
        data_list, pending = [], []
        invalid = 0
        for src in sources:
            problems = check_source_record(src, check_image=self.check_images)
            if collect_or_skip(self.invalid_policy, problems, pending):
                data_list.append(umg_data_info(src))
            else:
                invalid += 1
        if pending:
            self.invalid_policy.raise_for(pending, num_records=invalid)
        if not data_list:
            raise ValueError(f'{type(self).__name__}: {self.ann_file or img_root} holds no valid '
                             f'record ({self.num_skipped} invalid one(s) skipped); nothing to '
                             f'train or test on')
        if self.num_skipped:
            print_log(f'{type(self).__name__}: skipped {self.num_skipped} invalid record(s) of '
                      f'{len(sources)}', logger='current', level=logging.WARNING)
        return data_list
