"""What the UMG datasets do with records that fail the schema check: raise, or skip and count."""
import logging
from typing import List, Sequence, Set, Tuple

from mmengine.logging import print_log

from .schema import Problem

_MAX_LISTED = 20


class InvalidRecordPolicy:
    """Raise on invalid records (default) or skip them, counting each and logging it once.

    Args:
        skip_invalid (bool): skip invalid records instead of raising.
        dataset_name (str): the dataset class, named in messages.

    Attributes:
        num_skipped (int): how many invalid records were skipped (in this process).
    """

    def __init__(self, skip_invalid: bool, dataset_name: str) -> None:
        self.skip_invalid = skip_invalid
        self.dataset_name = dataset_name
        self.num_skipped = 0
        self._logged: Set[Tuple[str, str]] = set()

    def accept(self, problems: Sequence[Problem]) -> bool:
        """Whether a record with these problems is used; logs it (once) when it is skipped.

        Raises:
            ValueError: when the record has problems and ``skip_invalid`` is False.
        """
        if not problems:
            return True
        if not self.skip_invalid:
            self.raise_for(problems)
        self.num_skipped += 1
        key = (problems[0].file, problems[0].record)
        if key not in self._logged:
            self._logged.add(key)
            print_log(f'{self.dataset_name}: skipping an invalid record (skip_invalid=True): '
                      + '; '.join(str(p) for p in problems),
                      logger='current', level=logging.WARNING)
        return False

    def raise_for(self, problems: Sequence[Problem], num_records: int = 1) -> None:
        """Raise one error listing the problems (the first 20) of ``num_records`` records."""
        listed = '\n  '.join(str(p) for p in problems[:_MAX_LISTED])
        more = (f'\n  ... and {len(problems) - _MAX_LISTED} more problems'
                if len(problems) > _MAX_LISTED else '')
        raise ValueError(
            f'{self.dataset_name}: {num_records} invalid UMG record(s) '
            f'({len(problems)} problem(s)):\n  {listed}{more}\n'
            'Fix the data (list every problem with `python tools/validate_umg.py PATH`), or set '
            'skip_invalid=True in the dataset config to skip invalid records.')


def collect_or_skip(policy: InvalidRecordPolicy, problems: List[Problem],
                    pending: List[Problem]) -> bool:
    """For a dataset that checks its whole data list first: keep ``problems`` in ``pending``
    (to raise once for all records) unless ``policy`` skips them; return whether the record is
    valid."""
    if not problems:
        return True
    if policy.skip_invalid:
        policy.accept(problems)
    else:
        pending.extend(problems)
    return False
