"""Speed of `slm_nb.model.GPT` against `transformers.GPT2LMHeadModel`, side by side in one process.

1. Training step (forward, backward, AdamW step) on the seeds' configuration
   (6 layers x 384, 6 heads, vocab 50257, block 128, dropout 0.1), tokens/s.
2. Generation of 200 new tokens (greedy) at batch 1 and 8, same configuration with block_size 256
   so prompt + 200 tokens fit without cropping: our KV cache vs the naive recompute loop vs
   `transformers`' `generate` with its own cache (same weights, via `GPT.to_hf`). `--prompt` and `--block-size` change the context length.

Peers run interleaved (one of each per round) and we report medians over the rounds.

    python bench/bench_model.py                 # full run, about 5-10 minutes on 2 CPU cores
    python bench/bench_model.py --quick         # smoke test
    python bench/bench_model.py --skip-train --gen-batches 1 --prompt 512 --block-size 1024   # a long context
"""
import argparse, os, platform, statistics, sys, time
import torch
from slm_nb.model import GPT, GPTConfig, naive_generate


def machine_info(threads):
    cpu = platform.processor()
    try:
        cpu = next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): pass
    import transformers
    print(f"machine: {platform.node()} | {cpu} | {os.cpu_count()} logical CPUs | torch threads {threads}")
    print(f"python {platform.python_version()} | torch {torch.__version__} | transformers {transformers.__version__}")
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'
    print(f"GPU: {gpu}")
    print("command: python " + " ".join(sys.argv))
    print(f"load average at start: {os.getloadavg()}")


