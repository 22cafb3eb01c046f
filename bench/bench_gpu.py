"""GPU benchmark: training throughput, MFU and peak memory of the presets, eager vs compiled, float16 vs
bfloat16; generation ms/token at batch 1 and 8; and the estimated wall time of each preset's whole run.

    python bench/bench_gpu.py                      # everything (about 6-8 minutes on an H100)
    python bench/bench_gpu.py --presets colab-t4 --variants eager-fp16 compiled-fp16 --steps 20

Training is measured through `slm_nb.train.train` itself (the path `slm-train` takes) on the built-in
synthetic stories, so data loading, gradient accumulation, clipping and the scaler are all included;
the throughput is the median of the logged intervals after the first (which holds compilation and
warm-up). Prints the GPU, the software versions and a markdown table; --json writes the figures."""
import argparse, json, math, os, platform, statistics, sys, tempfile, time
from pathlib import Path

import torch

from slm_nb.config import get_preset, PRESETS
from slm_nb.model import GPT, GPTConfig
from slm_nb.tokenize import prepare
from slm_nb.train import train, read_history

VARIANTS = {'eager-bf16': (False, 'bfloat16'), 'compiled-bf16': (True, 'bfloat16'),
            'eager-fp16': (False, 'float16'), 'compiled-fp16': (True, 'float16'),
            'eager-fp32': (False, 'float32'), 'compiled-fp32': (True, 'float32')}
TRAIN_PRESETS = ['tinystories-30m', 'colab-t4', 'colab-a100']

def machine() -> str:
    p = torch.cuda.get_device_properties(0)
    return (f"{torch.cuda.get_device_name(0)} (compute capability {p.major}.{p.minor}, {p.total_memory / 2**30:.0f} GiB, "
            f"{torch.cuda.device_count()} visible), torch {torch.__version__}, CUDA {torch.version.cuda}, "
            f"Python {platform.python_version()}, CPU {platform.processor() or platform.machine()}, {os.cpu_count()} cores")

def bench_train(preset, compiled, dtype, steps, data_dir, out_root):
    "Train `steps` optimizer steps of `preset`; returns tokens/s (median of logged intervals after the first), MFU, peak GiB."
    log = max(1, steps // 5)
    cfg = get_preset(preset, data='synthetic', data_dir=str(data_dir), out_dir=str(out_root/f"{preset}-{compiled}-{dtype}"),
                     max_iters=steps, lr_decay_iters=PRESETS[preset].get('max_iters', 625), eval_interval=10**9,
                     eval_iters=1, log_interval=log, save_checkpoints=False, device='cuda', dtype=dtype, compile=compiled)
    torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
    t0 = time.time()
    res = train(cfg, quiet=True)
    wall = time.time() - t0
    rows = [r for r in read_history(res['history']) if r['kind'] == 'train']
    tps = statistics.median(r['tokens_per_sec'] for r in rows[1:]) if len(rows) > 1 else rows[-1]['tokens_per_sec']
    mfu = res['model'].estimate_mfu(tps)
    full = get_preset(preset)
    run_s = full.max_iters * full.tokens_per_step() / tps
    del res
    return dict(preset=preset, compiled=compiled, dtype=dtype, tokens_per_s=tps, mfu=mfu,
                peak_gib=torch.cuda.max_memory_allocated() / 2**30, bench_wall_s=wall,
                full_run_min=run_s / 60, tokens_per_step=full.tokens_per_step(), max_iters=full.max_iters)

def bench_generate(preset, batch, new_tokens, dtype):
    "ms per new token of cached generation for the preset's model (random weights), median of 3."
    c = get_preset(preset)
    torch.manual_seed(0)
    m = GPT(GPTConfig(**c.model_config())).cuda().eval()
    idx = torch.randint(0, c.vocab_size, (batch, 16), device='cuda')
    times = []
    for _ in range(4):
        torch.cuda.synchronize(); t0 = time.perf_counter()
        with torch.autocast('cuda', dtype=dtype, enabled=dtype != torch.float32):
            m.generate(idx, new_tokens, temperature=1.0, top_k=200)
        torch.cuda.synchronize(); times.append((time.perf_counter() - t0) / new_tokens * 1e3)
    return statistics.median(times[1:])

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--presets', nargs='+', default=TRAIN_PRESETS, choices=list(PRESETS))
    ap.add_argument('--variants', nargs='+', default=['eager-bf16', 'compiled-bf16', 'eager-fp16', 'compiled-fp16'],
                    choices=list(VARIANTS))
    ap.add_argument('--steps', type=int, default=15, help='optimizer steps per measurement')
    ap.add_argument('--gen-tokens', type=int, default=100)
    ap.add_argument('--skip-generate', action='store_true')
    ap.add_argument('--json', help='write the figures to this file')
    a = ap.parse_args()
    if not torch.cuda.is_available(): sys.exit("bench_gpu.py needs a CUDA GPU; none is visible to this PyTorch")
    print(machine(), flush=True)
    cap = torch.cuda.get_device_capability(0)
    out = dict(machine=machine(), train=[], generate=[])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        prepare('synthetic', tmp/'data', quiet=True)
        for preset in a.presets:
            for v in a.variants:
                compiled, dtype = VARIANTS[v]
                if dtype == 'bfloat16' and cap[0] < 8: print(f"skip {preset} {v}: no native bfloat16"); continue
                try: r = bench_train(preset, compiled, dtype, a.steps, tmp/'data', tmp/'runs')
                except Exception as e:  # e.g. out of memory on a small GPU: report and go on
                    print(f"{preset} {v}: failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}", flush=True); continue
                out['train'].append(r)
                print(f"{preset:11s} {v:14s} {r['tokens_per_s']:>12,.0f} tok/s  MFU {r['mfu'] or float('nan'):6.1%}  "
                      f"peak {r['peak_gib']:5.1f} GiB  whole run {r['full_run_min']:6.1f} min  (bench {r['bench_wall_s']:.0f} s)",
                      flush=True)
    if not a.skip_generate:
        dt = torch.bfloat16 if cap[0] >= 8 else torch.float16
        for preset in a.presets:
            for b in (1, 8):
                for name, d in (('float32', torch.float32), (str(dt).replace('torch.', ''), dt)):
                    ms = bench_generate(preset, b, a.gen_tokens, d)
                    out['generate'].append(dict(preset=preset, batch=b, dtype=name, ms_per_token=ms))
                    print(f"generate {preset:11s} batch {b} {name:9s} {ms:6.2f} ms/token", flush=True)
    print("\n| preset | variant | tokens/s | MFU | peak GiB | whole run (min) |\n|---|---|---:|---:|---:|---:|")
    for r in out['train']:
        v = f"{'compiled' if r['compiled'] else 'eager'} {r['dtype']}"
        print(f"| {r['preset']} | {v} | {r['tokens_per_s']:,.0f} | {(r['mfu'] or float('nan')):.1%} | {r['peak_gib']:.1f} | {r['full_run_min']:.1f} |")
    if out['generate']:
        print("\n| preset | batch | dtype | ms per new token |\n|---|---:|---|---:|")
        for g in out['generate']: print(f"| {g['preset']} | {g['batch']} | {g['dtype']} | {g['ms_per_token']:.2f} |")
    if a.json: Path(a.json).write_text(json.dumps(out, indent=2))

if __name__ == '__main__': main()
