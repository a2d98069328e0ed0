"""The web demo's logic (``tools/web_demo.py`` serves it with Gradio): an image, a vocabulary and
a task in; the picture, a legend of each class's colour and area, and a JSON file out. Errors a
user can cause (an empty or unknown vocabulary, a task no loaded model does, bad boxes) come back
as a message for the page, not as a traceback.

Which model does which task of the page (:data:`TASK_MODELS`):

===========================  =====================  ============================
page task                    model                  inferencer task
===========================  =====================  ============================
panoptic                     ``panoptic``           ``panoptic``
semantic                     ``semantic``           ``semantic``
dense (training-free)        ``pretrain``           ``semantic``
classification               ``pretrain``           ``classification``
region (given boxes)         ``pretrain``           ``region``
===========================  =====================  ============================
"""
import glob
import html
import os.path as osp
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import mmcv
import numpy as np
from mmengine.runner import find_latest_checkpoint

from umg_mm.structures.vocabulary import list_vocabularies
from umg_mm.utils.atomic_io import write_json_atomic
from umg_mm.visualization import legend_entries
from .results import json_ready
from .inferencers import UMGInferencer
from .tasks import task_arguments
from .typed_inputs import parse_boxes, parse_vocabulary
from .visualization import prediction_regions

#: page task -> (model key, inferencer task)
TASK_MODELS: Dict[str, Tuple[str, str]] = {
    'panoptic': ('panoptic', 'panoptic'),
    'semantic': ('semantic', 'semantic'),
    'dense (training-free)': ('pretrain', 'semantic'),
    'classification': ('pretrain', 'classification'),
    'region (given boxes)': ('pretrain', 'region'),
}
#: main job step folder of each model key (tools/main_job.py)
MAIN_JOB_STEPS = dict(pretrain='pretrain', semantic='semseg', panoptic='panoptic')
MAIN_JOB_HINT = ('run the main job first (`bash tools/main_job.sh`, about 10 minutes on 2 CPU '
                 'cores; writes work_dirs/main_job/seed0), or give models by flag: '
                 '--pretrain/--semantic/--panoptic CONFIG CHECKPOINT')
#: the errors a request can cause (shown in the page)
USER_ERRORS = (ValueError, KeyError, FileNotFoundError)


def main_job_models(work_dir: str) -> Dict[str, Tuple[str, str]]:
    """``{model key: (config, checkpoint)}`` of the main job's steps found in ``work_dir``: each
    step's last checkpoint and the config mmengine saved beside it."""
    models = {}
    for key, step in MAIN_JOB_STEPS.items():
        folder = osp.join(work_dir, step)
        checkpoint = find_latest_checkpoint(folder) if osp.isdir(folder) else None
        configs = sorted(glob.glob(osp.join(folder, '*.py')))
        if checkpoint and configs:
            models[key] = (configs[0], checkpoint)
    return models


@dataclass
class DemoResult:
    """What the page shows for one request.

    Attributes:
        picture: ``(H, W, 3)`` RGB, or ``None`` on error.
        legend: rows ``dict(name, hex, area, fraction)`` (masks), ``dict(name, score)``
            (classification, regions).
        legend_html: the legend as an HTML table.
        json_path: the results file to download.
        message: a one-line summary, or the error.
        ok: whether the request succeeded.
    """
    picture: Optional[np.ndarray] = None
    legend: List[dict] = field(default_factory=list)
    legend_html: str = ''
    json_path: Optional[str] = None
    message: str = ''
    ok: bool = True