def interleaved(peers, rounds):
    "Run each peer once per round, in turn; return {name: [seconds...]}."
    times = {k: [] for k in peers}
    for r in range(rounds):
        for name, fn in peers.items():
            if fn is None: continue
            t = time.perf_counter(); fn(); times[name].append(time.perf_counter() - t)
        print(f"  round {r + 1}/{rounds}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items() if v), flush=True)
    return times


def hf_config(cfg):
    from transformers import GPT2Config
    return GPT2Config(vocab_size=cfg.vocab_size, n_positions=cfg.block_size, n_embd=cfg.n_embd, n_layer=cfg.n_layer,
                      n_head=cfg.n_head, activation_function='gelu_new', resid_pdrop=cfg.dropout,
                      embd_pdrop=cfg.dropout, attn_pdrop=cfg.dropout, layer_norm_epsilon=1e-5)


def bench_train(args):
    from transformers import GPT2LMHeadModel
    cfg = GPTConfig()                                  # the seeds' model, dropout 0.1 (both models)
    B, T = args.batch, cfg.block_size
    print(f"\n== training step: seed config {cfg}, batch {B} x {T} = {B * T} tokens, fp32 ==")
    torch.manual_seed(0)
    ours = GPT(cfg).train()
    hf = GPT2LMHeadModel(hf_config(cfg)).train()
    x = torch.randint(0, cfg.vocab_size, (B, T)); y = torch.randint(0, cfg.vocab_size, (B, T))
    opts = {'ours': torch.optim.AdamW(ours.parameters(), lr=1e-4),
            'ours_fused': torch.optim.AdamW(ours.parameters(), lr=1e-4, fused=True),
            'hf': torch.optim.AdamW(hf.parameters(), lr=1e-4),
            'hf_fused': torch.optim.AdamW(hf.parameters(), lr=1e-4, fused=True)}

    def ours_step(opt, **kw):
        def f():
            _, loss = ours(x, y, **kw); loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        return f

    def hf_step(opt):
        def f():
            loss = hf(input_ids=x, labels=x).loss; loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        return f

    peers = {'transformers GPT2LMHeadModel, AdamW': hf_step(opts['hf']),
             'ours, logits + F.cross_entropy, AdamW': ours_step(opts['ours']),
             'ours, lm_head_loss (return_logits=False), AdamW': ours_step(opts['ours'], return_logits=False),
             'ours, lm_head_loss, AdamW(fused=True)': ours_step(opts['ours_fused'], return_logits=False),
             'transformers, AdamW(fused=True)': hf_step(opts['hf_fused'])}
    if args.compile:
        cmodel = torch.compile(ours)
        def compiled():
            _, loss = cmodel(x, y, return_logits=False); loss.backward(); opts['ours_fused'].step()
            opts['ours_fused'].zero_grad(set_to_none=True)
        t = time.perf_counter(); compiled(); print(f"  torch.compile warm-up {time.perf_counter() - t:.0f}s")
        peers['ours compiled, lm_head_loss, AdamW(fused=True)'] = compiled
    for f in peers.values(): f()                       # warm-up (allocations, optimizer state)
    times = interleaved(peers, args.rounds)
    ref = statistics.median(times['transformers GPT2LMHeadModel, AdamW'])
    print(f"\n| training step, batch {B}x{T} | median s/step | tokens/s | vs transformers |\n|---|---:|---:|---:|")
    for k, v in times.items():
        m = statistics.median(v)
        print(f"| {k} | {m:.2f} | {B * T / m:,.0f} | {ref / m:.2f}x |")


def first_divergence(model, a, b):
    "Where two token tensors (B, L) first differ: (row, position, top-2 logit gap of `model` there), or None."
    diff = (a != b).nonzero()
    if not len(diff): return None
    row, pos = (int(v) for v in diff[diff[:, 1].argmin()])
    ctx = a[row:row + 1, max(0, pos - model.config.block_size):pos]
    with torch.inference_mode(): top2 = model(ctx)[0][0, -1].topk(2).values
    return row, pos, float(top2[0] - top2[1])


def bench_generate(args):
    from transformers import GPT2LMHeadModel  # noqa: F401  (to_hf needs it)
    cfg = GPTConfig(block_size=args.block_size, dropout=0.0)
    n_new, T0 = args.new_tokens, args.prompt
    if T0 + n_new > cfg.block_size: sys.exit(f"--prompt {T0} + --new-tokens {n_new} must fit in --block-size {cfg.block_size}")
    print(f"\n== generation: {n_new} new tokens after a {T0}-token prompt, greedy, config {cfg} ==")
    torch.manual_seed(0)
    ours = GPT(cfg).eval()
    hf = ours.to_hf().eval()
    for B in args.gen_batches:
        prompt = torch.randint(0, cfg.vocab_size, (B, T0))
        out = {}
        def run_ours(): out['ours'] = ours.generate(prompt, n_new, temperature=0)
        def run_naive(): out['naive'] = naive_generate(ours, prompt, n_new, temperature=0)
        def run_hf():
            with torch.inference_mode():
                out['hf'] = hf.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=n_new,
                                        min_new_tokens=n_new, do_sample=False, pad_token_id=0)
        peers = {'ours (KV cache)': run_ours,
                 'transformers generate (its cache)': run_hf, 'naive recompute': None if args.skip_naive else run_naive}
        run_ours(); run_hf()              # warm-up
        print(f"batch {B}:")
        times = interleaved(peers, args.rounds)
        med = {k: statistics.median(v) for k, v in times.items() if v}
        print(f"\n| generate {n_new} tokens, batch {B} | median s | ms/token | tokens/s | ours is faster by |\n|---|---:|---:|---:|---:|")
        for k, m in med.items():
            print(f"| {k} | {m:.2f} | {1e3 * m / n_new:.1f} | {B * n_new / m:,.0f} | {m / med['ours (KV cache)']:.1f}x |")
        for name in ('naive', 'hf'):
            if name not in out: continue
            d = first_divergence(ours, out['ours'], out[name].cpu())
            print(f"greedy tokens, ours vs {name}: " + ("identical" if d is None else
                  f"differ first at row {d[0]}, position {d[1]}, where our top two logits are {d[2]:.1e} apart (a tie to float rounding)"
                  if d[2] < 1e-4 else f"DIFFER at row {d[0]}, position {d[1]} with a top-2 logit gap of {d[2]:.1e}"))
        print()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--rounds', type=int, default=3, help='interleaved repeats per peer')
    p.add_argument('--batch', type=int, default=32, help='training batch (the seeds use 32)')
    p.add_argument('--prompt', type=int, default=56, help='prompt length for generation')
    p.add_argument('--new-tokens', type=int, default=200)
    p.add_argument('--gen-batches', type=int, nargs='+', default=[1, 8])
    p.add_argument('--block-size', type=int, default=256, help='block_size of the generation model (prompt + new tokens must fit)')
    p.add_argument('--skip-naive', action='store_true', help='leave the naive loop out of the generation table')
    p.add_argument('--compile', action='store_true', help='also time torch.compile(ours)')
    p.add_argument('--skip-train', action='store_true'); p.add_argument('--skip-generate', action='store_true')
    p.add_argument('--quick', action='store_true', help='tiny run to check the script works')
    args = p.parse_args()
    if args.quick: args.rounds, args.batch, args.new_tokens, args.prompt = 1, 2, 20, 8
    torch.set_num_threads(args.threads)
    machine_info(args.threads)
    t = time.perf_counter()
    if not args.skip_train: bench_train(args)
    if not args.skip_generate: bench_generate(args)
    print(f"total bench time {time.perf_counter() - t:.0f}s, load average at end: {os.getloadavg()}")


if __name__ == '__main__':
    main()
