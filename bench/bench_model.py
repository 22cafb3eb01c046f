"""Speed of `slm_nb.model.GPT` against `transformers.GPT2LMHeadModel`, side by side in one process.

1. Training step (forward, backward, optimizer step) at two model shapes: the 30 M model of the
   original recipe (6 layers x 384, 6 heads) and the cpu-demo model (4 x 128, 4 heads), vocab 50257,
   block 128. Peers: transformers in float32 and under the same bfloat16 autocast; ours as `slm-train`
   runs it (loss only through `forward(..., return_logits=False)`, AdamW with the fused kernel where
   PyTorch has it) in float32 and in the precision `dtype='auto'` picks on this machine, and with
   `--compile` also under `torch.compile`.
2. Generation of new tokens (greedy) at batch 1 and 8: our KV cache against `transformers`' `generate`
   with its own cache (same weights, via `GPT.to_hf`), the naive recompute loop, and the memory floor:
   one matrix-vector product per weight matrix of the model (every weight read once), measured in the
   same run on the same weights, which is what one cached step must at least cost at batch 1.

Peers run interleaved (one of each per round) and medians are reported. The machine (CPU model, the
flags that matter: AVX2, AVX-512, AVX-512 BF16, AMX), PyTorch's CPU capability and the thread count
are printed first, so a change of machine shows at once what moved.

    python bench/bench_model.py                          # everything, about 10 minutes on 2 CPU cores
    python bench/bench_model.py --no-bf16                # as on a CPU without native bfloat16: float32 only
    python bench/bench_model.py --skip-train --gen-batches 1 8
    python bench/bench_model.py --quick                  # smoke test
"""
import argparse, os, platform, statistics, sys, time
import torch
import torch.nn.functional as F
from slm_nb.model import GPT, GPTConfig, naive_generate
from slm_nb.hardware import native_bf16, resolve_dtype
from slm_nb.optim import configure_optimizer

FLAGS = ('avx2', 'avx512f', 'avx512_bf16', 'amx_tile', 'amx_bf16')


def machine_info(args):
    cpu, flags = platform.processor(), set()
    try:
        info = open('/proc/cpuinfo').read().splitlines()
        cpu = next(l.split(':', 1)[1].strip() for l in info if l.startswith('model name'))
        flags = set(next(l.split(':', 1)[1].split() for l in info if l.startswith('flags')))
    except (OSError, StopIteration): pass
    import transformers
    print(f"machine: {cpu} | {os.cpu_count()} logical CPUs | torch threads {torch.get_num_threads()}")
    print(f"CPU flags: " + ', '.join(f"{f} {'yes' if f in flags else 'no'}" for f in FLAGS) +
          f" | torch CPU capability {torch.backends.cpu.get_cpu_capability()} | native bf16 (as torch reports it) {native_bf16('cpu')}")
    print(f"python {platform.python_version()} | torch {torch.__version__} | transformers {transformers.__version__}")
    print(f"dtype 'auto' here -> {args.auto_dtype}" + (" (bf16 disabled by --no-bf16)" if args.no_bf16 else ''))
    print("command: python " + " ".join(sys.argv))
    print(f"load average at start: {tuple(round(x, 2) for x in os.getloadavg())}")


def interleaved(peers, rounds):
    "Run each peer once per round, in turn; return {name: [seconds...]}."
    times = {k: [] for k in peers}
    for r in range(rounds):
        for name, fn in peers.items():
            t = time.perf_counter(); fn(); times[name].append(time.perf_counter() - t)
        print(f"  round {r + 1}/{rounds}: " + ", ".join(f"{k} {v[-1]:.3f}s" for k, v in times.items()), flush=True)
    return times


def hf_config(cfg):
    from transformers import GPT2Config
    return GPT2Config(vocab_size=cfg.vocab_size, n_positions=cfg.block_size, n_embd=cfg.n_embd, n_layer=cfg.n_layer,
                      n_head=cfg.n_head, activation_function='gelu_new', resid_pdrop=cfg.dropout,
                      embd_pdrop=cfg.dropout, attn_pdrop=cfg.dropout, layer_norm_epsilon=1e-5)


SHAPES = {'30M (6x384)': dict(n_layer=6, n_head=6, n_embd=384), 'cpu-demo (4x128)': dict(n_layer=4, n_head=4, n_embd=128)}


