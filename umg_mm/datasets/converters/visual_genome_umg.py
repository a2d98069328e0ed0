"""Visual Genome region descriptions -> UMG records (``umg/1``, one ``.jsonl`` index).

Inputs are VG's ``region_descriptions.json`` (a list of ``{"id": image_id, "regions": [{"x",
"y", "width", "height", "phrase", ...}]}``) and ``image_data.json`` (a list of ``{"image_id"``
(``"id"`` in v1.0) ``, "width", "height", "url"}``). VG boxes are ``x, y, width, height`` in
pixels; UMG boxes are corners ``x1, y1, x2, y2``: boxes are clipped to the image, and boxes left
empty and empty phrases are dropped (and counted). ``image.file_name`` is the last two parts of
the image URL (``VG_100K_2/1.jpg``), so the index is read with ``data_prefix=dict(img='<vg>')``.
"""
import re
from typing import Dict

from umg_mm.utils.atomic_io import atomic_open, dumps_json
from .common import load_json, require_keys


def _file_name(info: dict, image_id) -> str:
    url = info.get('url') or ''
    parts = [p for p in url.split('/') if p]
    return '/'.join(parts[-2:]) if len(parts) >= 2 else f'{image_id}.jpg'


def convert_visual_genome_to_umg(region_file: str, image_file: str,
                                 out_file: str) -> Dict[str, int]:
    """Write a UMG ``.jsonl`` index of VG region boxes with their descriptions.

    Args:
        region_file (str): ``region_descriptions.json``.
        image_file (str): ``image_data.json``.
        out_file (str): Output ``.jsonl`` (written atomically).

    Returns:
        dict: Counts of ``images`` and ``regions`` written, and of ``dropped_boxes`` (empty
        after clipping) and ``dropped_phrases`` (empty).
    """
    image_data = load_json(image_file, 'Visual Genome image_data.json')
    regions_data = load_json(region_file, 'Visual Genome region_descriptions.json')
    for path, data in ((image_file, image_data), (region_file, regions_data)):
        if not isinstance(data, list):
            raise ValueError(f'{path} must hold a JSON list, got {type(data).__name__}')
    infos = {}
    for i, info in enumerate(image_data):
        key = 'image_id' if 'image_id' in info else 'id'
        require_keys(info, (key, 'width', 'height'), image_file, f'entry {i}')
        infos[info[key]] = info

    counts = dict(images=0, regions=0, dropped_boxes=0, dropped_phrases=0)
    with atomic_open(out_file) as f:
        for i, entry in enumerate(regions_data):
            require_keys(entry, ('id', 'regions'), region_file, f'entry {i}')
            image_id = entry['id']
            if image_id not in infos:
                raise ValueError(f'{region_file}: entry {i} refers to image {image_id}, which '
                                 f'is not in {image_file}')
            info = infos[image_id]
            w, h = int(info['width']), int(info['height'])
            regions = []
            for j, reg in enumerate(entry['regions']):
                require_keys(reg, ('x', 'y', 'width', 'height', 'phrase'), region_file,
                             f'entry {i} (image {image_id}) regions[{j}]')
                phrase = re.sub(r'\s+', ' ', reg['phrase']).strip()
                if not phrase:
                    counts['dropped_phrases'] += 1
                    continue
                x1, y1 = max(0.0, float(reg['x'])), max(0.0, float(reg['y']))
                x2 = min(float(w), float(reg['x']) + float(reg['width']))
                y2 = min(float(h), float(reg['y']) + float(reg['height']))
                if x2 <= x1 or y2 <= y1:
                    counts['dropped_boxes'] += 1
                    continue
                regions.append({'bbox': [x1, y1, x2, y2], 'captions': [phrase]})
            record = {'schema': 'umg/1',
                      'image': {'file_name': _file_name(info, image_id), 'height': h,
                                'width': w, 'id': image_id},
                      'regions': regions}
            f.write(dumps_json(record) + '\n')
            counts['images'] += 1
            counts['regions'] += len(regions)
    return counts
