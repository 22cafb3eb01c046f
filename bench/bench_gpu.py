"""GPU benchmark: slm_nb's training against transformers' GPT-2 in one run, the micro-batch sweep, the host's work per
step, and generation ms/token; MFU against the GPU's own peak.

    python bench/bench_gpu.py                        # on a GPU (not timed yet: compiling, once per loop and size, dominates)
    python bench/bench_gpu.py --sweep 32 64 256      # other micro-batches for the sweep
    python bench/bench_gpu.py --matrix               # also each preset eager/compiled x bf16/fp16 through train()
    python bench/bench_gpu.py --smoke                # tiny sizes on any machine (a minute or two on 2 busy cores): checks the script, not speed

What it measures, for a preset's shapes (default `tinystories-30m`, the original recipe: 32 x 128 tokens a
micro-batch, 32 micro-batches a step):

- **peers, one loop**: the training loop a user would write (AdamW fused on CUDA, bf16 autocast, or fp16 where bf16
  is not native, gradient clipping at 1.0, grad accumulation, default `torch.compile`), run with transformers'
  `GPT2LMHeadModel` and with `slm_nb.model.GPT` of the same configuration, then `slm_nb`'s own `train()` (the path
  `slm-train` takes: micro_batch 'auto', compiled), with the ratios;
- **micro_batch sweep**: `train()` at micro_batch 'auto' and at the sizes given, the data and the step unchanged;
- **host work per step**: drawing and reading one step's sequences the earlier way (a `get_batch` per micro-batch)
  and with `slm_nb.step` (one draw, one read, one copy), on the device in use; on a CPU also a whole small step;
- **generation**: ms per new token at batch 1 and 8 (cached decoding, random weights).

Tokens/s are medians over timed steps after warm-up steps (compilation happens there). MFU counts
`GPT.flops_per_token` (6N + attention) against the GPU's dense bf16/fp16 tensor peak, looked up by name in PEAK_FLOPS
("unknown" when the name is not there). Prints the GPU, the versions and markdown tables; --json writes the figures."""
import argparse, inspect, json, os, platform, statistics, sys, tempfile, time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

import slm_nb
import slm_nb.runner
from slm_nb.batch import get_batch, load_split
from slm_nb.config import PRESETS, get_preset
from slm_nb.model import GPT, GPTConfig
from slm_nb.step import choose_micro_batch, rank_share, step_batch, step_offsets, train_step
from slm_nb.tokenize import prepare
from slm_nb.train import read_history, train

# dense bf16/fp16 tensor-core FLOP/s (no sparsity), by a fragment of torch.cuda.get_device_name(); the first match wins,
# so a more specific name comes before a name it contains (H100 PCIe before H100, A100 before A10, L40S before L4)
PEAK_FLOPS = [('H100 PCIe', 756e12), ('H100 NVL', 835e12), ('H100', 989e12), ('H200', 989e12), ('GH200', 989e12),
              ('B200', 2250e12), ('A100', 312e12), ('A10G', 70e12), ('A10', 125e12), ('A30', 165e12), ('L40S', 362e12),
              ('L40', 181e12), ('L4', 121e12), ('T4', 65e12), ('V100', 125e12), ('RTX 4090', 165e12), ('RTX 3090', 71e12),
              ('A6000', 155e12)]

def peak_flops(name:str):
    "(peak FLOP/s, the table's name for it), or (None, 'unknown') for a GPU not in PEAK_FLOPS."
    return next(((v, k) for k, v in PEAK_FLOPS if k.lower() in name.lower()), (None, 'unknown'))

def machine(device) -> dict:
    import transformers
    info = dict(torch=torch.__version__, transformers=transformers.__version__, slm_nb=slm_nb.__version__,
                python=platform.python_version(), cpu=platform.processor() or platform.machine(), cores=os.cpu_count())
    if device == 'cuda':
        p = torch.cuda.get_device_properties(0)
        peak, key = peak_flops(p.name)
        info.update(gpu=p.name, capability=f"{p.major}.{p.minor}", memory_gib=round(p.total_memory / 2**30), cuda=torch.version.cuda,
                    peak_flops=peak, peak_key=key)
    return info

