"""COCO panoptic PNGs: segment id = R + 256 * G + 256 ** 2 * B per pixel, 0 = void."""
import cv2
import numpy as np


def encode_panoptic_png(segment_ids: np.ndarray) -> bytes:
    """PNG bytes of a panoptic map from integer segment ids ``(h, w)`` (0 = void)."""
    ids = segment_ids.astype(np.uint32)
    bgr = np.stack([(ids >> 16) & 255, (ids >> 8) & 255, ids & 255], axis=-1).astype(np.uint8)
    ok, buf = cv2.imencode('.png', bgr)
    if not ok:
        raise RuntimeError(f'OpenCV could not encode a panoptic map of shape {ids.shape}')
    return buf.tobytes()


def decode_panoptic_bgr(bgr: np.ndarray) -> np.ndarray:
    """Segment ids ``(h, w)`` (int64) of a panoptic PNG read by OpenCV (BGR order)."""
    bgr = bgr.astype(np.int64)
    return bgr[..., 2] + 256 * bgr[..., 1] + 65536 * bgr[..., 0]
