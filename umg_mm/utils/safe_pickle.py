"""Reading pickled data files (such as ADE20K's ``index_ade20k.pkl``) without running their code.

``pickle.load`` calls whatever function a file names, so a crafted data file runs code. A data
file only needs containers (dicts, lists, tuples, strings, numbers: pickle builds those without
naming any function) and numpy arrays and scalars; :func:`load_data_pickle` admits those numpy
globals alone and refuses any other with an error naming the file and the global.
"""
import pickle
from typing import Any, FrozenSet, Tuple

_NUMPY_MODULES = ('numpy.core.multiarray', 'numpy._core.multiarray')
_NUMERIC_MODULES = ('numpy.core.numeric', 'numpy._core.numeric')

#: The globals a pickle of builtin containers and numpy arrays/scalars names (numpy 1 and 2
#: spell the core module differently; protocol 5 rebuilds arrays with ``_frombuffer``; protocol 2
#: stores bytes as ``_codecs.encode(text, 'latin1')``).
NUMPY_GLOBALS: FrozenSet[Tuple[str, str]] = frozenset(
    [(m, '_reconstruct') for m in _NUMPY_MODULES] + [(m, 'scalar') for m in _NUMPY_MODULES] +
    [(m, '_frombuffer') for m in _NUMERIC_MODULES] +
    [('numpy', 'ndarray'), ('numpy', 'dtype'), ('_codecs', 'encode')])


class _Refused(pickle.UnpicklingError):
    """A global that a data file may not name."""


class _DataUnpickler(pickle.Unpickler):

    def __init__(self, file, path: str, allowed: FrozenSet[Tuple[str, str]]) -> None:
        super().__init__(file)
        self.path = path
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        # numpy >= 1.25 pickles a dtype's class (``numpy.dtypes.Float64DType``)
        if (module, name) in self.allowed or (module == 'numpy.dtypes' and
                                             name.endswith('DType')):
            return super().find_class(module, name)
        raise _Refused(
            f'{self.path}: refusing the global {module}.{name}: this data file may only hold '
            f'dicts, lists, strings, numbers and numpy arrays (a pickle naming other functions '
            f'or classes can run code when loaded). Re-create the file from its official '
            f'source.')


def load_data_pickle(path: str, allowed: FrozenSet[Tuple[str, str]] = NUMPY_GLOBALS) -> Any:
    """Load a pickle that may hold only builtin containers and the ``allowed`` globals.

    Args:
        path (str): the file.
        allowed: ``(module, name)`` globals the file may name (default: numpy arrays, dtypes and
            scalars).

    Raises:
        pickle.UnpicklingError: the file names another global (the message names the file and
            the global), or is not a valid pickle.
    """
    with open(path, 'rb') as f:
        try:
            return _DataUnpickler(f, path, allowed).load()
        except _Refused:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
                IndexError, KeyError) as err:
            raise pickle.UnpicklingError(f'{path}: not a valid pickle ({type(err).__name__}: '
                                         f'{err})') from err
