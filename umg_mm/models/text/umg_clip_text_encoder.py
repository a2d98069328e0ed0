"""The UMG-CLIP text encoder: open_clip's text tower and tokenizer, with cached class embeddings.

Two jobs:

* :meth:`UMGCLIPTextEncoder.encode_text` (also ``forward``) embeds raw strings (captions, region
  phrases) for pretraining; each distinct string in a batch is tokenised and encoded once.
* :meth:`UMGCLIPTextEncoder.classifier` turns a vocabulary into classifier weights by prompt
  ensembling, as open_clip's ``build_zero_shot_classifier`` does: every (synonym, template) prompt
  is embedded and L2-normalised, the prompts of a class are averaged, and the mean is normalised
  again. The result is cached per (vocabulary, templates, weights version, device, dtype), so a
  head that asks for the same vocabulary in every forward pass gets it without re-encoding.

The weights version changes when weights are loaded (``load_state_dict``, ``load_checkpoint``,
``merge_lora``) and after every call that computes gradients for trainable text weights (the
optimizer is about to change them); a frozen encoder keeps its cache for good. Whoever edits
weights by other means calls :meth:`UMGCLIPTextEncoder.clear_cache`.
"""
from collections import OrderedDict
from typing import Optional, Sequence, Union

import open_clip
import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from open_clip.model import resize_text_pos_embed
from torch.func import functional_call

from umg_mm.structures.vocabulary import Vocabulary, load_vocabulary
from umg_mm.registry import MODELS
from ..utils import (apply_lora, build_open_clip, checkpoint_files, load_tower_state,
                     lora_state_dict, merge_lora, trainable_summary)
from .templates import load_templates