def sync(device):
    if device == 'cuda': torch.cuda.synchronize()

def autocast(device, dtype):
    return nullcontext() if dtype == torch.float32 else torch.autocast(device, dtype=dtype)

def hf_model(c:GPTConfig):
    "transformers' GPT2LMHeadModel of the same shape as slm_nb's GPTConfig `c`."
    from transformers import GPT2Config, GPT2LMHeadModel
    hc = GPT2Config(vocab_size=c.vocab_size, n_positions=c.block_size, n_embd=c.n_embd, n_layer=c.n_layer, n_head=c.n_head,
                    resid_pdrop=c.dropout, embd_pdrop=c.dropout, attn_pdrop=c.dropout)
    return GPT2LMHeadModel(hc)

def raw_loop(model, kind, cfg, data, device, dtype, compiled, steps, warmup):
    "The loop a user would write: tokens/s (median of timed steps), warm-up seconds (compilation), peak GiB."
    model = model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1, fused=device == 'cuda')
    m = torch.compile(model) if compiled else model
    ctx, g = autocast(device, dtype), torch.Generator().manual_seed(0)
    scaler = torch.amp.GradScaler(device, enabled=dtype == torch.float16)
    B, T, G = cfg.batch_size, cfg.block_size, cfg.grad_accum_steps
    def step():
        for _ in range(G):
            x, y = get_batch(data, B, T, device=device, generator=g)
            with ctx: loss = m(input_ids=x, labels=x).loss if kind == 'hf' else m(x, y)[1]   # transformers shifts labels itself
            scaler.scale(loss / G).backward()
        scaler.unscale_(opt); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt); scaler.update(); opt.zero_grad(set_to_none=True)
    if device == 'cuda': torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(warmup): step()
    sync(device); warm = time.perf_counter() - t0
    times = []
    for _ in range(steps):
        t = time.perf_counter(); step(); sync(device); times.append(time.perf_counter() - t)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == 'cuda' else None
    return dict(tokens_per_s=B * T * G / statistics.median(times), warmup_s=warm, peak_gib=peak)

def via_train(cfg, device):
    "slm_nb's train() for cfg.max_iters steps: tokens/s (median of the logged intervals after the first), peak GiB, wall s."
    if device == 'cuda': torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
    t0 = time.time()
    res = train(cfg, quiet=True)
    wall = time.time() - t0
    rows = [r for r in read_history(res['history']) if r['kind'] == 'train']
    tps = statistics.median(r['tokens_per_sec'] for r in rows[1:]) if len(rows) > 1 else rows[-1]['tokens_per_sec']
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == 'cuda' else None
    del res
    return dict(tokens_per_s=tps, warmup_s=None, peak_gib=peak, wall_s=wall)

def host_step(data, cfg, device, repeats):
    "ms of host work (and the copy to the device) for one step's sequences, fastest of interleaved rounds: a get_batch per micro-batch vs slm_nb.step."
    B, T, G, S = cfg.batch_size, cfg.block_size, cfg.grad_accum_steps, cfg.batch_size * cfg.grad_accum_steps
    def old(g):
        for _ in range(G): get_batch(data, B, T, device=device, generator=g)
    def new(g): step_batch(data, rank_share(step_offsets(len(data), S, T, g), 0, 1), T, device)
    out = {}
    for name, f in (('get_batch per micro-batch', old), ('slm_nb.step: one draw, one read, one copy', new)) * 2:  # interleaved
        g = torch.Generator().manual_seed(0); f(g); sync(device)
        ts = []
        for _ in range(repeats):
            t = time.perf_counter(); f(g); sync(device); ts.append(time.perf_counter() - t)
        out.setdefault(name, []).extend(ts)
    return {k: min(v) * 1e3 for k, v in out.items()}          # the fastest: other work on the machine only slows a run down

