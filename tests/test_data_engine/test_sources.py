"""The engine's inputs: folders, index files and WebDataset shards of raw images."""
import io
import tarfile

import cv2
import numpy as np
import pytest

from umg_mm.data_engine.sources import list_items


def _png(value: int, size=(6, 8)) -> bytes:
    return cv2.imencode('.png', np.full((*size, 3), value, np.uint8))[1].tobytes()


def _write_tar(path, members):
    with tarfile.open(path, 'w') as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_folder_items_sorted_recursively(tmp_path):
    for name in ('b.png', 'a.png', 'sub/c.png', 'notes.txt'):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(_png(1) if name.endswith('.png') else b'x')
    items = list_items(str(tmp_path))
    assert [i.key for i in items] == ['a', 'b', 'sub/c']
    assert items[2].file_name == 'sub/c.png'
    assert items[0].load().shape == (6, 8, 3)


def test_index_files(tmp_path):
    (tmp_path / 'img').mkdir()
    (tmp_path / 'img' / 'x.png').write_bytes(_png(3))
    (tmp_path / 'list.txt').write_text('# images\nimg/x.png\n\n')
    assert [i.file_name for i in list_items(str(tmp_path / 'list.txt'))] == ['img/x.png']
    (tmp_path / 'umg.jsonl').write_text('{"schema": "umg/1", "image": {"file_name": "x.png", '
                                        '"height": 6, "width": 8}}\n')
    items = list_items(str(tmp_path / 'umg.jsonl'), img_root=str(tmp_path / 'img'))
    assert items[0].key == 'x' and items[0].load()[0, 0, 0] == 3
    (tmp_path / 'bad.txt').write_text('img/x.png\nimg/missing.png\n')
    with pytest.raises(FileNotFoundError, match='bad.txt, line 2'):
        list_items(str(tmp_path / 'bad.txt'))
    (tmp_path / 'bad.jsonl').write_text('{"image": {}}\n')
    with pytest.raises(ValueError, match='bad.jsonl, line 1'):
        list_items(str(tmp_path / 'bad.jsonl'))


def test_shard_items_read_members_in_place(tmp_path):
    _write_tar(tmp_path / 'a-0.tar', [('k1.png', _png(10)), ('k1.json', b'{}'),
                                      ('k2.png', _png(20))])
    _write_tar(tmp_path / 'a-1.tar', [('k3.png', _png(30))])
    items = list_items(str(tmp_path / 'a-{0..1}.tar'))
    assert [i.key for i in items] == ['k1', 'k2', 'k3']
    assert [int(i.load()[0, 0, 0]) for i in items] == [10, 20, 30]
    _write_tar(tmp_path / 'b-0.tar', [('k1.png', _png(1))])
    with pytest.raises(ValueError, match="key 'k1' repeats"):
        list_items(str(tmp_path / '*-0.tar'))


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='neither a folder'):
        list_items(str(tmp_path / 'nothing.bin'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='holds no image'):
        list_items(str(tmp_path / 'empty'))
    (tmp_path / 'broken.png').write_bytes(b'not a png')
    (tmp_path / 'list.txt').write_text('broken.png\n')
    with pytest.raises(ValueError, match='broken.png'):
        list_items(str(tmp_path / 'list.txt'))[0].load()
