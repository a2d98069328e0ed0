"""``AtomicDumpResults``: mmengine's ``DumpResults`` whose pickle never replaces a good file with a
part of one."""
import pickle

from mmengine.evaluator import DumpResults
from mmengine.logging import print_log

from umg_mm.registry import METRICS
from umg_mm.utils.atomic_io import atomic_open


@METRICS.register_module()
class AtomicDumpResults(DumpResults):
    """Dump the predictions to a pickle file (``tools/test.py --out``), atomically.

    The file is written under a temporary name, synced and renamed over ``out_file_path``: a run
    killed while writing leaves the previous file, if any, intact. Arguments as ``DumpResults``.
    """

    def compute_metrics(self, results: list) -> dict:
        """Write the predictions; no metric."""
        with atomic_open(self.out_file_path, 'wb') as f:
            pickle.dump(results, f, protocol=pickle.HIGHEST_PROTOCOL)
        print_log(f'Results have been saved to {self.out_file_path}.', logger='current')
        return {}
