"""What a benchmark section reports: ratios against a reference measured in the same run."""
import math
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Union


@dataclass
class Ratio:
    """One measured figure against its reference, ``value = measured / reference``.

    Args:
        what: the comparison, in words (``'dense forward vs open_clip encode_image, 224 px'``).
        measured: the figure of the thing benchmarked.
        reference: the same figure of its reference, measured in the same run.
        unit: the unit of ``measured`` and ``reference`` (``'s'``, ``'samples/s'``, ``'MiB'``).
    """
    what: str
    measured: float
    reference: float
    unit: str

    @property
    def value(self) -> float:
        if self.reference == 0:
            return math.nan
        return self.measured / self.reference

    def to_dict(self) -> dict:
        """The fields and ``value`` (``None`` when not finite: JSON has no NaN)."""
        value = self.value
        return dict(asdict(self), value=value if math.isfinite(value) else None)


@dataclass
class SectionResult:
    """Ratios (by key), other measurements and notes of a section."""
    ratios: Dict[str, Ratio] = field(default_factory=dict)
    measurements: Dict[str, Union[float, int, str]] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)


class SectionSkipped(Exception):
    """Raised by a section that cannot run here (e.g. AMP without CUDA): reported, not failed."""
