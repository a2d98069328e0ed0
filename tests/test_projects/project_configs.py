"""Reading the configs of ``projects/`` as the tools do, with tiny CLIP towers for the CPU."""
import os.path as osp

from mmengine.config import Config

from umg_mm.models.utils import NANO_MODEL

PROJECTS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'projects')

#: a tiny LoRA, so that the frozen tiny tower has adapters to train as the real configs' does
TINY_LORA = dict(r=2, alpha=4, dropout=0., target_modules=('c_fc', 'c_proj'))


def project_config(project: str, name: str) -> Config:
    """``projects/<project>/configs/<name>`` read with ``Config.fromfile`` (its ``mmdet::``,
    ``mmseg::`` or ``mmpretrain::`` base resolved from the installed package)."""
    return Config.fromfile(osp.join(PROJECTS, project, 'configs', name))


def tiny_backbone(cfg: Config, **overrides) -> None:
    """Shrink the model's CLIP to the tiny one (2 blocks, width 64, patch 8): ``model.clip``
    (both towers) where the model has one, else ``model.backbone`` (a UMGCLIPBackbone); the
    pyramid neck reads blocks (0, 0, 1, 1). Everything else the config sets is kept."""
    backbone = cfg.model.backbone
    assert backbone.type == 'UMGCLIPBackbone', backbone.type
    (cfg.model.clip if 'clip' in cfg.model else backbone).update(model_name=NANO_MODEL)
    backbone.update(**overrides)
    if 'neck' in cfg.model and cfg.model.neck.type == 'CLIPPyramidNeck':
        backbone.update(out_indices=(0, 0, 1, 1))
        cfg.model.neck.embed_dim = 64
