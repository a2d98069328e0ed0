"""Images given to the inferencer: file paths, folders and BGR arrays, read with clear errors."""
import os
import os.path as osp
from typing import List, Optional, Sequence, Union

import mmcv
import numpy as np

ImageInput = Union[str, np.ndarray]

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def list_images(folder: str) -> List[str]:
    """The image files directly in ``folder`` (by extension), sorted by name.

    Raises:
        FileNotFoundError: ``folder`` holds no image file.
    """
    files = sorted(osp.join(folder, name) for name in os.listdir(folder)
                   if name.lower().endswith(IMAGE_EXTENSIONS)
                   and osp.isfile(osp.join(folder, name)))
    if not files:
        raise FileNotFoundError(f'folder {folder!r} has no image file (extensions '
                                f'{", ".join(IMAGE_EXTENSIONS)})')
    return files


def inputs_to_list(inputs: Union[ImageInput, Sequence[ImageInput]]) -> List[ImageInput]:
    """One image, a folder (its images) or a list of images, as a list of images."""
    if isinstance(inputs, str) and osp.isdir(inputs):
        return list_images(inputs)
    if isinstance(inputs, (str, np.ndarray)):
        return [inputs]
    inputs = list(inputs)
    if not inputs:
        raise ValueError('no input image: give a path, a folder, an HxWx3 BGR array or a list')
    return inputs


def load_image(image: ImageInput, index: Optional[int] = None) -> dict:
    """Read one input into the results dict that the test pipeline continues from.

    Args:
        image: a path to an image file, or an ``(H, W, 3)`` BGR array (as ``mmcv.imread`` gives).
        index: the position of the input in a call, its ``img_id`` (``None``: unknown).

    Returns:
        ``dict(img, img_path, img_id, img_shape, ori_shape)``; ``img_path`` is ``None`` for an
        array.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the file cannot be decoded as an image, or the array is not ``(H, W, 3)``.
    """
    if isinstance(image, str):
        if not osp.isfile(image):
            raise FileNotFoundError(f'input image {image!r} does not exist')
        try:
            img = mmcv.imread(image, flag='color')
        except Exception as error:  # noqa: BLE001  (decoders raise many types)
            raise ValueError(f'cannot read input image {image!r}: {error}') from error
        if img is None:
            raise ValueError(f'cannot read input image {image!r}: not an image file or a '
                             f'corrupt one (readable formats: {", ".join(IMAGE_EXTENSIONS)})')
        path = image
    elif isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or 0 in image.shape:
            raise ValueError(f'input {"" if index is None else f"{index} "}is an array of shape '
                             f'{image.shape}; give an (H, W, 3) BGR image')
        img, path = image, None
    else:
        raise TypeError(f'input {"" if index is None else f"{index} "}is a '
                        f'{type(image).__name__}; give a path or an (H, W, 3) BGR numpy array')
    return dict(img=img, img_path=path, img_id=index, img_shape=img.shape[:2],
                ori_shape=img.shape[:2])


def input_names(inputs: Sequence[ImageInput]) -> List[str]:
    """A file name stem per input (``'000003'`` for the fourth input when it is an array);
    stems that repeat get their input index appended, so that every name is unique."""
    stems = [osp.splitext(osp.basename(image))[0] if isinstance(image, str) else f'{i:06d}'
             for i, image in enumerate(inputs)]
    repeated = {stem for stem in stems if stems.count(stem) > 1}
    return [f'{stem}_{i}' if stem in repeated else stem for i, stem in enumerate(stems)]
