"""Training recipe: slm_nb's (`slm_nb.optim`) against the original recipe, same model, data and compute (notebook 08).

Both recipes train the `cpu-demo` model shape (4 layers x 4 heads x 128 wide, block 128, batch 16 x 1
micro-batch, GPT-2 vocabulary, float32 on CPU) from the same initial weights on the same training batches
for the same number of optimizer steps. They run *interleaved step by step* in one process (recipe A's step
k, then recipe B's step k, ...), so background load on the machine hits both alike; the wall time of every
step is recorded per recipe. Both are evaluated every `--eval_every` steps with
`slm_nb.evaluate.estimate_loss` on the same fixed windows (a generator re-seeded for every evaluation).

- ours: `configure_optimizer` (AdamW, weight decay 0.1 on matrices/embeddings only, eps 1e-8,
  betas (0.9, 0.95)), `get_lr` (linear warmup to `learning_rate`, cosine down to `min_lr`, once per
  optimizer step) with the cpu-demo rates (2e-3 -> 2e-4, 10 warmup steps), grad clip 1.0 applied by
  `clip_and_step`, dropout 0.0 (cpu-demo's).
- original: as its description writes it: `AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95),
  weight_decay=0.1, eps=1e-9)` (every parameter decayed), `SequentialLR([LinearLR(total_iters=warmup),
  CosineAnnealingLR(T_max=max_iters - warmup, eta_min=5e-4)], milestones=[warmup])` (so the rate climbs
  from 1e-4/3 to 1e-4, then *rises* along a cosine to 5e-4), `scheduler.step()` after every micro-batch,
  `clip_grad_norm_(0.5)` (before any unscale: a no-op difference in float32), dropout 0.1. The original recipe's run
  lengths (20,000 micro-batches, 1,000 of them warmup) are scaled to this run keeping their proportions:
  max_iters = steps x grad_accum micro-batches, warmup = 5 % of that.

Corpora: the built-in synthetic stories (`prepare('synthetic', tmp)`) and the real TinyStories sample
(`prepare(path, tmp)`); tokenized into temporary folders, never into the project.

    python bench/recipe_vs_original.py [--steps 150] [--eval_every 15] [--eval_iters 4] [--threads N] [--real PATH]

Writes bench/recipe_vs_original.json and bench/recipe_vs_original.png (next to this script).
"""
import argparse, json, math, os, platform, statistics, sys, tempfile, time
from pathlib import Path

import torch
from torch import nn

from slm_nb.batch import load_split, get_batch
from slm_nb.config import get_preset
from slm_nb.evaluate import estimate_loss
from slm_nb.model import GPT, GPTConfig
from slm_nb.optim import configure_optimizer, get_lr, set_lr, clip_and_step
from slm_nb.hardware import make_grad_scaler
from slm_nb.tokenize import prepare

HERE = Path(__file__).resolve().parent
REAL_DEFAULT = os.environ.get('TINYSTORIES_SAMPLE')   # a .txt of real TinyStories text, for --corpora tinystories_sample

# the original recipe, as its description gives it
ORIGINAL = dict(learning_rate=1e-4, min_lr=5e-4, max_iters=20_000, warmup_steps=1_000, weight_decay=0.1,
            betas=(0.9, 0.95), eps=1e-9, grad_clip=0.5, dropout=0.1)


class Ours:
    "slm_nb's recipe: decay groups, warmup + cosine decay once per optimizer step, clip after unscale."
    name = 'slm_nb'
    def __init__(self, cfg, init_state):
        self.cfg = cfg
        self.model = GPT(GPTConfig(**cfg.model_config()))     # dropout: cfg.dropout (0.0 for cpu-demo)
        self.model.load_state_dict(init_state)
        self.opt = configure_optimizer(self.model, cfg, verbose=False)
        self.scaler = make_grad_scaler('float32', 'cpu')
        self.sampler = torch.Generator().manual_seed(cfg.seed)
        self.step_no, self.lrs = 0, []

    def step(self, data):
        cfg = self.cfg
        lr = set_lr(self.opt, get_lr(self.step_no, cfg))
        total = 0.0
        for _ in range(cfg.grad_accum_steps):
            x, y = get_batch(data, cfg.batch_size, cfg.block_size, generator=self.sampler)
            _, loss = self.model(x, y, return_logits=False)
            (loss / cfg.grad_accum_steps).backward()
            total += loss.item()
        clip_and_step(self.opt, self.scaler, self.model, cfg.grad_clip)
        self.step_no += 1; self.lrs.append(lr)
        return total / cfg.grad_accum_steps


