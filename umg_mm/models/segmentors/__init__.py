"""mmseg segmentors of umg_mm."""
from .open_vocab_encoder_decoder import OpenVocabEncoderDecoder

__all__ = ['OpenVocabEncoderDecoder']
