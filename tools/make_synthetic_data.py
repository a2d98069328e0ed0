"""Write the synthetic world (shapes on textures) in every format umg_mm reads.

Example::

    python tools/make_synthetic_data.py data/synthetic --num-train 2000 --num-val 500 \
        --num-dev 500 --workers 2

The folder layout and which task reads which file are described in docs/synthetic_world.md.
"""
import argparse

from umg_mm.datasets.synthetic import SyntheticWorldConfig, generate_synthetic_world
from umg_mm.datasets.synthetic.categories import DEFAULT_HELD_OUT_STUFF, DEFAULT_HELD_OUT_THINGS


def _names(text: str):
    """Comma-separated class names; '' or 'none' for none."""
    return [] if text.strip().lower() in ('', 'none') else [n.strip() for n in text.split(',')]


def parse_args(argv=None):
    defaults = SyntheticWorldConfig()
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', help='folder to write (new or empty, see --overwrite)')
    parser.add_argument('--seed', type=int, default=defaults.seed)
    parser.add_argument('--num-train', type=int, default=defaults.num_train)
    parser.add_argument('--num-val', type=int, default=defaults.num_val,
                        help='images of the val split (reported figures only)')
    parser.add_argument('--num-dev', type=int, default=defaults.num_dev,
                        help='images of the dev split (choosing thresholds and settings); 0 for '
                        'none')
    parser.add_argument('--image-size', type=int, default=defaults.image_size,
                        help='side of the square images in pixels')
    parser.add_argument('--held-out-things', default=','.join(DEFAULT_HELD_OUT_THINGS),
                        help='thing classes left out of the train segmentation labels, comma '
                        'separated, or "none"')
    parser.add_argument('--held-out-stuff', default=','.join(DEFAULT_HELD_OUT_STUFF),
                        help='stuff classes left out of the train segmentation labels, comma '
                        'separated, or "none"')
    parser.add_argument('--caption-noise', type=float, default=defaults.caption_noise,
                        help='probability that a caption gets synonyms, a dropped attribute or '
                        'swapped words')
    parser.add_argument('--min-things', type=int, default=defaults.min_things)
    parser.add_argument('--max-things', type=int, default=defaults.max_things)
    parser.add_argument('--shard-size', type=int, default=defaults.shard_size,
                        help='samples per WebDataset tar shard')
    parser.add_argument('--workers', type=int, default=1, help='processes drawing images')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace a synthetic world already in OUT_DIR')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = SyntheticWorldConfig(
        seed=args.seed, num_train=args.num_train, num_val=args.num_val, num_dev=args.num_dev,
        image_size=args.image_size, held_out_things=_names(args.held_out_things),
        held_out_stuff=_names(args.held_out_stuff), caption_noise=args.caption_noise,
        min_things=args.min_things, max_things=args.max_things, shard_size=args.shard_size)
    meta = generate_synthetic_world(args.out_dir, cfg, workers=args.workers,
                                    overwrite=args.overwrite)
    splits = meta['splits']
    counts = ', '.join(f'{s["num_images"]} {name}' for name, s in splits.items())
    print(f'wrote {counts} images to {args.out_dir} in {meta["seconds"]:.1f} s; held out of the '
          f'train segmentation labels: {", ".join(cfg.held_out) or "nothing"}')


if __name__ == '__main__':
    main()
