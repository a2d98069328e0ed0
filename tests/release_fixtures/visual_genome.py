"""Visual Genome in miniature (layout of the v1.2 download at homes.cs.washington.edu/~ranjay/
visualgenome, read by umg_mm's ``vg2umg.py``)::

    vg/image_data.json           [{image_id, url, width, height, coco_id, flickr_id}, ...]
    vg/region_descriptions.json  [{id, regions: [{region_id, image_id, x, y, width, height,
                                                 phrase}, ...]}, ...]
    vg/objects.json              [{image_id, objects: [{object_id, x, y, w, h, names,
                                                        synsets}, ...]}, ...]
    vg/VG_100K/<id>.jpg, vg/VG_100K_2/<id>.jpg   (the two image archives)

Quirks: images split across the two folders (the URL says which), ids that skip numbers, a
region reaching outside its image (clipped), an empty phrase (dropped), an image without
regions, a grayscale image, a COCO id on an image that COCO shares.
"""
import json
from pathlib import Path

from .images import layout, paint, write_jpeg

IMAGES = [  # image id, folder, (h, w), coco id, grayscale
    (1, 'VG_100K', (48, 64), None, False),
    (3, 'VG_100K_2', (64, 48), 139, True),
    (10, 'VG_100K', (40, 40), None, False),
]
REGIONS = {  # image id: (x, y, width, height, phrase)
    1: [(4, 6, 20, 16, 'a red car on the road'), (30, 20, 40, 30, 'tree on the side'),
        (2, 2, 6, 6, '  ')],
    3: [(10, 10, 20, 30, 'a man wearing a hat')],
    10: [],
}
OBJECTS = {1: [(4, 6, 20, 16, 'car', 'car.n.01')], 3: [(10, 10, 20, 30, 'man', 'man.n.01')],
           10: []}


def write_visual_genome(data: Path) -> Path:
    """Write ``data/vg``; returns that folder."""
    root = data / 'vg'
    image_data, regions, objects = [], [], []
    region_id = object_id = 1000
    for image_id, folder, (h, w), coco_id, gray in IMAGES:
        boxes = [(k + 1, (y, y + bh, x, x + bw)) for k, (x, y, bw, bh, _) in
                 enumerate(REGIONS[image_id])]
        write_jpeg(root / folder / f'{image_id}.jpg', paint(layout((h, w), [], boxes), image_id),
                   gray)
        image_data.append(dict(image_id=image_id, width=w, height=h, coco_id=coco_id,
                               flickr_id=None, url=f'https://cs.stanford.edu/people/rak248/'
                               f'{folder}/{image_id}.jpg'))
        entries = []
        for x, y, bw, bh, phrase in REGIONS[image_id]:
            region_id += 3
            entries.append(dict(region_id=region_id, image_id=image_id, x=x, y=y, width=bw,
                                height=bh, phrase=phrase))
        regions.append(dict(id=image_id, regions=entries))
        items = []
        for x, y, bw, bh, name, synset in OBJECTS[image_id]:
            object_id += 5
            items.append(dict(object_id=object_id, x=x, y=y, w=bw, h=bh, names=[name],
                              synsets=[synset], merged_object_ids=[]))
        objects.append(dict(image_id=image_id, image_url=image_data[-1]['url'], objects=items))
    for name, content in (('image_data.json', image_data), ('region_descriptions.json', regions),
                          ('objects.json', objects)):
        (root / name).write_text(json.dumps(content))
    return root