def cpu_step(data, cfg, repeats):
    "On a CPU: one whole small optimizer step, fastest of interleaved rounds: runner's step vs slm_nb.step.train_step (micro_batch batch_size)."
    from slm_nb.optim import configure_optimizer, make_grad_scaler
    from slm_nb.runner import _train_step
    out = {}
    for name, f in (('runner step (a get_batch per micro-batch)', _train_step), ('slm_nb.step.train_step', train_step)) * 2:
        torch.manual_seed(0); m = GPT(GPTConfig(**cfg.model_config()))
        opt, sc, g = configure_optimizer(m, cfg, verbose=False), make_grad_scaler('float32', 'cpu'), torch.Generator().manual_seed(0)
        f(m, m, opt, sc, data, cfg, 1e-4, g, nullcontext(), 'cpu', 0, 1)
        ts = []
        for _ in range(repeats):
            t = time.perf_counter(); f(m, m, opt, sc, data, cfg, 1e-4, g, nullcontext(), 'cpu', 0, 1); ts.append(time.perf_counter() - t)
        out.setdefault(name, []).extend(ts)
    return {k: min(v) * 1e3 for k, v in out.items()}

def bench_generate(c:GPTConfig, batch, new_tokens, dtype, device):
    "ms per new token of cached generation (random weights), median of 3 after one warm-up."
    torch.manual_seed(0)
    m = GPT(c).to(device).eval()
    idx = torch.randint(0, c.vocab_size, (batch, 16), device=device)
    times = []
    for _ in range(4):
        sync(device); t0 = time.perf_counter()
        with autocast(device, dtype): m.generate(idx, new_tokens, temperature=1.0, top_k=200)
        sync(device); times.append((time.perf_counter() - t0) / new_tokens * 1e3)
    return statistics.median(times[1:])

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--preset', default='tinystories-30m', choices=list(PRESETS), help="the shapes to measure")
    ap.add_argument('--steps', type=int, default=8, help='timed optimizer steps per measurement')
    ap.add_argument('--warmup', type=int, default=2, help='untimed steps first (compilation)')
    ap.add_argument('--sweep', nargs='*', type=int, default=[32, 256], help="micro_batch sizes for train() beside 'auto'")
    ap.add_argument('--eager', action='store_true', help='no torch.compile (peers and train())')
    ap.add_argument('--skip-peers', action='store_true'); ap.add_argument('--skip-generate', action='store_true')
    ap.add_argument('--matrix', action='store_true', help='also every preset eager/compiled x bf16/fp16 through train() (slow)')
    ap.add_argument('--smoke', action='store_true', help='tiny sizes, seconds, on any device: checks that the script runs')
    ap.add_argument('--json', help='write the figures to this file')
    a = ap.parse_args()
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if device == 'cpu' and not a.smoke: sys.exit("bench_gpu.py needs a CUDA GPU; none is visible to this PyTorch (--smoke runs it on tiny sizes here)")
    info = machine(device)
    if a.smoke: print(f"SMOKE RUN on {device}: tiny sizes, a few steps, float32 eager on a CPU; the figures check the script, "
                      "they say nothing about speed", flush=True)
    print(' | '.join(f"{k} {v}" for k, v in info.items() if v is not None), flush=True)
    bf16 = device == 'cuda' and torch.cuda.get_device_capability(0)[0] >= 8
    dtype = torch.bfloat16 if bf16 else torch.float16 if device == 'cuda' else torch.float32
    dname = str(dtype).replace('torch.', '')
    compiled = device == 'cuda' and not a.eager
    steps, warmup = (2, 1) if a.smoke else (a.steps, a.warmup)
    shape = dict(n_layer=2, n_head=2, n_embd=32, block_size=32, batch_size=4, grad_accum_steps=2) if a.smoke else {}
    peak = info.get('peak_flops')
    out = dict(machine=info, smoke=a.smoke, preset=a.preset, dtype=dname, compiled=compiled, peers=[], sweep=[], host={}, generate=[])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        prepare('synthetic', tmp/'data', quiet=True)
        data = load_split(tmp/'data', 'train')
        base = get_preset(a.preset, **shape)
        runcfg = lambda tag, **kw: get_preset(a.preset, **{**shape, 'data': 'synthetic', 'data_dir': str(tmp/'data'),
            'out_dir': str(tmp/'runs'/tag), 'max_iters': warmup + steps, 'lr_decay_iters': PRESETS[a.preset].get('max_iters', 625),
            'eval_interval': 10**9, 'eval_iters': 1, 'log_interval': 1, 'save_checkpoints': False, 'device': device,
            'dtype': dname, 'compile': compiled, **kw})
        gcfg = GPTConfig(**base.model_config())
        flops = GPT(gcfg).flops_per_token()                  # training FLOPs a token, the same for both models
        mfu = lambda tps: None if peak is None else tps * flops / peak
        tps_step = base.tokens_per_step()
        peak_s = 'unknown' if peak is None else f"{peak / 1e12:.0f} TFLOP/s ({info['peak_key']})"
        print(f"\n{a.preset}{' (shrunk for the smoke run)' if a.smoke else ''}: {base.batch_size} x {base.block_size} tokens x {base.grad_accum_steps} micro-batches = {tps_step:,} tokens "
              f"a step; {flops / 1e6:.0f} MFLOP a token; {dname}, {'compiled' if compiled else 'eager'}; peak {peak_s}", flush=True)
        # what 'auto' picks here, said once
        torch.manual_seed(0)
        probe_model = GPT(gcfg).to(device)
        mb_auto, why = choose_micro_batch(runcfg('probe'), probe_model, device, autocast(device, dtype))
        del probe_model
        wired = 'micro_batch' in inspect.signature(slm_nb.runner._train_step).parameters
        if not wired:                                         # a runner from before slm_nb.step
            mb_auto, why = base.batch_size, f"{why}; but this version's train() ignores micro_batch: it runs batch_size ({base.batch_size})"
        print(why, flush=True)
        out['auto_micro_batch'], out['auto_reason'] = mb_auto, why
        rows = []
        def show(r):
            m = mfu(r['tokens_per_s'])
            ms = 'unknown' if m is None else f"{m:6.1%}"
            print(f"  {r['what']:58s} {r['tokens_per_s']:>12,.0f} tok/s  MFU {ms}"
                  + (f"  peak {r['peak_gib']:.1f} GiB" if r.get('peak_gib') is not None else '')
                  + (f"  warm-up {r['warmup_s']:.0f} s" if r.get('warmup_s') else ''), flush=True)
            r['mfu'] = m; rows.append(r)
        if not a.skip_peers:
            print("\npeers (the same loop; then slm_nb's train()):", flush=True)
            for kind, make, what in (('hf', hf_model, "transformers GPT2LMHeadModel, the user's loop"),
                                     ('ours', GPT, "slm_nb GPT, the user's loop")):
                torch.manual_seed(0)
                try: r = raw_loop(make(gcfg), kind, base, data, device, dtype, compiled, steps, warmup)
                except Exception as e:
                    print(f"  {what}: failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}", flush=True); continue
                r.update(what=what, kind=kind, micro_batch=base.batch_size); show(r); out['peers'].append(r)
        try:
            r = via_train(runcfg('auto', micro_batch='auto'), device)
            r.update(what=f"slm_nb train(), micro_batch auto ({mb_auto})", kind='train', micro_batch=mb_auto); show(r)
            out['peers'].append(r); out['sweep'].append(r)
        except Exception as e: print(f"  train() auto: failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}", flush=True)
        by = {r['kind']: r['tokens_per_s'] for r in out['peers']}
        if 'hf' in by:
            out['ratios'] = {k: by[k] / by['hf'] for k in ('ours', 'train') if k in by}
            print("  vs transformers in the same loop: " + ', '.join(f"{k} {v:.2f}x" for k, v in out['ratios'].items()), flush=True)
        sizes = [s for s in a.sweep if s != mb_auto]
        if a.smoke: sizes = [s for s in (1, 2) if s != mb_auto]
        if sizes: print(f"\nmicro_batch sweep through train() (the same {tps_step:,}-token steps):", flush=True)
        for s in sizes:
            if (base.batch_size * base.grad_accum_steps) % s: print(f"  micro_batch {s}: does not divide the step, skipped"); continue
            try: r = via_train(runcfg(f'mb{s}', micro_batch=s), device)
            except Exception as e:
                print(f"  micro_batch {s}: failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}", flush=True); continue
            r.update(what=f"slm_nb train(), micro_batch {s}" + ('' if wired else ' (ignored: batch_size)'), kind='train',
                     micro_batch=s if wired else base.batch_size); show(r); out['sweep'].append(r)
        full = get_preset(a.preset)                           # the preset's own shapes, also in a smoke run: it is cheap
        print(f"\nhost work per step ({full.batch_size} x {full.grad_accum_steps} sequences of {full.block_size}, to {device}):", flush=True)
        out['host'] = host_step(data, full, device, 10 if a.smoke else 20)
        for k, v in out['host'].items(): print(f"  {k:45s} {v:8.2f} ms", flush=True)
        if device == 'cpu':
            small = get_preset('test', **shape) if a.smoke else get_preset('test')
            out['cpu_step'] = cpu_step(data, small, 3 if a.smoke else 10)
            print(f"a whole CPU step of the 'test' preset's model ({small.batch_size} x {small.block_size} tokens x {small.grad_accum_steps}), "
                  "fastest of interleaved rounds:", flush=True)
            for k, v in out['cpu_step'].items(): print(f"  {k:45s} {v:8.2f} ms", flush=True)
        if a.matrix and not a.smoke:
            out['matrix'] = []
            print("\npresets through train() (eager/compiled x dtypes):", flush=True)
            for preset in ('tinystories-30m', 'colab-t4', 'colab-a100'):
                for comp in (False, True):
                    for dt in (('bfloat16', 'float16') if bf16 else ('float16',)):
                        tag = f"{preset}-{comp}-{dt}"
                        c = get_preset(preset, data='synthetic', data_dir=str(tmp/'data'), out_dir=str(tmp/'runs'/tag), max_iters=warmup + steps,
                                       lr_decay_iters=PRESETS[preset].get('max_iters', 625), eval_interval=10**9, eval_iters=1, log_interval=1,
                                       save_checkpoints=False, device=device, dtype=dt, compile=comp)
                        try: r = via_train(c, device)
                        except Exception as e: print(f"  {tag}: failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}"); continue
                        full = get_preset(preset)
                        r.update(what=tag, whole_run_min=full.max_iters * full.tokens_per_step() / r['tokens_per_s'] / 60)
                        print(f"  {tag:40s} {r['tokens_per_s']:>12,.0f} tok/s  peak {r['peak_gib']:.1f} GiB  whole run {r['whole_run_min']:.1f} min", flush=True)
                        out['matrix'].append(r)
    if not a.skip_generate:
        c = GPTConfig(**base.model_config())
        for b in (1, 8):
            for d in ((torch.float32, dtype) if dtype != torch.float32 else (torch.float32,)):
                ms = bench_generate(c, b, 5 if a.smoke else 100, d, device)
                out['generate'].append(dict(batch=b, dtype=str(d).replace('torch.', ''), ms_per_token=ms))
    print(f"\n| {a.preset}, {dname}{', compiled' if compiled else ''} | micro-batch | tokens/s | MFU | peak GiB | vs transformers |\n|---|---:|---:|---:|---:|---:|")
    hf = next((r['tokens_per_s'] for r in out['peers'] if r['kind'] == 'hf'), None)
    for r in out['peers'] + [r for r in out['sweep'] if r not in out['peers']]:
        m = 'unknown' if r['mfu'] is None else f"{r['mfu']:.1%}"
        gib = '' if r.get('peak_gib') is None else f"{r['peak_gib']:.1f}"
        vs = '' if hf is None else f"{r['tokens_per_s'] / hf:.2f}x"
        print(f"| {r['what']} | {r['micro_batch']} | {r['tokens_per_s']:,.0f} | {m} | {gib} | {vs} |")
    if out['generate']:
        print("\n| batch | dtype | ms per new token |\n|---:|---|---:|")
        for g in out['generate']: print(f"| {g['batch']} | {g['dtype']} | {g['ms_per_token']:.2f} |")
    if a.json: Path(a.json).write_text(json.dumps(out, indent=2, default=str))

if __name__ == '__main__': main()