class Original:
    "The original recipe: one AdamW group, a rising 'cosine', the scheduler stepped on every micro-batch, clip 0.5."
    name = 'original'
    def __init__(self, cfg, init_state, steps):
        self.cfg = cfg
        self.model = GPT(GPTConfig(**{**cfg.model_config(), 'dropout': ORIGINAL['dropout']}))
        self.model.load_state_dict(init_state)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=ORIGINAL['learning_rate'], betas=ORIGINAL['betas'],
                                     weight_decay=ORIGINAL['weight_decay'], eps=ORIGINAL['eps'])
        self.accum = cfg.grad_accum_steps
        # their schedule counts micro-batches; keep its proportions over this run's micro-batches
        self.max_iters = steps * self.accum
        self.warmup = max(1, round(self.max_iters * ORIGINAL['warmup_steps'] / ORIGINAL['max_iters']))
        warm = torch.optim.lr_scheduler.LinearLR(self.opt, total_iters=self.warmup)
        decay = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt, T_max=self.max_iters - self.warmup, eta_min=ORIGINAL['min_lr'])
        self.sched = torch.optim.lr_scheduler.SequentialLR(self.opt, schedulers=[warm, decay], milestones=[self.warmup])
        self.scaler = torch.amp.GradScaler('cpu', enabled=False)   # their fp16 scaler; disabled in float32
        self.sampler = torch.Generator().manual_seed(cfg.seed)
        self.micro, self.lrs = 0, []

    def step(self, data):
        "One optimizer step = `accum` micro-batches of their loop body."
        cfg, total = self.cfg, 0.0
        lr = self.opt.param_groups[0]['lr']
        for _ in range(self.accum):
            x, y = get_batch(data, cfg.batch_size, cfg.block_size, generator=self.sampler)
            _, loss = self.model(x, y, return_logits=False)
            self.scaler.scale(loss / self.accum).backward()
            total += loss.item()
            self.micro += 1
            if self.micro % self.accum == 0 or self.micro == self.max_iters:
                nn.utils.clip_grad_norm_(self.model.parameters(), max_norm=ORIGINAL['grad_clip'])  # before unscale, as the original does
                self.scaler.step(self.opt); self.scaler.update()
                self.opt.zero_grad(set_to_none=True)
            self.sched.step()                       # every micro-batch, as the original does
        self.lrs.append(lr)
        return total / self.accum


def machine_info():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'): cpu = line.split(':', 1)[1].strip(); break
    except OSError: pass
    return dict(cpu=cpu, logical_cpus=os.cpu_count(), torch_threads=torch.get_num_threads(),
                python=platform.python_version(), torch=torch.__version__, platform=platform.platform())


