# mmseg's default runtime with umg_mm's pictures and progress: UMGSegLocalVisualizer (class names in
# any script, small images enlarged, a legend when names collide; tools/test.py --show-dir draws
# with it) and ProgressLoggerHook (validation and test progress with an ETA every tenth of the loop).
_base_ = ['mmseg::_base_/default_runtime.py']
visualizer = dict(type='UMGSegLocalVisualizer')
default_hooks = dict(logger=dict(type='ProgressLoggerHook', eval_fraction=0.1))
