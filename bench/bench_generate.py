"""Cached generation of `slm_nb.model.GPT` against `transformers.GPT2LMHeadModel`, side by side in one process.

Greedy decoding of `--new-tokens` tokens after a `--prompt`-token prompt, at each batch size of `--batches`, with the
same random weights in both models (`GPT.to_hf`). Peers, run interleaved (one of each per round):

- **ours, eager**: `GPT.generate(..., compile=False)`, the ordinary KV cache;
- **ours, fixed shapes, compiled**: `GPT.generate(..., compile=True)`, every step of the same shape at the same
  addresses, under `torch.compile(mode='reduce-overhead')` (CUDA graphs) on a GPU; on a CPU only with `--cpu-compile`
  (inductor's C++, no graphs; the compile takes about a minute there);
- **transformers**: `GPT2LMHeadModel.generate` with its own cache;
- **weight-read floor**: one `F.linear` of the batch's rows with every weight matrix of the model per token (every
  weight read once), on the same weights: what one cached step must at least cost when reading weights bounds it.

Reported per peer: the median and the fastest round in ms per new token (on a shared machine the fastest round is the
one least disturbed by other work), tokens/s, the ratio to transformers and to the floor, and whether the greedy tokens
equal transformers' (and, for the fixed-shape path, the eager path's). First lines: the machine (CPU model and flags or
the GPU), torch and transformers versions, threads, load average.

    python bench/bench_generate.py                              # CPU: the 30 M model at batch 1 and 8, float32
    python bench/bench_generate.py --device cuda --dtype bfloat16   # a GPU: eager, compiled and transformers
    python bench/bench_generate.py --quick                      # seconds: checks the script, not speed
"""
import argparse, json, os, platform, statistics, sys, time
import torch
import torch.nn.functional as F
from slm_nb.model import GPT, GPTConfig, naive_generate

FLAGS = ('avx2', 'avx512f', 'avx512_bf16', 'amx_tile')
SHAPES = {'30m': dict(n_layer=6, n_head=6, n_embd=384), 'cpu-demo': dict(n_layer=4, n_head=4, n_embd=128)}


def machine(device) -> dict:
    import transformers
    info = dict(torch=torch.__version__, transformers=transformers.__version__, python=platform.python_version(),
                threads=torch.get_num_threads(), logical_cpus=os.cpu_count(), load_average=tuple(round(x, 2) for x in os.getloadavg()))
    try:
        lines = open('/proc/cpuinfo').read().splitlines()
        info['cpu'] = next(l.split(':', 1)[1].strip() for l in lines if l.startswith('model name'))
        flags = set(next(l.split(':', 1)[1].split() for l in lines if l.startswith('flags')))
        info['cpu_flags'] = {f: f in flags for f in FLAGS}
    except (OSError, StopIteration): info['cpu'] = platform.processor() or platform.machine()
    info['torch_cpu_capability'] = torch.backends.cpu.get_cpu_capability()
    if device.startswith('cuda'):
        p = torch.cuda.get_device_properties(torch.device(device))
        info.update(gpu=p.name, capability=f"{p.major}.{p.minor}", cuda=torch.version.cuda)
    return info


def weight_floor(model, B, n_new, device):
    "A function that runs `n_new` steps of the floor: one matrix product of B rows with every weight matrix (each read once)."
    mats = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
    xs = {w.shape[1]: torch.randn(B, w.shape[1], device=device, dtype=w.dtype) for w in mats}
    def run():
        with torch.inference_mode():
            for _ in range(n_new):
                for w in mats: F.linear(xs[w.shape[1]], w)
    return run, sum(w.numel() * w.element_size() for w in mats)