def run_corpus(label, source, tmp, a, base):
    t0 = time.perf_counter()
    ddir = Path(tmp)/label
    meta = prepare(source, ddir, quiet=True, num_proc=1)
    train_data, val_data = load_split(ddir, 'train'), load_split(ddir, 'validation')
    print(f"\n== {label}: {len(train_data):,} train / {len(val_data):,} validation tokens "
          f"(prepared in {time.perf_counter() - t0:.1f} s)", flush=True)
    cfg = base
    torch.manual_seed(cfg.seed)
    init = GPT(GPTConfig(**cfg.model_config())).state_dict()           # the same initial weights for both
    init = {k: v.clone() for k, v in init.items()}
    recipes = [Ours(cfg, init), Original(cfg, init, a.steps)]
    splits = {'train': train_data, 'validation': val_data}
    curves = {r.name: [] for r in recipes}
    times = {r.name: [] for r in recipes}
    batch_losses = {r.name: [] for r in recipes}
    tps = cfg.tokens_per_step()

    def evaluate(step):
        for r in recipes:
            l = estimate_loss(r.model, splits, cfg.batch_size, cfg.block_size, a.eval_iters,
                              generator=torch.Generator().manual_seed(a.eval_seed))
            lr = r.lrs[-1] if r.lrs else None
            curves[r.name].append(dict(step=step, tokens=step * tps, train_loss=round(l['train'], 5),
                                       val_loss=round(l['validation'], 5), lr=lr))
        print(f"step {step:4d} | " + " | ".join(f"{n}: val {c[-1]['val_loss']:.4f} train {c[-1]['train_loss']:.4f}"
                                                 for n, c in curves.items()), flush=True)

    torch.manual_seed(cfg.seed)    # dropout draws (the original recipe only)
    evaluate(0)
    for step in range(1, a.steps + 1):
        order = recipes if step % 2 else recipes[::-1]    # alternate who goes first
        for r in order:
            t = time.perf_counter()
            batch_losses[r.name].append(round(r.step(train_data), 5))
            times[r.name].append(time.perf_counter() - t)
        if step % a.eval_every == 0 or step == a.steps: evaluate(step)
    # both recipes saw exactly the same training windows
    assert recipes[0].sampler.get_state().equal(recipes[1].sampler.get_state())
    out = dict(source=str(source), train_tokens=len(train_data), validation_tokens=len(val_data),
               prepare_meta={k: v for k, v in meta.items() if k in ('splits', 'source', 'n_stories', 'val_fraction')},
               curves=curves, batch_train_loss=batch_losses,
               lr={r.name: r.lrs for r in recipes},
               step_time_s={n: dict(median=statistics.median(v), mean=statistics.fmean(v), total=sum(v),
                                    all=[round(x, 4) for x in v]) for n, v in times.items()},
               original_schedule=dict(max_iters_micro=recipes[1].max_iters, warmup_micro=recipes[1].warmup),
               elapsed_s=time.perf_counter() - t0)
    for n, v in times.items():
        print(f"{label} {n}: median {statistics.median(v)*1000:.0f} ms/step, total {sum(v):.0f} s; "
              f"final val {curves[n][-1]['val_loss']:.4f}", flush=True)
    return out