def bench_train(args, shape, kw):
    from transformers import GPT2LMHeadModel
    cfg = GPTConfig(dropout=0.0, **kw)
    B, T = args.batch, cfg.block_size
    print(f"\n== training step, {shape}: batch {B} x {T} = {B * T} tokens ==", flush=True)
    torch.manual_seed(0)
    ours, hf = GPT(cfg).train(), GPT2LMHeadModel(hf_config(cfg)).train()
    x, y = torch.randint(0, cfg.vocab_size, (B, T)), torch.randint(0, cfg.vocab_size, (B, T))
    o_opt = configure_optimizer(ours, verbose=False)                 # what slm-train uses (fused where available)
    h_opt = torch.optim.AdamW(hf.parameters(), lr=1e-4)              # the usual transformers setup

    def step(model, opt, loss_fn, dtype):
        def f():
            with torch.autocast('cpu', dtype=torch.bfloat16, enabled=dtype == 'bfloat16'): loss = loss_fn(model)
            loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        return f
    ours_loss = lambda m: m(x, y, return_logits=False)[1]
    hf_loss = lambda m: m(input_ids=x, labels=x).loss
    peers = {'transformers fp32': step(hf, h_opt, hf_loss, 'float32'),
             'ours fp32, logits + F.cross_entropy': step(ours, o_opt, lambda m: m(x, y)[1], 'float32'),
             'ours fp32 (slm-train path)': step(ours, o_opt, ours_loss, 'float32')}
    if args.auto_dtype == 'bfloat16':
        peers['transformers bf16 autocast'] = step(hf, h_opt, hf_loss, 'bfloat16')
        peers["ours dtype='auto' (bf16 autocast)"] = step(ours, o_opt, ours_loss, 'bfloat16')
    if args.compile:
        cm = torch.compile(ours)
        for dt in dict.fromkeys(['float32', args.auto_dtype]):        # the slm-train path with compile: fp32, and 'auto'
            name = f"ours compiled, {dt}" + (" (dtype='auto')" if dt == args.auto_dtype else '')
            peers[name] = step(cm, o_opt, ours_loss, dt)
            t = time.perf_counter(); peers[name](); print(f"  torch.compile warm-up {time.perf_counter() - t:.0f}s", flush=True)
    for f in peers.values(): f()                                      # warm-up: allocations, optimizer state
    times = interleaved(peers, args.rounds)
    ref = statistics.median(times['transformers fp32'])
    ref_bf = statistics.median(times['transformers bf16 autocast']) if 'transformers bf16 autocast' in times else None
    print(f"\n| training step, {shape}, batch {B}x{T} | median s/step | tokens/s | vs transformers fp32 |"
          + (" vs transformers bf16 |" if ref_bf else '') + "\n|---|---:|---:|---:|" + ("---:|" if ref_bf else ''))
    for k, v in times.items():
        m = statistics.median(v)
        print(f"| {k} | {m:.3f} | {B * T / m:,.0f} | {ref / m:.2f}x |" + (f" {ref_bf / m:.2f}x |" if ref_bf else ''))


def first_divergence(model, a, b):
    "Where two token tensors (B, L) first differ: (row, position, top-2 logit gap of `model` there), or None."
    diff = (a != b).nonzero()
    if not len(diff): return None
    row, pos = (int(v) for v in diff[diff[:, 1].argmin()])
    ctx = a[row:row + 1, max(0, pos - model.config.block_size):pos]
    with torch.inference_mode(): top2 = model(ctx)[0][0, -1].topk(2).values
    return row, pos, float(top2[0] - top2[1])


def memory_floor(model, B):
    "One step's unavoidable work at batch B: a matrix product of B rows with every weight matrix (each read once)."
    mats = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
    xs = {w.shape[1]: torch.randn(B, w.shape[1]) for w in mats}
    def f():
        with torch.inference_mode():
            for w in mats: F.linear(xs[w.shape[1]], w)
    return f, sum(w.numel() * w.element_size() for w in mats)


