"""Prompt templates that turn a class name into sentences for the text tower.

A template is a ``str.format`` string with one ``{}`` for the class name. Sets by name:

* ``'imagenet80'``: the 80 templates of CLIP's ImageNet zero-shot evaluation (open_clip's
  ``OPENAI_IMAGENET_TEMPLATES``, rendered to format strings);
* ``'imagenet7'``: open_clip's 7 ``SIMPLE_IMAGENET_TEMPLATES``;
* ``'segmentation'``: scene-level templates for regions and pixels (things and stuff in a scene);
* ``'single'``: ``'a photo of a {}.'``.

A user's own set is a text file with one template per line, or a list of strings.
"""
import os.path as osp
import string
from typing import Sequence, Tuple, Union

from open_clip import OPENAI_IMAGENET_TEMPLATES, SIMPLE_IMAGENET_TEMPLATES

SEGMENTATION_TEMPLATES = (
    'a photo of a {}.',
    'a photo of the {}.',
    'a photo of a {} in the scene.',
    'a photo of the {} in the scene.',
    'there is a {} in the scene.',
    'there is the {} in the scene.',
    'this is a {} in the scene.',
    'this is the {} in the scene.',
    'a cropped photo of a {}.',
    'a close-up photo of the {}.',
    'a region of an image showing {}.',
    'a part of a picture containing {}.',
    'a photo of a small {}.',
    'a photo of a large {}.',
)

TEMPLATE_SETS = {
    # open_clip keeps them as lambdas; rendered with '{}' they become the same format strings
    'imagenet80': tuple(t('{}') for t in OPENAI_IMAGENET_TEMPLATES),
    'imagenet7': tuple(t('{}') for t in SIMPLE_IMAGENET_TEMPLATES),
    'segmentation': SEGMENTATION_TEMPLATES,
    'single': ('a photo of a {}.',),
}


def _slot_problem(template: str) -> str:
    """What is wrong with a template's ``str.format`` fields, or ``''`` when it has exactly one
    empty ``{}`` (literal braces doubled: ``{{``, ``}}``)."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as err:
        return f'its braces do not parse ({err}; write literal braces as {{{{ and }}}})'
    named = [f'{{{name}}}' for name in fields if name != '']
    if named:
        return f'it has the named field(s) {", ".join(named)}; the class name goes in "{{}}"'
    if len(fields) != 1:
        return f'it has {len(fields)} "{{}}" slots'
    return ''


def _check(templates: Sequence[str], source: str) -> Tuple[str, ...]:
    if not templates:
        raise ValueError(f'template set {source} is empty')
    for i, template in enumerate(templates, start=1):
        problem = _slot_problem(template)
        if problem:
            raise ValueError(f'template {i} of {source} is {template!r}: {problem}; each '
                             f'template needs exactly one "{{}}" where the class name goes')
    return tuple(templates)


def load_templates(spec: Union[str, Sequence[str]]) -> Tuple[str, ...]:
    """Templates from a set name (:data:`TEMPLATE_SETS`), a file (one per line), or a list."""
    if isinstance(spec, str):
        if spec in TEMPLATE_SETS:
            return TEMPLATE_SETS[spec]
        if osp.isfile(spec):
            with open(spec, encoding='utf-8') as f:
                lines = [line.strip() for line in f]
            return _check([line for line in lines if line and not line.startswith('#')], spec)
        raise FileNotFoundError(f'templates {spec!r} are neither a set ({sorted(TEMPLATE_SETS)}) '
                                f'nor a file with one template per line')
    return _check(list(spec), '<list>')
