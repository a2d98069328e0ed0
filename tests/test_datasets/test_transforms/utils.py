"""Build a UMG sample's data info (as UMGDataset gives it) straight from a fixture record."""
from tests.umg_fixtures import encode_png, make_sample


def data_info(index=0, height=32, width=48, **changes):
    """The data info of fixture sample ``index`` with its image as ``img_bytes``; ``changes``
    replace record keys (e.g. ``regions=[]``)."""
    record, img = make_sample(index, height, width)
    record.update(changes)
    return dict(img_path=f'mem#{index}', img_id=record['image']['id'], height=height,
                width=width, ann_file=f'ann_{index}.json', record_id='',
                captions=record.get('captions', []), tags=record.get('tags', []),
                regions=record.get('regions', []), segments=record.get('segments', []),
                img_bytes=encode_png(img))
