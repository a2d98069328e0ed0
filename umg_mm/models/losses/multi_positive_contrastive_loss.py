"""Contrastive loss between visual embeddings (images, regions, masks, pixels) and texts, over
the global batch, where a visual may have several positive texts and a string several owners."""
import hashlib
import math
from typing import Sequence

import torch
import torch.nn.functional as F
from mmengine.dist import get_dist_info
from torch import nn

from umg_mm.registry import MODELS
from .distributed import gather_counts, gather_no_grad, gather_with_grad, pad_rows, valid_mask


def string_ids(texts: Sequence[str], device=None) -> torch.Tensor:
    """Stable 63-bit ids of strings, equal across processes (unlike Python's ``hash``): ``(N,)``
    int64. Equal strings get equal ids; they decide which gathered texts are positives."""
    ids = [int.from_bytes(hashlib.blake2b(t.encode('utf-8'), digest_size=8).digest(), 'little')
           >> 1 for t in texts]
    return torch.tensor(ids, dtype=torch.long, device=device)


def _multi_positive_nll(logits: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """``-mean_{p in P(i)} log softmax(logits_i)_p`` per row: ``(N,)``."""
    log_prob = logits.log_softmax(dim=-1)
    picked = torch.where(positives, log_prob, torch.zeros_like(log_prob))
    return -picked.sum(dim=-1) / positives.sum(dim=-1)


@MODELS.register_module()
class MultiPositiveContrastiveLoss(nn.Module):
    """InfoNCE between ``Nv`` visual embeddings and the distinct strings of all ranks.

    Each rank passes its local visuals, its local texts with their string ids, and the positive
    (visual, text) pairs among them: an image and its caption, a region and its caption, a mask
    and each of its tags, a pixel and each tag of its mask. Visual and text rows of all ranks are
    gathered (with gradient for the local part, as open_clip's ``ClipLoss(local_loss=True,
    gather_with_grad=True)``).

    Texts are counted by string: the ``U`` distinct strings of the global batch (found by sorting
    their ids, ``torch.unique``) are the text columns, each the normalised mean of its copies (equal
    copies for a deterministic text tower), however often it repeats. Visual-to-text: each local
    visual against the ``U`` columns, its positives the strings of its own texts. Text-to-visual:
    each string is one row, computed on the rank holding its first copy, against every gathered
    visual, its positives all visuals owning a text with that string. With ``P(i)`` the positives
    of row ``i``, the row's loss is the mean over its positives of ``-log softmax(s * sim_i)_p``
    (the minimum is ``log |P(i)|``, not 0).

    Memory and time are linear in local rows x global columns (``Nv x U`` and ``R x W * max_v``
    logits, ``R`` the strings this rank owns); nothing global x global is built.

    The loss of a rank is ``sum of its row losses * world_size / (rows in the global batch)``,
    for each direction, so the mean over ranks (what DDP's gradient averaging optimises) equals
    the loss of one process holding the whole global batch, however unevenly rows are spread. A
    rank without rows (or a global batch without any) still joins every collective and gets a
    finite loss (0 when the global batch has no rows).

    Args:
        loss_weight: multiplies the loss.
        temperature: initial softmax temperature ``1 / s`` (CLIP: 0.07); a model may start it
            elsewhere (:meth:`set_logit_scale`) or keep it in its CLIP's ``logit_scale``
            (:meth:`share_logit_scale`).
        learnable_temperature: learn ``log s`` (clamped to ``max_logit_scale``) or keep it fixed.
        max_logit_scale: upper bound of the learned scale ``s`` (CLIP: 100).
        symmetric: average the visual-to-text and text-to-visual directions (CLIP); ``False``
            keeps visual-to-text only (per-pixel classification).
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 temperature: float = 0.07,
                 learnable_temperature: bool = True,
                 max_logit_scale: float = 100.,
                 symmetric: bool = True):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature={temperature}; it must be > 0 (CLIP starts at 0.07)')
        self.loss_weight = loss_weight
        self.max_logit_scale = max_logit_scale
        self.symmetric = symmetric
        self.initial_logit_scale = 1 / temperature
        self.learnable_temperature = learnable_temperature
        self._shared = None  # (module, attribute name) holding log s, see share_logit_scale
        log_scale = torch.tensor(math.log(1 / temperature))
        if learnable_temperature:
            self.log_logit_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer('log_logit_scale', log_scale)

    def share_logit_scale(self, owner: nn.Module, name: str = 'logit_scale') -> None:
        """Keep ``log s`` in ``owner.<name>`` (open_clip's ``CLIP.logit_scale``) from now on.

        The loss's own ``log_logit_scale`` is dropped and the owner is kept by reference, not as
        a submodule: the temperature is stored, optimised and saved once, under the owner's key.
        The parameter's value is left as it is (see :meth:`set_logit_scale`); it is trained
        when ``learnable_temperature`` is.

        Args:
            owner: the module holding the parameter, read at each call (so a wrapper that
                replaces the parameter, as FSDP's 0-d to 1-element change, is followed).
            name: its attribute name.
        """
        param = getattr(owner, name, None)
        if not isinstance(param, nn.Parameter):
            raise TypeError(f'{type(self).__name__}.share_logit_scale: {type(owner).__name__}.'
                            f'{name} is {type(param).__name__}, not a log-scale nn.Parameter')
        del self.log_logit_scale
        self._shared = (owner, name)
        param.requires_grad_(self.learnable_temperature)

    def log_scale(self) -> torch.Tensor:
        """``log s``: the loss's own tensor or the shared parameter (scalar or 1 element)."""
        return getattr(*self._shared) if self._shared is not None else self.log_logit_scale

    def set_logit_scale(self, scale: float) -> None:
        """Set the scale to ``scale`` (a start value: the temperature is then ``1 / scale``)."""
        with torch.no_grad():
            self.log_scale().fill_(math.log(scale))

    def logit_scale(self) -> torch.Tensor:
        """The current scale ``s = 1 / temperature`` (a scalar tensor)."""
        return self.log_scale().exp().clamp(max=self.max_logit_scale)

    def forward(self, visual: torch.Tensor, texts: torch.Tensor, text_ids: torch.Tensor,
                pairs: torch.Tensor) -> torch.Tensor:
        """Loss of this rank's rows against the global batch.

        Args:
            visual: ``(Nv, D)`` local visual embeddings (normalised here); ``Nv`` may be 0.
            texts: ``(Nt, D)`` local text embeddings (normalised here).
            text_ids: ``(Nt,)`` int64 string ids of the texts (:func:`string_ids`).
            pairs: ``(K, 2)`` int64 local positive pairs ``(visual index, text index)``; every
                visual and every text must be in at least one pair.

        Returns:
            The weighted loss, a scalar tensor.
        """
        rank, world_size = get_dist_info()
        device = visual.device
        num_v, num_t = visual.shape[0], texts.shape[0]
        pairs = pairs.reshape(-1, 2).long().to(device)
        owned_v = torch.zeros(num_v, dtype=torch.bool, device=device)
        owned_t = torch.zeros(num_t, dtype=torch.bool, device=device)
        owned_v[pairs[:, 0]] = True
        owned_t[pairs[:, 1]] = True
        if not (bool(owned_v.all()) and bool(owned_t.all())):
            raise ValueError(f'{type(self).__name__}: every visual and every text needs a '
                             f'positive pair; visuals {(~owned_v).nonzero().flatten().tolist()} '
                             f'and texts {(~owned_t).nonzero().flatten().tolist()} have none')
        counts = gather_counts(num_v, num_t, pairs.shape[0], device=device)
        total_v = int(counts[:, 0].sum())
        scale = self.logit_scale()
        if total_v == 0:  # no rows anywhere: every rank skips the same gathers
            return (visual.sum() + texts.sum() + scale) * 0.
        max_v, max_t, max_k = (int(c) for c in counts.max(dim=0).values)

        # fp32 similarities also under AMP
        visual = F.normalize(visual.float(), dim=-1)
        texts = F.normalize(texts.float(), dim=-1)
        all_v, all_t = gather_with_grad(pad_rows(visual, max_v), pad_rows(texts, max_t))
        all_ids = gather_no_grad(pad_rows(text_ids.to(device), max_t))
        t_valid = valid_mask(counts[:, 1].tolist(), max_t, device)
        columns = _StringColumns(all_ids, t_valid, all_t)
        local_column = columns.of_text[rank * max_t:rank * max_t + num_t]  # (Nt,)
        positives = torch.zeros(num_v, columns.count, dtype=torch.bool, device=device)
        positives[pairs[:, 0], local_column[pairs[:, 1]]] = True
        logits = scale * visual @ columns.embeddings.T  # (Nv, U)
        loss = _multi_positive_nll(logits, positives).sum() * world_size / total_v
        if self.symmetric:
            own = (columns.first // max_t == rank).nonzero().flatten()  # (R,) this rank's rows
            row_of_column = torch.full((columns.count,), -1, dtype=torch.long, device=device)
            row_of_column[own] = torch.arange(own.numel(), device=device)
            # every rank's pairs as (gathered visual index, string column)
            global_pairs = torch.stack([pairs[:, 0] + rank * max_v, local_column[pairs[:, 1]]], 1)
            global_pairs = gather_no_grad(pad_rows(global_pairs, max_k, value=-1))
            rows = row_of_column[global_pairs[:, 1].clamp(min=0)]
            keep = (global_pairs[:, 0] >= 0) & (rows >= 0)
            positives = torch.zeros(own.numel(), all_v.shape[0], dtype=torch.bool, device=device)
            positives[rows[keep], global_pairs[keep, 0]] = True
            v_valid = valid_mask(counts[:, 0].tolist(), max_v, device)
            logits = (scale * columns.embeddings[own] @ all_v.T).masked_fill(
                ~v_valid[None], float('-inf'))  # (R, W * max_v)
            loss_t2v = _multi_positive_nll(logits, positives).sum()
            loss = (loss + loss_t2v * world_size / columns.count) / 2
        # the gathered tensors stay in every rank's graph, so every rank runs the gathers'
        # backward collectives, even one without rows
        loss = loss + (all_v.sum() + all_t.sum()) * 0.
        return self.loss_weight * loss


class _StringColumns:
    """The distinct strings of the gathered texts, found by sorting their ids.

    Args:
        ids: ``(M,)`` gathered string ids (padding included).
        valid: ``(M,)`` bool, the real rows.
        texts: ``(M, D)`` gathered normalised text embeddings.

    Attributes:
        count: ``U``, the number of distinct strings.
        of_text: ``(M,)`` column of each gathered text (-1 for padding).
        embeddings: ``(U, D)`` the normalised mean of each string's copies.
        first: ``(U,)`` gathered index of each string's first copy.
    """

    def __init__(self, ids: torch.Tensor, valid: torch.Tensor, texts: torch.Tensor):
        index = valid.nonzero().flatten()
        unique, column = torch.unique(ids[index], return_inverse=True)
        self.count = unique.numel()
        self.of_text = torch.full_like(ids, -1)
        self.of_text[index] = column
        summed = texts.new_zeros(self.count, texts.shape[1]).index_add(0, column, texts[index])
        self.embeddings = F.normalize(summed, dim=-1)
        self.first = torch.full((self.count,), ids.numel(), dtype=torch.long,
                                device=ids.device).scatter_reduce(0, column, index, 'amin')