class WebDemo:
    """Inferencers for the page's tasks and one call per request.

    Args:
        models: ``{model key: (config, checkpoint)}``, keys ``pretrain``, ``semantic``,
            ``panoptic`` (any subset; see :data:`TASK_MODELS`).
        device: ``'cpu'``, ``'cuda'``, ... (``None``: the first available).
        out_dir: where result JSON files go (default: a temporary folder).

    Raises:
        ValueError: no model is given (with how to get the main job's).
    """

    def __init__(self, models: Dict[str, Tuple[str, str]], device: Optional[str] = None,
                 out_dir: Optional[str] = None) -> None:
        unknown = set(models) - set(MAIN_JOB_STEPS)
        if unknown:
            raise ValueError(f'unknown model keys {sorted(unknown)}; use {list(MAIN_JOB_STEPS)}')
        if not models:
            raise ValueError(f'no model to serve: {MAIN_JOB_HINT}')
        self.models = dict(models)
        self.inferencers = {key: UMGInferencer(config, checkpoint, device=device)
                            for key, (config, checkpoint) in models.items()}
        self.out_dir = out_dir or tempfile.mkdtemp(prefix='umg_web_demo_')
        self.requests = 0

    @property
    def tasks(self) -> List[str]:
        """The page tasks the loaded models can do, in :data:`TASK_MODELS` order."""
        return [task for task, (key, _) in TASK_MODELS.items() if key in self.inferencers]

    def __call__(self, image: Optional[np.ndarray], task: str, vocabulary: str = '',
                 stuff: str = '', boxes: str = '') -> DemoResult:
        """Predict on one image.

        Args:
            image: ``(H, W, 3)`` RGB uint8 (as the page uploads it).
            task: a page task (:attr:`tasks`).
            vocabulary: class names ``'a, b|synonym'``, a shipped vocabulary name or a file;
                empty: the model's own.
            stuff: panoptic: which classes are stuff (names or a file); empty: none (with an
                empty vocabulary: the model's own things and stuff).
            boxes: region: one ``x1,y1,x2,y2`` per line (or ``;``-separated), in pixels.

        Returns:
            The page's :class:`DemoResult`; ``ok=False`` with the error in ``message`` when the
            request cannot be served.
        """
        try:
            return self._predict(image, task, vocabulary, stuff, boxes)
        except USER_ERRORS as error:
            message = error.args[0] if isinstance(error, KeyError) and error.args else error
            return DemoResult(message=f'Error: {message}', ok=False)

    def _predict(self, image, task, vocabulary, stuff, boxes) -> DemoResult:
        if image is None:
            raise ValueError('no image: upload one or pick an example')
        if task not in TASK_MODELS:
            raise ValueError(f'unknown task {task!r}; the tasks are {list(TASK_MODELS)}')
        key, inferencer_task = TASK_MODELS[task]
        if key not in self.inferencers:
            raise ValueError(f'task {task!r} needs the {key} model, which is not loaded: '
                             f'{MAIN_JOB_HINT}')
        image = np.ascontiguousarray(np.asarray(image, dtype=np.uint8)[..., :3])
        options = {}
        if inferencer_task == 'panoptic' and stuff.strip():
            options['stuff'] = stuff.strip()
        if inferencer_task == 'region':
            options['boxes'] = np.asarray(parse_boxes(boxes or '') or np.zeros((0, 4)),
                                          dtype=np.float32)
        inferencer = self.inferencers[key]
        out = inferencer(mmcv.rgb2bgr(image),
                         vocabulary=parse_vocabulary(vocabulary.strip() or None),
                         return_vis=True, return_datasamples=True,
                         **task_arguments(inferencer, inferencer_task), **options)
        sample = out['predictions'][0]
        prediction = inferencer.pred2dict(sample)
        legend = self._legend(inferencer_task, sample, prediction, out['classes'], image)
        self.requests += 1
        json_path = osp.join(self.out_dir, f'result_{self.requests:05d}.json')
        write_json_atomic(json_path, dict(task=task, classes=out['classes'], legend=legend,
                                          prediction=json_ready([prediction])[0]), indent=1)
        return DemoResult(picture=out['visualization'][0], legend=legend,
                          legend_html=legend_html(legend), json_path=json_path,
                          message=f'{task}: {len(legend)} of the vocabulary\'s '
                          f'{len(out["classes"])} classes shown')

    @staticmethod
    def _legend(task: str, sample, prediction: dict, classes: List[str],
                image: np.ndarray) -> List[dict]:
        """Per class present its colour and area (masks), or its score (classes, boxes)."""
        regions = prediction_regions(task, sample, classes)
        if task in ('semantic', 'panoptic'):
            return [dict(name=e['name'], hex=e['hex'], area=e['area'], fraction=e['fraction'])
                    for e in legend_entries(regions, image.shape[0] * image.shape[1])]
        colors = {region.name: region.color for region in regions or []}
        return [dict(name=name, score=float(score),
                     **({'hex': '#{:02x}{:02x}{:02x}'.format(*colors[name])}
                        if name in colors else {}))
                for name, score in zip(prediction['names'], prediction['scores'])]