def plot(res, path):
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(res['corpora']), figsize=(6 * len(res['corpora']), 4.2), squeeze=False)
    axes = axes[0]
    style = {'slm_nb': dict(color='C0', label='slm_nb recipe'), 'original': dict(color='C3', label='original recipe')}
    for ax, (label, c) in zip(axes, res['corpora'].items()):
        for name, pts in c['curves'].items():
            s = [p['step'] for p in pts]
            ax.plot(s, [p['val_loss'] for p in pts], '-o', ms=3, **style[name])
            ax.plot(s, [p['train_loss'] for p in pts], ':', color=style[name]['color'], alpha=0.7,
                    label=f"{style[name]['label']} (train)")
        ax.set_title(f"{label}: {c['train_tokens']:,} train tokens")
        ax.set_xlabel(f"optimizer step ({res['tokens_per_step']:,} tokens each)"); ax.set_ylabel('loss (nats)')
        ax.set_ylim(top=min(11.5, ax.get_ylim()[1])); ax.grid(alpha=0.3); ax.legend()
    fig.suptitle('validation (solid) and train (dotted) loss, same model, data and steps', fontsize=10)
    fig.tight_layout(); fig.savefig(path, dpi=110); plt.close(fig)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--steps', type=int, default=150, help='optimizer steps per recipe and corpus')
    p.add_argument('--eval_every', type=int, default=15)
    p.add_argument('--eval_iters', type=int, default=4, help='batches per split per evaluation')
    p.add_argument('--eval_seed', type=int, default=1)
    p.add_argument('--real', default=REAL_DEFAULT, help='a .txt of real TinyStories text (default: $TINYSTORIES_SAMPLE)')
    p.add_argument('--corpora', default='synthetic,tinystories_sample', help='which corpora, comma-separated')
    p.add_argument('--merge', nargs='+', default=None, help='only combine the corpora of these result JSONs into --out')
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch\'s choice)')
    p.add_argument('--out', default=str(HERE/'recipe_vs_original'), help='output path without extension')
    a = p.parse_args()
    if a.merge: return merge(a.merge, a.out)
    if 'tinystories_sample' in a.corpora and not (a.real and Path(a.real).is_file()):
        sys.exit(f"real text {a.real} not found: pass --real PATH (a .txt of stories) or set TINYSTORIES_SAMPLE")
    if a.threads: torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    base = get_preset('cpu-demo', tokenizer='gpt2', vocab_size=50257, max_iters=a.steps)   # GPT-2's ids, as the original recipe
    info = machine_info()
    cmd = 'python ' + ' '.join([os.path.relpath(sys.argv[0], HERE.parent)] + sys.argv[1:])
    print(f"command: {cmd}\nmachine: {info}\nload average at start: {os.getloadavg()}")
    print(base.describe())
    res = dict(command=cmd, machine=info, torch=torch.__version__, load_avg_start=os.getloadavg(),
               model=dict(n_layer=base.n_layer, n_head=base.n_head, n_embd=base.n_embd, block_size=base.block_size,
                          vocab_size=base.vocab_size),
               steps=a.steps, batch_size=base.batch_size, grad_accum_steps=base.grad_accum_steps,
               tokens_per_step=base.tokens_per_step(), eval_every=a.eval_every, eval_iters=a.eval_iters,
               order='interleaved step by step in one process (first mover alternates)',
               recipes=dict(slm_nb=dict(optimizer='configure_optimizer (decay on 2-D params only)',
                                        schedule=f'get_lr: warmup {base.warmup_iters} steps to {base.learning_rate}, '
                                                 f'cosine to {base.min_lr} at step {base.decay_iters}, per optimizer step',
                                        weight_decay=base.weight_decay, betas=list(base.betas), eps=base.eps,
                                        grad_clip=base.grad_clip, dropout=base.dropout),
                            original=dict(optimizer='AdamW(model.parameters()) (every parameter decayed)',
                                       schedule='SequentialLR(LinearLR(total_iters=warmup), CosineAnnealingLR('
                                                'T_max=max_iters-warmup, eta_min=5e-4)) from lr 1e-4, per micro-batch; '
                                                'warmup = 5% of the run as in 1,000/20,000',
                                       weight_decay=ORIGINAL['weight_decay'], betas=list(ORIGINAL['betas']), eps=ORIGINAL['eps'],
                                       grad_clip=ORIGINAL['grad_clip'], dropout=ORIGINAL['dropout'])),
               corpora={})
    with tempfile.TemporaryDirectory() as tmp:
        for label, src in (('synthetic', 'synthetic'), ('tinystories_sample', a.real)):
            if label not in a.corpora.split(','): continue
            res['corpora'][label] = run_corpus(label, src, tmp, a, base)
            Path(a.out + '.json').write_text(json.dumps(res, indent=1))   # partial results survive an interrupted run
    res['load_avg_end'] = os.getloadavg()
    res['total_s'] = time.perf_counter() - t0
    Path(a.out + '.json').write_text(json.dumps(res, indent=1))
    plot(res, a.out + '.png')
    table(res)
    print(f"total {res['total_s']:.0f} s; wrote {a.out}.json and {a.out}.png")


def merge(paths, out):
    "One result from several runs (e.g. one process per corpus): their corpora side by side, each run's command kept."
    runs = [json.loads(Path(p).read_text()) for p in paths]
    res = {**runs[0], 'corpora': {}, 'command': ' ; '.join(r['command'] for r in runs),
           'runs': [{k: r[k] for k in ('command', 'load_avg_start', 'load_avg_end', 'total_s') if k in r} | {'corpora': list(r['corpora'])}
                    for r in runs]}
    for r in runs: res['corpora'].update(r['corpora'])
    res['total_s'] = max(r.get('total_s', 0) for r in runs)
    Path(out + '.json').write_text(json.dumps(res, indent=1))
    plot(res, out + '.png')
    table(res)
    print(f"wrote {out}.json and {out}.png")


def table(res):
    print(f"\n| corpus | slm_nb val loss | original val loss | slm_nb ms/step | original ms/step |")
    print("|---|---:|---:|---:|---:|")
    for label, c in res['corpora'].items():
        v = {n: c['curves'][n][-1]['val_loss'] for n in c['curves']}
        t = {n: c['step_time_s'][n]['median'] * 1000 for n in c['step_time_s']}
        print(f"| {label} | {v['slm_nb']:.4f} | {v['original']:.4f} | {t['slm_nb']:.0f} | {t['original']:.0f} |")


if __name__ == '__main__': main()