@MODELS.register_module()
class UMGCLIPTextEncoder(BaseModule):
    """UMG-CLIP text tower (open_clip inside) with vocabulary classifiers.

    Args:
        model_name: open_clip model name, as for the visual backbone (the same name gives the
            matching tower). Ignored when ``model_cfg`` is given.
        model_cfg: explicit open_clip model config; takes precedence over ``model_name``.
        pretrained: open_clip pretrained tag of ``model_name`` (needs the hub).
        checkpoint: a local weights file (open_clip or umg_mm checkpoint, LoRA merged or
            apart), or a list of files loaded in order (e.g. base weights, then adapters).
            ``'random'``: no weights, on purpose (see the backbone's ``checkpoint``).
        checkpoint_prefix: prefix of the text tower's keys in ``checkpoint``; ``None`` finds it.
        templates: the default prompt templates of :meth:`classifier`: a set name
            (``'imagenet80'``, ``'segmentation'``, ...), a file with one per line, or a list.
        frozen: freeze every text weight (the default: embeddings are then cached for good).
        lora: LoRA config ``dict(r=..., alpha=..., dropout=..., target_modules=...)`` for the
            text transformer (requires ``frozen=True``; only the adapters train).
        batch_size: prompts per text-tower call.
        cache_size: how many (vocabulary, templates) classifiers to keep.
        init_cfg: only ``dict(type='Pretrained', checkpoint=..., prefix=...)``.
    """

    def __init__(self,
                 model_name: str = 'ViT-B-16',
                 model_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 checkpoint: Optional[Union[str, Sequence[str]]] = None,
                 checkpoint_prefix: Optional[str] = None,
                 templates: Union[str, Sequence[str]] = 'imagenet80',
                 frozen: bool = True,
                 lora: Optional[dict] = None,
                 batch_size: int = 256,
                 cache_size: int = 8,
                 init_cfg: Optional[dict] = None):
        cfgs = init_cfg if isinstance(init_cfg, list) else [init_cfg] if init_cfg else []
        for cfg in cfgs:
            if cfg.get('type') != 'Pretrained' or 'checkpoint' not in cfg:
                raise ValueError(f'UMGCLIPTextEncoder accepts only init_cfg=dict(type='
                                 f'"Pretrained", checkpoint=..., prefix=...), got {cfg}')
        super().__init__(init_cfg=init_cfg)
        self.model_name = 'model_cfg' if model_cfg is not None else model_name
        clip = build_open_clip(None if model_cfg is not None else model_name, model_cfg,
                               pretrained)
        del clip.visual  # the visual tower lives in UMGCLIPBackbone
        self.clip = clip
        self.custom_text = isinstance(clip, open_clip.CustomTextCLIP)
        projection = clip.text if self.custom_text else clip.text_projection
        self.embed_dim = projection.output_dim if self.custom_text else \
            (projection.out_features if isinstance(projection, torch.nn.Linear)
             else projection.shape[-1])
        self.tokenizer = _build_tokenizer(model_name, model_cfg)
        self.templates = load_templates(templates)
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._cache = OrderedDict()
        self._weights_version = 0
        #: whether the CLIP's ``logit_scale`` came from weights (a pretrained tag or a
        #: checkpoint holding it), which a model's ``logit_scale_from_checkpoint`` reads
        self.logit_scale_loaded = pretrained is not None
        self.num_truncated = 0  # texts cut to the context length (see _count_truncated)
        self._truncation_reported = False
        for param in self.clip.parameters():
            param.requires_grad = not frozen
        self.lora_cfg = lora
        if lora is not None:
            if not frozen:
                raise ValueError('lora trains adapters on a frozen tower; set frozen=True')
            apply_lora(self.clip.text if self.custom_text else self.clip.transformer, **lora)
        for path in checkpoint_files(checkpoint):
            self.load_checkpoint(path, checkpoint_prefix)
        MMLogger.get_current_instance().info(
            f'UMGCLIPTextEncoder({self.model_name}, lora={lora}): {trainable_summary(self)}')

    @property
    def logit_scale(self) -> torch.nn.Parameter:
        """open_clip's learned temperature (log scale), kept with the text tower."""
        return self.clip.logit_scale

    # ------------------------------------------------------------------ weights
    def load_checkpoint(self, path: str, prefix: Optional[str] = None):
        """Load the text tower's weights from an open_clip or umg_mm checkpoint file."""
        if self.custom_text:
            anchor = 'text.' + next(iter(self.clip.text.state_dict()))
            roots = ('text', 'logit_scale', 'logit_bias')
        else:
            anchor = 'token_embedding.weight'
            roots = ('transformer', 'token_embedding', 'positional_embedding', 'ln_final',
                     'text_projection', 'logit_scale', 'logit_bias')
        report = load_tower_state(self, path, anchor=anchor, prefix=prefix, own_roots=roots,
                                  module_prefix='clip.')
        self.logit_scale_loaded |= 'logit_scale' in report.loaded
        self.clear_cache()
        return report

    def adapt_checkpoint_state(self, state) -> None:
        """Resize a checkpoint's text positional embeddings to this context length.

        A different width is left alone: the shape check then names the key.
        """
        key = 'text.positional_embedding' if self.custom_text else 'positional_embedding'
        ours = self.clip.state_dict().get(key)
        if key in state and ours is not None and state[key].shape[-1] == ours.shape[-1]:
            resize_text_pos_embed(state, self.clip)

    def init_weights(self) -> None:
        """Load ``init_cfg``'s checkpoint, if any; never re-initialise the CLIP weights."""
        if self._is_init:
            return
        cfgs = self.init_cfg if isinstance(self.init_cfg, list) else \
            [self.init_cfg] if self.init_cfg else []
        for cfg in cfgs:
            self.load_checkpoint(cfg['checkpoint'], cfg.get('prefix'))
        self._is_init = True

    def _load_from_state_dict(self, *args, **kwargs):
        self.clear_cache()
        super()._load_from_state_dict(*args, **kwargs)

    def merge_lora(self) -> None:
        """Fold the LoRA adapters into the base weights (for export)."""
        merge_lora(self.clip)
        self.lora_cfg = None
        self.clear_cache()

    def lora_state_dict(self) -> dict:
        """The LoRA adapters alone (to share; they load on top of the same base weights)."""
        return {k[len('clip.'):]: v for k, v in lora_state_dict(self).items()}

    def clear_cache(self) -> None:
        """Forget cached classifiers; the next :meth:`classifier` call re-encodes."""
        self._cache.clear()
        self._weights_version += 1

    # ------------------------------------------------------------------ encoding
    def _grad_mode(self) -> bool:
        """Whether a call computes gradients for weights that change text embeddings (the
        temperature, which a pretrainer may train with a frozen tower, changes none)."""
        return torch.is_grad_enabled() and any(
            p.requires_grad for n, p in self.named_parameters()
            if n not in ('clip.logit_scale', 'clip.logit_bias'))

    def encode_text(self, texts: Sequence[str], normalize: bool = True) -> torch.Tensor:
        """Embed raw strings; each distinct string is tokenised and encoded once.

        Args:
            texts: ``N`` strings (duplicates allowed).
            normalize: L2-normalise the embeddings.

        Returns:
            ``(N, D)`` embeddings in the joint image-text space, in the order of ``texts``.
        """
        if isinstance(texts, str):
            raise TypeError('encode_text takes a list of strings, got one string')
        if len(texts) == 0:
            raise ValueError('encode_text got no texts')
        unique = list(OrderedDict.fromkeys(texts))
        position = {text: i for i, text in enumerate(unique)}
        device = next(self.clip.parameters()).device
        tokens = self.tokenizer(unique).to(device)
        self._count_truncated(unique, tokens)
        # batches of similar length, so that each batch can be cut after its longest prompt
        order = torch.argsort(tokens.argmax(dim=-1), stable=True)
        chunks = [self._encode_tokens(tokens[order[start:start + self.batch_size]], normalize)
                  for start in range(0, len(unique), self.batch_size)]
        embeddings = torch.cat(chunks)[torch.argsort(order)]  # back to the order of ``unique``
        if self._grad_mode():
            self._weights_version += 1  # trainable weights are about to be updated
        if len(unique) == len(texts):
            return embeddings
        index = torch.tensor([position[text] for text in texts], device=embeddings.device)
        return embeddings[index]

    def _count_truncated(self, texts: Sequence[str], tokens: torch.Tensor) -> None:
        """Count the texts that fill the whole context (``tokens``: ``(N, context_length)``),
        i.e. were cut to it; the first time any is, say so once, with the count."""
        full = (tokens[:, -1] != 0).nonzero().flatten().tolist()
        if not full:
            return
        self.num_truncated += len(full)
        if not self._truncation_reported:
            self._truncation_reported = True
            MMLogger.get_current_instance().warning(
                f'{type(self).__name__}: {len(full)} of {len(texts)} texts reach the context '
                f'length ({tokens.shape[1]} tokens) and are cut to it, e.g. '
                f'{texts[full[0]][:80]!r}... (reported once per run; the running count is '
                f'num_truncated)')

    def _cut_prefix(self) -> Optional[str]:
        """Where the text tower's positional embedding and mask live, when cutting prompts after
        their end-of-text token leaves the result unchanged; else None.

        That holds for open_clip's CLIP text transformer: a causal mask (no token sees a later
        one) and features pooled at the end-of-text token (the highest id, ``argmax``).
        """
        tower = self.clip.text if self.custom_text else self.clip
        pool = getattr(tower, 'pool_type' if self.custom_text else 'text_pool_type', None)
        if (pool != 'argmax' or getattr(tower, 'attn_mask', None) is None
                or getattr(tower, 'cls_emb', None) is not None
                or not isinstance(getattr(tower, 'positional_embedding', None), torch.Tensor)):
            return None
        return 'text.' if self.custom_text else ''

    def _encode_tokens(self, tokens: torch.Tensor, normalize: bool) -> torch.Tensor:
        """Features of ``tokens`` ``(B, context)``, computed on the first ``L`` positions only,
        ``L`` the longest prompt of the batch, when that is exact (see :meth:`_cut_prefix`).

        The cut runs open_clip's own forward with its positional embedding and causal mask
        replaced by their first ``L`` entries (``torch.func.functional_call``), which is about
        ``context / L`` times faster for short prompts (77 / ~10 for class names).
        """
        length = int(tokens.argmax(dim=-1).max()) + 1
        prefix = self._cut_prefix()
        if prefix is None or not normalize or length >= tokens.shape[1]:
            return self.clip.encode_text(tokens, normalize=normalize)
        tower = self.clip.text if self.custom_text else self.clip
        cut = {prefix + 'positional_embedding': tower.positional_embedding[:length],
               prefix + 'attn_mask': tower.attn_mask[:length, :length]}
        out = functional_call(self.clip, cut, args=(), kwargs={'text': tokens[:, :length]})
        return out['text_features'] if isinstance(out, dict) else out[1]

    def forward(self, texts: Sequence[str], normalize: bool = True) -> torch.Tensor:
        """Same as :meth:`encode_text`: ``(N, D)`` embeddings of ``N`` strings."""
        return self.encode_text(texts, normalize=normalize)

    def classifier(self,
                   vocabulary: Union[str, Sequence, Vocabulary],
                   templates: Optional[Union[str, Sequence[str]]] = None) -> torch.Tensor:
        """Classifier weights of a vocabulary by prompt ensembling (cached).

        Args:
            vocabulary: anything :func:`umg_mm.structures.vocabulary.load_vocabulary` accepts (a
                benchmark name such as ``'ade20k_150'``, a file, a list of class names).
            templates: prompt templates (set name, file or list); default: the encoder's.

        Returns:
            ``(num_classes, D)`` L2-normalised class embeddings, row ``i`` for label ``i``.
        """
        vocabulary = load_vocabulary(vocabulary)
        templates = self.templates if templates is None else load_templates(templates)
        param = next(self.clip.parameters())
        cacheable = not self._grad_mode()
        key = (vocabulary.synonyms, templates, self._weights_version, param.device, param.dtype)
        if cacheable and key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        prompts, owners = [], []
        for label, names in enumerate(vocabulary.synonyms):
            for name in names:
                for template in templates:
                    prompts.append(template.format(name))
                    owners.append(label)
        embeddings = self.encode_text(prompts, normalize=True)
        owners = torch.tensor(owners, device=embeddings.device)
        sums = embeddings.new_zeros(len(vocabulary), embeddings.shape[-1])
        sums = sums.index_add(0, owners, embeddings)
        weights = F.normalize(sums, dim=-1)  # the mean's direction: normalising removes the count
        if cacheable:
            weights = weights.detach()
            self._cache[key] = weights
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return weights


def _build_tokenizer(model_name: str, model_cfg: Optional[dict]):
    """open_clip's tokenizer for the model (the bundled BPE one works offline)."""
    if model_cfg is None:
        return open_clip.get_tokenizer(model_name)
    text_cfg = model_cfg['text_cfg']
    if text_cfg.get('hf_tokenizer_name'):
        return open_clip.tokenizer.HFTokenizer(
            text_cfg['hf_tokenizer_name'], context_length=text_cfg.get('context_length', 77))
    return open_clip.SimpleTokenizer(context_length=text_cfg.get('context_length', 77))