def first_difference(a, b):
    "(row, position) where two token tensors first differ, or None."
    d = (a.cpu() != b.cpu()).nonzero()
    return None if not len(d) else tuple(int(v) for v in d[d[:, 1].argmin()])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--device', default='cpu', help="'cpu', 'cuda' or 'cuda:N'")
    p.add_argument('--dtype', default='float32', choices=['float32', 'bfloat16', 'float16'], help='weights of both models')
    p.add_argument('--shape', default='30m', choices=list(SHAPES))
    p.add_argument('--batches', type=int, nargs='+', default=[1, 8])
    p.add_argument('--prompt', type=int, default=56, help='prompt length in tokens')
    p.add_argument('--new-tokens', type=int, default=100)
    p.add_argument('--block-size', type=int, default=256, help='the model\'s context (prompt + new tokens must fit)')
    p.add_argument('--rounds', type=int, default=5, help='interleaved rounds per peer')
    p.add_argument('--threads', type=int, default=None, help='torch threads (default: as many as cores)')
    p.add_argument('--cpu-compile', action='store_true', help='also time the compiled fixed-shape path on a CPU')
    p.add_argument('--skip-compiled', action='store_true', help='leave the compiled fixed-shape path out')
    p.add_argument('--json', default=None, help='write the figures to this file')
    p.add_argument('--quick', action='store_true', help='tiny run to check the script works')
    a = p.parse_args()
    if a.quick: a.shape, a.rounds, a.new_tokens, a.prompt, a.batches = 'cpu-demo', 1, 8, 8, [1, 2]
    if a.threads: torch.set_num_threads(a.threads)
    if a.prompt + a.new_tokens > a.block_size: sys.exit(f"--prompt {a.prompt} + --new-tokens {a.new_tokens} must fit in --block-size {a.block_size}")
    dev, dtype = torch.device(a.device), getattr(torch, a.dtype)
    info = machine(a.device)
    print(f"machine: {info['cpu']} | {info['logical_cpus']} logical CPUs | torch threads {info['threads']}"
          + (f" | GPU {info['gpu']} (capability {info['capability']}, CUDA {info['cuda']})" if 'gpu' in info else ''))
    if 'cpu_flags' in info: print("CPU flags: " + ', '.join(f"{k} {'yes' if v else 'no'}" for k, v in info['cpu_flags'].items())
                                  + f" | torch CPU capability {info['torch_cpu_capability']}")
    print(f"python {info['python']} | torch {info['torch']} | transformers {info['transformers']} | load average {info['load_average']}")
    print("command: python " + " ".join(sys.argv))
    cfg = GPTConfig(block_size=a.block_size, dropout=0.0, **SHAPES[a.shape])
    torch.manual_seed(0)
    ours = GPT(cfg).to(device=dev, dtype=dtype).eval()
    hf = ours.to_hf().eval()
    compiled = not a.skip_compiled and (dev.type == 'cuda' or a.cpu_compile)
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    print(f"\n{a.shape} model ({cfg.n_layer} x {cfg.n_embd}, {ours.num_params() / 1e6:.1f} M parameters), {a.dtype}, block {a.block_size}: "
          f"{a.new_tokens} new tokens after a {a.prompt}-token prompt, greedy, {a.rounds} interleaved rounds")
    results = []
    for B in a.batches:
        prompt = torch.randint(0, cfg.vocab_size, (B, a.prompt), device=dev)
        out = {}
        floor, nbytes = weight_floor(ours, B, a.new_tokens, dev)
        def run_eager(): out['eager'] = ours.generate(prompt, a.new_tokens, temperature=0, compile=False)
        def run_fixed(): out['fixed'] = ours.generate(prompt, a.new_tokens, temperature=0, compile=True)
        def run_hf():
            with torch.inference_mode():
                out['hf'] = hf.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=a.new_tokens,
                                        min_new_tokens=a.new_tokens, do_sample=False, pad_token_id=0)
        peers = {'ours, eager (KV cache)': run_eager, 'transformers generate (its cache)': run_hf,
                 'weight-read floor': floor}
        if compiled: peers['ours, fixed shapes, compiled'] = run_fixed
        for name, f in peers.items():                     # warm-up: allocation, and the compile of the fixed-shape step
            t = time.perf_counter(); f(); sync()
            if name.startswith('ours, fixed'): print(f"batch {B}: compile and first run of the fixed-shape path {time.perf_counter() - t:.1f} s", flush=True)
        times = {k: [] for k in peers}
        for r in range(a.rounds):
            for k, f in peers.items():
                sync(); t = time.perf_counter(); f(); sync(); times[k].append(time.perf_counter() - t)
        med = {k: statistics.median(v) for k, v in times.items()}
        best = {k: min(v) for k, v in times.items()}
        ms = lambda s: 1e3 * s / a.new_tokens
        hf_m, hf_b, fl_m, fl_b = med['transformers generate (its cache)'], best['transformers generate (its cache)'], med['weight-read floor'], best['weight-read floor']
        print(f"\n| batch {B} | ms/token (median) | ms/token (fastest) | tokens/s (median) | vs transformers (median / fastest) | x floor (median / fastest) |")
        print("|---|---:|---:|---:|---:|---:|")
        for k in peers:
            print(f"| {k} | {ms(med[k]):.2f} | {ms(best[k]):.2f} | {B * a.new_tokens / med[k]:,.0f} | "
                  f"{hf_m / med[k]:.2f}x / {hf_b / best[k]:.2f}x | {med[k] / fl_m:.2f} / {best[k] / fl_b:.2f} |")
            results.append(dict(batch=B, peer=k, ms_per_token_median=round(ms(med[k]), 3), ms_per_token_fastest=round(ms(best[k]), 3),
                                vs_transformers_median=round(hf_m / med[k], 3), x_floor_median=round(med[k] / fl_m, 3),
                                vs_transformers_fastest=round(hf_b / best[k], 3), x_floor_fastest=round(best[k] / fl_b, 3)))
        print(f"(weights in the matrix products: {nbytes / 1e6:.0f} MB; the floor reads them at {nbytes / (fl_b / a.new_tokens) / 1e9:.1f} GB/s)")
        checks = [('eager', 'hf', 'ours eager vs transformers')]
        if 'fixed' in out: checks.append(('fixed', 'eager', 'ours fixed shapes vs ours eager'))
        if dev.type == 'cpu' and B == a.batches[0]:
            out['naive'] = naive_generate(ours, prompt, a.new_tokens, temperature=0); checks.append(('eager', 'naive', 'ours eager vs no cache'))
        for x, y, label in checks:
            d = first_difference(out[x], out[y])
            print(f"greedy tokens, {label}: " + ("identical" if d is None else f"differ first at row {d[0]}, position {d[1]}"))
    if a.json:
        with open(a.json, 'w') as f: json.dump(dict(machine=info, args=vars(a), results=results), f, indent=1)
    print(f"\nload average at end: {tuple(round(x, 2) for x in os.getloadavg())}")


if __name__ == '__main__':
    main()
