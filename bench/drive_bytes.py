"""What a Colab run writes to Google Drive, per preset: the real checkpoint files, and the bytes of a whole run.

For each GPU preset this trains the preset's model shape for one step on the built-in stories (CPU,
float32, one short micro-batch: the files do not depend on the data or the hardware), with the
project's own `train`, and measures the `last.pt` and `best.pt` it writes. A whole run then writes
one `last.pt` + `best.pt` pair per `checkpoint_minutes` of training and one at the end; it used to
write a full `last.pt` at every evaluation and a full-size `best.pt` at each improvement (assumed at
every evaluation, as in a pretraining run whose validation loss keeps falling). The training time
is an estimate (FLOPs per token x tokens / (peak x utilisation)) until a GPU run measures it; pass
`--minutes` to use a measured one.

    python bench/drive_bytes.py [--presets colab-t4,colab-a100] [--checkpoint_minutes 10] [--json out.json]
"""
import argparse, json, math, os, platform, tempfile
from pathlib import Path

import torch

from slm_nb.config import get_preset
from slm_nb.model import GPT, GPTConfig
from slm_nb.tokenize import prepare
from slm_nb.train import train

# the GPU each preset is for: (name, peak dense FLOP/s in the preset's precision, the utilisation range assumed)
GPUS = {'colab-t4': ('T4, float16', 65e12, (0.12, 0.25)), 'colab-a100': ('A100, bfloat16', 312e12, (0.25, 0.40))}

def cpu_name():
    try: return next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): return platform.processor() or 'unknown CPU'

def measure(name, work):
    "Sizes of the last.pt and best.pt that `train` writes for the preset's model."
    cfg = get_preset(name, data='synthetic', data_dir=str(work/'data'), out_dir=str(work/name), max_iters=1,
                     eval_interval=1, eval_iters=1, batch_size=1, grad_accum_steps=1, warmup_iters=0, device='cpu',
                     dtype='float32', compile=False)
    train(cfg, quiet=True)
    return {f: (work/name/f).stat().st_size for f in ('last.pt', 'best.pt')}

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--presets', default='colab-t4,colab-a100')
    ap.add_argument('--checkpoint_minutes', type=float, default=10)
    ap.add_argument('--minutes', type=float, help='a measured training time, instead of the estimate')
    ap.add_argument('--json')
    a = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    print(f"machine: {cpu_name()}, {os.cpu_count()} CPUs; torch {torch.__version__}")
    work = Path(tempfile.mkdtemp(prefix='slm-drive-'))
    prepare('synthetic', work/'data', quiet=True)
    out = {}
    for name in a.presets.split(','):
        cfg = get_preset(name)
        with torch.device('meta'): m = GPT(GPTConfig(**cfg.model_config()))
        size = measure(name, work)
        tokens = cfg.max_iters * cfg.tokens_per_step()
        gpu, peak, (lo, hi) = GPUS[name]
        minutes = (a.minutes,) * 2 if a.minutes else tuple(tokens * m.flops_per_token() / (peak * u) / 60 for u in (hi, lo))
        pair = size['last.pt'] + size['best.pt']
        writes = [math.floor(t / a.checkpoint_minutes) + 1 for t in minutes]    # one per interval, and the end
        now = [w * pair for w in writes]
        evals = len(range(0, cfg.max_iters, cfg.eval_interval)) + 1          # and one at the last step
        before = evals * 2 * size['last.pt']                                      # last.pt and a full best.pt each time
        out[name] = dict(gpu=gpu, params=m.num_params(), last_pt=size['last.pt'], best_pt=size['best.pt'],
                         train_minutes=[round(t, 1) for t in minutes], writes=writes, drive_bytes=now,
                         ratio_to_last=[round(b / size['last.pt'], 2) for b in now], evaluations=evals, before_bytes=before)
        r = out[name]
        print(f"{name:<11} {r['params'] / 1e6:.1f} M parameters; last.pt {size['last.pt'] / 1e6:,.0f} MB, best.pt "
              f"{size['best.pt'] / 1e6:,.0f} MB; {gpu}: {minutes[0]:.0f}-{minutes[1]:.0f} min of training "
              f"({'measured' if a.minutes else 'estimate'}) -> {'-'.join(map(str, sorted(set(writes))))} writes, "
              f"{min(now) / 1e9:.2f}-{max(now) / 1e9:.2f} GB to Drive ({min(r['ratio_to_last'])}-{max(r['ratio_to_last'])}x last.pt); "
              f"checkpointing at each of the {evals} evaluations wrote {before / 1e9:.1f} GB")
    if a.json: Path(a.json).write_text(json.dumps(out, indent=1))

if __name__ == '__main__': main()
