"""umg_mm's pictures: one drawing path for every task (:mod:`.picture`), fonts for any script
(:mod:`.fonts`), regions from data samples (:mod:`.regions`), and mmdet's / mmseg's visualisers
drawing through it (:mod:`.visualizers`; importing this package registers them)."""
from .fonts import FontChain, default_chain
from .picture import (Region, draw_regions, legend_entries, legend_panel, side_by_side,
                      text_panel, upscale_factor)
from .regions import (class_palette, instance_regions, panoptic_regions, sample_regions,
                      semantic_regions)
from .visualizers import UMGDetLocalVisualizer, UMGSegLocalVisualizer

__all__ = [
    'FontChain', 'default_chain', 'Region', 'draw_regions', 'legend_entries', 'legend_panel',
    'side_by_side', 'text_panel', 'upscale_factor', 'class_palette', 'instance_regions',
    'panoptic_regions', 'sample_regions', 'semantic_regions', 'UMGDetLocalVisualizer',
    'UMGSegLocalVisualizer'
]