def legend_html(legend: List[dict]) -> str:
    """The legend as an HTML table (``id="umg-legend"``): swatch, class, area or score."""
    rows = []
    for entry in legend:
        swatch = (f'<span style="display:inline-block;width:1em;height:1em;'
                  f'background:{entry["hex"]}"></span>' if 'hex' in entry else '')
        value = (f'{entry["area"]} px ({100 * entry["fraction"]:.1f}%)' if 'area' in entry
                 else f'{entry["score"]:.3f}')
        rows.append(f'<tr class="umg-legend-row" data-name="{html.escape(entry["name"])}">'
                    f'<td>{swatch}</td><td class="umg-legend-name">{html.escape(entry["name"])}'
                    f'</td><td class="umg-legend-value">{value}</td></tr>')
    return ('<table id="umg-legend"><thead><tr><th></th><th>class</th><th>area / score</th>'
            '</tr></thead><tbody>' + ''.join(rows) + '</tbody></table>')


def build_app(demo: WebDemo, examples: Sequence[str] = (), title: str = 'umg_mm web demo'):
    """The Gradio page of ``demo`` (``pip install -e .[demo]``).

    Element ids (for tests and styling): ``umg-image`` (input), ``umg-task``,
    ``umg-vocabulary``, ``umg-shipped``, ``umg-stuff``, ``umg-boxes``, ``umg-run``,
    ``umg-picture`` (output), ``umg-legend``, ``umg-json``, ``umg-status``.

    Returns:
        The ``gradio.Blocks`` app; ``app.launch(server_name=..., server_port=...)`` serves it.
    """
    try:
        import gradio as gr
    except ImportError as error:
        raise ImportError('the web demo needs Gradio: pip install -e ".[demo]" (or run '
                          'tools/setup_env.sh, which installs it)') from error
    tasks = demo.tasks
    with gr.Blocks(title=title) as app:
        gr.Markdown(f'# {title}\nOpen-vocabulary predictions of umg_mm models: upload an '
                    'image, type class names in any language, choose a task.')
        with gr.Row():
            with gr.Column():
                image = gr.Image(type='numpy', label='image', elem_id='umg-image',
                                 image_mode='RGB')
                task = gr.Dropdown(tasks, value=tasks[0], label='task', elem_id='umg-task')
                vocabulary = gr.Textbox(
                    label='vocabulary: class names, comma-separated ("|" for synonyms); '
                    'empty: the model\'s own', elem_id='umg-vocabulary')
                shipped = gr.Dropdown([''] + list_vocabularies(), value='',
                                      label='or a shipped vocabulary', elem_id='umg-shipped')
                stuff = gr.Textbox(label='panoptic: which classes are stuff (empty: none)',
                                   elem_id='umg-stuff')
                boxes = gr.Textbox(label='region: boxes x1,y1,x2,y2 in pixels, one per line',
                                   lines=3, elem_id='umg-boxes')
                run = gr.Button('Run', variant='primary', elem_id='umg-run')
            with gr.Column():
                picture = gr.Image(type='numpy', label='prediction', format='png',
                                   interactive=False, elem_id='umg-picture')
                status = gr.Markdown(elem_id='umg-status')
                legend = gr.HTML(elem_id='umg-legend-box')
                result_file = gr.File(label='results (JSON)', elem_id='umg-json')
        if examples:
            gr.Examples([[path] for path in examples], inputs=[image], label='examples')
        shipped.change(lambda name: name, inputs=shipped, outputs=vocabulary)

        def respond(image_, task_, vocabulary_, stuff_, boxes_):
            result = demo(image_, task_, vocabulary_, stuff_, boxes_)
            return result.picture, result.message, result.legend_html, result.json_path

        run.click(respond, inputs=[image, task, vocabulary, stuff, boxes],
                  outputs=[picture, status, legend, result_file])
    return app
