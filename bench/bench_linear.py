"""One Linear layer at a few rows: `F.linear` against `slm_nb.model.Linear`'s blocked path, side by side.

Generation with a KV cache pushes one row per sequence through every layer, so each layer is a
matrix-vector product whose speed is the speed of reading its weight. This script times, for the
seeds' layer shapes (float32, inference mode), `F.linear(x, W)` and `Linear` (which cuts `W` into
row blocks and uses one `torch.bmm`), and as a floor the time to read `W` once (`W.sum()`).
As in generation, where 25 weights are used in turn and together exceed the CPU's caches, each
peer cycles through enough copies of the layer (at least 128 MB) that every call finds its
weight in main memory. Peers run interleaved; we report medians per call.

    python bench/bench_linear.py                 # under a minute on 2 CPU cores
"""
import argparse, os, platform, statistics, time
import torch
import torch.nn.functional as F
from slm_nb.model import Linear

SHAPES = {'lm_head (tied wte)': (384, 50257), 'attn.c_attn': (384, 1152), 'mlp.c_fc': (384, 1536), 'mlp.c_proj': (1536, 384)}


def timed(fn, reps):
    "Median seconds of `reps` calls."
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--rows', type=int, nargs='+', default=[1, 8, 64])
    p.add_argument('--rounds', type=int, default=5, help='interleaved rounds; each times every peer')
    p.add_argument('--reps', type=int, default=5, help='passes over the copies per peer per round')
    p.add_argument('--cold-mb', type=int, default=128, help='total size of the copies of each layer')
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{platform.processor() or platform.machine()} | {os.cpu_count()} logical CPUs | torch {torch.__version__} "
          f"| threads {args.threads} | load average {os.getloadavg()}")
    print("\n| layer (in -> out) | rows | read W once: ms | F.linear: ms | Linear: ms | F.linear / Linear | GB/s of W, Linear |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    torch.manual_seed(0)
    with torch.inference_mode():
        for name, (i, o) in SHAPES.items():
            copies = max(2, -(-args.cold_mb * 2**20 // (4 * i * o)))       # enough copies to exceed the caches
            lins = [Linear(i, o, bias=not name.startswith('lm_head')) for _ in range(copies)]
            for rows in args.rows:
                x = torch.randn(rows, i)
                peers = {'read': lambda: [l.weight.sum() for l in lins],
                         'F.linear': lambda: [F.linear(x, l.weight, l.bias) for l in lins],
                         'Linear': lambda: [l(x) for l in lins]}
                for f in peers.values(): f()                                      # warm-up
                times = {k: [] for k in peers}
                for _ in range(args.rounds):
                    for k, f in peers.items(): times[k].append(timed(f, args.reps) / copies)
                m = {k: 1e3 * statistics.median(v) for k, v in times.items()}
                l = lins[0]
                assert torch.allclose(l(x), F.linear(x, l.weight, l.bias), atol=1e-4, rtol=1e-4)
                gbs = i * o * 4 / (m['Linear'] / 1e3) / 1e9
                print(f"| {name} ({i} -> {o}) | {rows} | {m['read']:.3f} | {m['F.linear']:.3f} | {m['Linear']:.3f} "
                      f"| {m['F.linear'] / m['Linear']:.2f}x | {gbs:.0f} |", flush=True)


if __name__ == '__main__':
    main()
