"""Converters from public data set releases to the formats umg_mm reads.

Each module holds the logic of one thin command-line tool in ``tools/dataset_converters/``:

- :mod:`.coco_umg`: COCO captions + COCO panoptic -> UMG records (``umg/1``, ``.jsonl``).
- :mod:`.visual_genome_umg`: Visual Genome region descriptions -> UMG records.
- :mod:`.ade20k_full`: ADE20K full release (ADE20K_2021_17_01) -> ADE-847 mmseg label maps.
- :mod:`.pascal_context_full`: PASCAL-Context full (459 classes) -> mmseg label maps.
- :mod:`.ade20k_panoptic`: ADE20K scene parsing + instance annotations -> COCO panoptic (150).
- :mod:`.coco_instances_panoptic`: COCO instances (things only) -> COCO panoptic + a stuff class.
"""