def bench_generate(args, shape, kw):
    from transformers import GPT2LMHeadModel  # noqa: F401  (to_hf needs it)
    cfg = GPTConfig(block_size=args.block_size, dropout=0.0, **kw)
    n_new, T0 = args.new_tokens, args.prompt
    if T0 + n_new > cfg.block_size: sys.exit(f"--prompt {T0} + --new-tokens {n_new} must fit in --block-size {cfg.block_size}")
    print(f"\n== generation, {shape}: {n_new} new tokens after a {T0}-token prompt, greedy, fp32, block {cfg.block_size} ==")
    torch.manual_seed(0)
    ours = GPT(cfg).eval()
    hf = ours.to_hf().eval()
    for B in args.gen_batches:
        prompt = torch.randint(0, cfg.vocab_size, (B, T0))
        out = {}
        floor, nbytes = memory_floor(ours, B)
        def run_ours(): out['ours'] = ours.generate(prompt, n_new, temperature=0)
        def run_naive(): out['naive'] = naive_generate(ours, prompt, n_new, temperature=0)
        def run_hf():
            with torch.inference_mode():
                out['hf'] = hf.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=n_new,
                                        min_new_tokens=n_new, do_sample=False, pad_token_id=0)
        def run_floor():
            for _ in range(n_new): floor()
        peers = {'ours (KV cache)': run_ours, 'transformers generate (its cache)': run_hf,
                 'memory floor (every weight read once per token)': run_floor}
        if not args.skip_naive: peers['naive recompute'] = run_naive
        run_ours(); run_hf(); run_floor()              # warm-up
        print(f"batch {B}: weights in the matrix products {nbytes / 1e6:.0f} MB", flush=True)
        times = interleaved(peers, args.rounds)
        med = {k: statistics.median(v) for k, v in times.items()}
        fl = med['memory floor (every weight read once per token)']
        print(f"\n| {shape}, batch {B}, {n_new} tokens | ms/token | tokens/s | ours is faster by | x memory floor |\n|---|---:|---:|---:|---:|")
        for k, m in med.items():
            print(f"| {k} | {1e3 * m / n_new:.2f} | {B * n_new / m:,.0f} | {m / med['ours (KV cache)']:.2f}x | {m / fl:.2f} |")
        print(f"(memory floor: {nbytes / (fl / n_new) / 1e9:.1f} GB/s of weights read)")
        for name in ('naive', 'hf'):
            if name not in out: continue
            d = first_divergence(ours, out['ours'], out[name].cpu())
            print(f"greedy tokens, ours vs {name}: " + ("identical" if d is None else
                  f"differ first at row {d[0]}, position {d[1]}, where our top two logits are {d[2]:.1e} apart (a tie to float rounding)"
                  if d[2] < 1e-4 else f"DIFFER at row {d[0]}, position {d[1]} with a top-2 logit gap of {d[2]:.1e}"))
        print()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=None, help='torch threads (default: as many as cores)')
    p.add_argument('--rounds', type=int, default=3, help='interleaved repeats per peer')
    p.add_argument('--batch', type=int, default=8, help='training batch')
    p.add_argument('--shapes', nargs='+', default=list(SHAPES), choices=list(SHAPES))
    p.add_argument('--prompt', type=int, default=56, help='prompt length for generation')
    p.add_argument('--new-tokens', type=int, default=200)
    p.add_argument('--gen-batches', type=int, nargs='+', default=[1, 8])
    p.add_argument('--block-size', type=int, default=256, help='block_size of the generation model (prompt + new tokens must fit)')
    p.add_argument('--skip-naive', action='store_true', help='leave the naive loop out of the generation table')
    p.add_argument('--compile', action='store_true', help='also time torch.compile(ours) in training')
    p.add_argument('--no-bf16', action='store_true', help="measure as on a CPU without native bf16 (dtype 'auto' -> float32)")
    p.add_argument('--skip-train', action='store_true'); p.add_argument('--skip-generate', action='store_true')
    p.add_argument('--quick', action='store_true', help='tiny run to check the script works')
    args = p.parse_args()
    if args.quick: args.rounds, args.batch, args.new_tokens, args.prompt, args.shapes = 1, 2, 10, 8, ['cpu-demo (4x128)']
    if args.threads: torch.set_num_threads(args.threads)
    args.auto_dtype = 'float32' if args.no_bf16 else resolve_dtype('auto', 'cpu')
    machine_info(args)
    t = time.perf_counter()
    for shape in args.shapes:
        if not args.skip_train: bench_train(args, shape, SHAPES[shape])
    for shape in args.shapes:
        if not args.skip_generate: bench_generate(args, shape, SHAPES[shape])
    print(f"total bench time {time.perf_counter() - t:.0f}s, load average at end: {tuple(round(x, 2) for x in os.getloadavg())}")


if __name__ == '__main__':
    main()
