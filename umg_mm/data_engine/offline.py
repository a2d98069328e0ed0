"""Stock model configs made buildable offline, with random weights: the Hugging Face BERTs that
GroundingDINO (``model.language_model.name``) and BLIP (``model.tokenizer.name_or_path``) load
by hub name are written locally at BERT-base size, and umg_mm's CLIP weights source is dropped.
For measuring (``throughput``) and for tests; nothing is downloaded."""
from pathlib import Path
from typing import Sequence

from mmengine.config import Config

from .models import config_path

#: BERT-base's WordPiece vocabulary size (``bert-base-uncased``)
BERT_VOCAB_SIZE = 30522
_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']


def write_bert_vocab(folder: Path, words: Sequence[str]) -> str:
    """A WordPiece vocabulary of BERT's special tokens and ``words`` written as a tokenizer
    folder (``vocab.txt`` + tokenizer config) that ``from_pretrained`` reads offline."""
    from transformers import BertTokenizer
    folder = Path(folder)
    folder.mkdir(parents=True)
    (folder / 'vocab.txt').write_text('\n'.join(_SPECIALS + list(words)) + '\n')
    BertTokenizer(str(folder / 'vocab.txt')).save_pretrained(str(folder))
    return str(folder)


def _base_vocab_words() -> list:
    """Filler words bringing the vocabulary to BERT-base's size (the embedding tables then have
    their released shapes; words outside it tokenize as ``[UNK]``)."""
    words = ['.', ',', 'a', 'the', 'of', 'picture']
    return words + [f'word{i}' for i in range(BERT_VOCAB_SIZE - len(_SPECIALS) - len(words))]


def write_random_bert_base(folder: Path) -> str:
    """A BERT-base (12 layers, 768 wide) with random weights and its tokenizer, written locally."""
    import torch
    from transformers import BertConfig, BertModel
    write_bert_vocab(folder, _base_vocab_words())
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=BERT_VOCAB_SIZE)).save_pretrained(str(folder))
    return str(folder)


def offline_options(config: str, folder: Path) -> dict:
    """Config overrides (``cfg_options``) that build ``config``'s model with nothing downloaded,
    writing the BERTs it names under ``folder``; ``{}`` when it needs none."""
    model = Config.fromfile(config_path(config)).model
    options = {}
    if model.get('language_model', {}).get('name'):  # GroundingDINO, GLIP-style
        options['model.language_model.name'] = write_random_bert_base(Path(folder) / 'bert')
    if model.get('tokenizer', {}).get('name_or_path'):  # BLIP-class captioners
        options['model.tokenizer.name_or_path'] = write_bert_vocab(
            Path(folder) / 'bert-vocab', _base_vocab_words())
    if model.get('clip', {}).get('checkpoint'):  # umg_mm's CLIP towers
        options['model.clip.checkpoint'] = None
    return options


__all__ = ['BERT_VOCAB_SIZE', 'write_bert_vocab', 'write_random_bert_base', 'offline_options']
