"""Run the benchmark sections one by one, each isolated, and report them (table and JSON)."""
import gc
import math
import os
import platform
import time
import traceback
from typing import Dict, Sequence

import torch

from umg_mm.utils.atomic_io import write_json_atomic
from .context import BenchmarkContext
from .result import SectionSkipped
from .sections import SECTIONS


def _cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else the architecture."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(ctx: BenchmarkContext) -> dict:
    """Where the figures were measured."""
    info = dict(platform=platform.platform(), cpu=_cpu_model(), python=platform.python_version(),
                torch=torch.__version__, cpu_count=os.cpu_count(), torch_threads=ctx.threads,
                device=ctx.device, clock=ctx.clock.name)
    if ctx.torch_device.type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(ctx.torch_device)
    try:
        with open('/proc/loadavg') as f:
            info['load_average'] = f.read().split()[:3]
    except OSError:
        pass
    return info


def run_sections(ctx: BenchmarkContext, names: Sequence[str]) -> Dict[str, dict]:
    """Run ``names`` in turn; a section that raises is reported as failed and the rest run.

    Returns:
        ``{name: dict(status='ok'|'failed'|'skipped', seconds, ratios, measurements, notes,
        error)}``; each ratio as :meth:`Ratio.to_dict`.
    """
    sections = {}
    for name in names:
        start = time.perf_counter()
        print(f'[benchmark] {name} ...', flush=True)
        entry = dict(status='ok')
        try:
            result = SECTIONS[name](ctx)
            entry.update(ratios={k: r.to_dict() for k, r in result.ratios.items()},
                         measurements=result.measurements, notes=result.notes)
            bad = [k for k, r in result.ratios.items()
                   if not (math.isfinite(r.value) and r.value > 0)]
            if bad:
                entry.update(status='failed', error=f'non-finite or non-positive ratios: {bad}')
        except SectionSkipped as reason:
            entry.update(status='skipped', reason=str(reason))
        except Exception as err:  # noqa: BLE001  isolation: report it, run the next section
            entry.update(status='failed', error=f'{type(err).__name__}: {err}',
                         traceback=traceback.format_exc())
            print(entry['traceback'], flush=True)
        entry['seconds'] = round(time.perf_counter() - start, 2)
        print(f'[benchmark] {name}: {entry["status"]} in {entry["seconds"]:.1f} s', flush=True)
        sections[name] = entry
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return sections


def _figure(value: float, unit: str) -> str:
    if unit == 's':
        return f'{value * 1e3:.1f} ms' if value < 1 else f'{value:.2f} s'
    if unit == 'parameters':
        return f'{value:,.0f}'
    return f'{value:,.1f} {unit}'


def format_table(report: dict) -> str:
    """A Markdown table: one row per ratio, then one per failed or skipped section."""
    lines = ['| section | measured vs reference | ratio | measured | reference |',
             '| --- | --- | --- | --- | --- |']
    for name, entry in report['sections'].items():
        if entry['status'] == 'skipped':
            lines.append(f'| {name} | skipped: {entry["reason"]} | | | |')
            continue
        for ratio in entry.get('ratios', {}).values():
            value = 'n/a' if ratio['value'] is None else f'{ratio["value"]:.3f}'
            lines.append(f'| {name} | {ratio["what"]} | {value} | '
                         f'{_figure(ratio["measured"], ratio["unit"])} | '
                         f'{_figure(ratio["reference"], ratio["unit"])} |')
        if entry['status'] == 'failed':
            lines.append(f'| {name} | FAILED: {entry["error"]} | | | |')
    return '\n'.join(lines)


def run_benchmark(ctx: BenchmarkContext, names: Sequence[str], out: str = None) -> dict:
    """Run the sections, print the table, write the JSON report (atomically) to ``out``.

    Returns:
        The report: ``dict(machine, settings, sections, failed)``.
    """
    try:
        sections = run_sections(ctx, names)
    finally:
        ctx.cleanup()
    report = dict(
        machine=machine_info(ctx),
        settings=dict(model=ctx.model, sizes=list(ctx.sizes), batch_size=ctx.batch_size,
                      repeats=ctx.repeats, warmup=ctx.warmup, amp=ctx.amp,
                      statistic=f'median of {ctx.repeats} after {ctx.warmup} warm-up'),
        sections=sections,
        failed=[name for name, entry in sections.items() if entry['status'] == 'failed'])
    print()
    print(f'UMG-CLIP benchmark: {ctx.model}, {ctx.device}, {report["machine"]["clock"]}, '
          f'{report["settings"]["statistic"]} (ratio = measured / reference)')
    print()
    print(format_table(report))
    if out:
        write_json_atomic(out, report, indent=2)
        print(f'\nwrote {out}')
    return report
