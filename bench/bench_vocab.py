"""A vocabulary of our own against GPT-2's, on the `cpu-demo` model body, peers in one process.

Run: python bench/bench_vocab.py [--sizes 512 1024 2048 4096] [--steps 600] [--json bench/vocab.json]
     python bench/bench_vocab.py --real FILE [--real_steps 400] [--real_sizes 512 1024]

Part 1, the main job's budget (built-in synthetic stories). Every peer is the `cpu-demo` preset (4 layers x 4 heads
x 128 wide, block 128, batch 8 x 128, its learning rates, `dtype='auto'`, `compile='auto'`) with one tokenizer:
GPT-2's 50,257 ids (the preset's tokenizer before it took its own), or a BPE trained on the training stories with `--sizes` ids (a size the corpus cannot fill stops
early: every word is then one token). The training step of every peer is timed first, interleaved, after a
warm-up (compilation included there, not in the timing); GPT-2's peer then trains `--steps` steps, as `slm-train
--preset cpu-demo` does, and every other peer the number of steps that fits in the same training time. Each run is
the real `slm_nb.train.train`; its wall time is reported as measured. The result is the validation split scored
once, every token, in bits per byte (`evaluate_tokens`), so peers with different tokenizers compare on the same text.
Tokenizing speed: `write_tokens` with each tokenizer on the same training stories, 2 processes, interleaved rounds.

Part 2, real TinyStories text (`--real FILE`, a sample kept outside the project): its first 85 % (cut at a blank
line) trains the tokenizers and the models, the rest is scored; equal steps for every peer. The sample is small,
so the report shows the training and validation bits per byte along the way: where they part, the model is
learning the sample by heart.
"""
import argparse, functools, json, math, os, platform, statistics, sys, tempfile, time
from pathlib import Path

import numpy as np
import torch

from slm_nb.config import get_preset, TrainConfig
from slm_nb.data import load_stories
from slm_nb.tokenize import (prepare, train_bpe, gpt2_encoding, bpe_json, bpe_from_json, corpus_tokenizer, token_bytes,
                             EOT_TEXT)
from slm_nb.prepare_fast import encode_joined, write_tokens
from slm_nb.batch import load_split, get_batch
from slm_nb.model import GPT, GPTConfig
from slm_nb.optim import configure_optimizer, set_lr, clip_and_step
from slm_nb.hardware import (resolve_dtype, resolve_compile, compile_model, autocast_context, make_grad_scaler,
                             native_bf16)
from slm_nb.evaluate import evaluate_tokens
from slm_nb.files import read_history
from slm_nb.train import train
from slm_nb.loading import load_model

sys.path.insert(0, str(Path(__file__).parent))
from recipe_vs_original import machine_info   # one description of the machine for every benchmark

FLAGS = ('avx2', 'avx512f', 'avx512_bf16', 'amx_tile')


def cpu_flags() -> str:
    try: flags = set(next(l.split(':', 1)[1].split() for l in open('/proc/cpuinfo') if l.startswith('flags')))
    except (OSError, StopIteration): flags = set()
    return ', '.join(f"{f} {'yes' if f in flags else 'no'}" for f in FLAGS)


def encode_chunk(bpe, stories):
    "What prepare's workers run, for GPT-2 (bpe None) or a trained BPE's JSON text."
    enc = gpt2_encoding() if bpe is None else _bpe(bpe)
    return encode_joined(enc, stories, EOT_TEXT, enc.eot_token)


@functools.lru_cache(maxsize=8)
def _bpe(text): return bpe_from_json(text)


def tokenize_speed(stories, encs, rounds=3):
    "Median tokens/s of write_tokens (2 processes, ids written) with each encoding, rounds interleaved."
    times = {name: [] for name in encs}
    counts = {}
    with tempfile.TemporaryDirectory() as d:
        for _ in range(rounds):
            for name, enc in encs.items():
                fn = functools.partial(encode_chunk, None if enc.name == 'gpt2' else bpe_json(enc))
                with open(Path(d)/'ids.bin', 'wb') as f:
                    t0 = time.perf_counter()
                    counts[name] = write_tokens(stories, f, fn, num_proc=2, quiet=True)['tokens']
                    times[name].append(time.perf_counter() - t0)
    return {name: dict(tokens=counts[name], median_s=statistics.median(t), tokens_per_s=counts[name] / statistics.median(t))
            for name, t in times.items()}


class Stepper:
    "One peer's model and optimizer, stepped the way slm-train steps the cpu-demo preset (for timing only)."
    def __init__(self, cfg:TrainConfig, data, vocab:int):
        torch.manual_seed(cfg.seed)
        self.cfg, self.data = cfg, data
        self.raw = GPT(GPTConfig(**cfg.model_config(vocab_size=vocab)))
        dtype = resolve_dtype(cfg.dtype, 'cpu')
        self.opt = configure_optimizer(self.raw, cfg.weight_decay, cfg.learning_rate, cfg.betas, cfg.eps, device_type='cpu', verbose=False)
        self.scaler, self.ctx = make_grad_scaler(dtype, 'cpu'), autocast_context('cpu', dtype)
        self.model = compile_model(self.raw, cfg.compile, 'cpu') if resolve_compile(cfg.compile, 'cpu') else self.raw
        self.gen = torch.Generator().manual_seed(0)

    def step(self):
        set_lr(self.opt, self.cfg.learning_rate)
        x, y = get_batch(self.data, self.cfg.batch_size, self.cfg.block_size, generator=self.gen)
        with self.ctx: _, loss = self.model(x, y, return_logits=False)
        self.scaler.scale(loss).backward()
        clip_and_step(self.opt, self.scaler, self.raw, self.cfg.grad_clip)


def time_steps(steppers:dict, warmup=8, rounds=5, per_round=10) -> dict:
    "Median seconds per training step of each peer, in interleaved rounds after a warm-up (compilation happens there)."
    for s in steppers.values():
        for _ in range(warmup): s.step()
    times = {k: [] for k in steppers}
    for _ in range(rounds):
        for k, s in steppers.items():
            t0 = time.perf_counter()
            for _ in range(per_round): s.step()
            times[k].append((time.perf_counter() - t0) / per_round)
    return {k: statistics.median(v) for k, v in times.items()}


def score(run_dir, data_dir) -> dict:
    "The trained model's best weights on every validation token, in nats and in bits per byte."
    model = load_model(run_dir)
    val = load_split(data_dir, 'validation')
    return evaluate_tokens(model, val, batch_size=16, token_bytes=token_bytes(corpus_tokenizer(data_dir)))


def curves(history, meta) -> list:
    "Evaluation rows with both splits' losses in bits per byte (each split's tokens and bytes, from meta.json)."
    ratio = {s: meta['splits'][s]['tokens'] / (math.log(2) * meta['splits'][s]['bytes']) for s in ('train', 'validation')}
    return [dict(step=r['step'], train_loss=r['train_loss'], val_loss=r['val_loss'], train_bpb=r['train_loss'] * ratio['train'],
                 val_bpb=r['val_loss'] * ratio['validation']) for r in read_history(history) if r['kind'] == 'eval']


def part1(a, work) -> dict:
    base = get_preset('cpu-demo')
    stories = load_stories('synthetic', 'train')
    peers = {'gpt2': ('gpt2', None)} | {f'bpe{v}': ('bpe', v) for v in a.sizes}
    encs, metas = {}, {}
    for name, (tok, v) in peers.items():
        t0 = time.perf_counter()
        metas[name] = prepare('synthetic', work/name, tokenizer=tok, vocab_size=v, quiet=True)
        encs[name] = corpus_tokenizer(work/name)
        print(f"prepared {name}: {encs[name].n_vocab:,} ids, {metas[name]['splits']['train']['tokens']:,} training tokens "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter(); train_bpe(stories, 4096); bpe_train_s = time.perf_counter() - t0
    speed = tokenize_speed(stories, encs)
    steppers = {n: Stepper(base, load_split(work/n, 'train'), encs[n].n_vocab if n != 'gpt2' else base.vocab_size) for n in peers}
    step_s = time_steps(steppers)
    del steppers
    out = dict(machine=machine_info(), cpu_flags=cpu_flags(), native_bf16=native_bf16('cpu'), bpe_train_s_4096_request=bpe_train_s,
               tokenize=speed, step_s=step_s, peers={})
    print(f"step times (s): " + ', '.join(f"{k} {v:.3f}" for k, v in step_s.items()), flush=True)
    for name, (tok, v) in peers.items():
        steps = a.steps if name == 'gpt2' else max(1, round(a.steps * step_s['gpt2'] / step_s[name]))
        every = max(1, steps // 12)
        cfg = get_preset('cpu-demo', tokenizer=tok, vocab_size=v or 50257, data_dir=str(work/name), out_dir=str(work/f'run_{name}'),
                         max_iters=steps, eval_interval=every, log_interval=every)
        t0 = time.perf_counter()
        res = train(cfg, quiet=True)
        wall = time.perf_counter() - t0
        hist = read_history(res['history'])
        tps = statistics.median(r['tokens_per_sec'] for r in hist if r['kind'] == 'train' and r['tokens_per_sec'])
        s = score(res['out_dir'], work/name)
        out['peers'][name] = dict(vocab=encs[name].n_vocab if name != 'gpt2' else 50257, params=res['model'].num_params(), steps=steps,
                                  tokens=steps * cfg.tokens_per_step(), wall_s=wall, train_tokens_per_s=tps, val_loss=s['loss'],
                                  val_bpb=s['bpb'], val_tokens=s['tokens'], val_bytes=s['bytes'], curve=curves(res['history'], metas[name]))
        p = out['peers'][name]
        print(f"{name:>8}: {p['vocab']:>6,} ids, {p['params'] / 1e6:.2f} M parameters, {steps:,} steps in {wall:.0f} s "
              f"({tps:,.0f} tokens/s): validation {s['loss']:.4f} nats/token, {s['bpb']:.4f} bits per byte", flush=True)
    return out


def part2(a, work) -> dict:
    text = Path(a.real).read_text(encoding='utf-8')
    cut = text.rfind('\n\n', 0, int(len(text) * 0.85))
    src = work/'real'; src.mkdir()
    (src/'train.txt').write_text(text[:cut]); (src/'validation.txt').write_text(text[cut:])
    peers = {'gpt2': ('gpt2', None)} | {f'bpe{v}': ('bpe', v) for v in a.real_sizes}
    out = dict(source_chars=len(text), train_chars=cut, peers={})
    for name, (tok, v) in peers.items():
        meta = prepare(src, work/f'real_{name}', tokenizer=tok, vocab_size=v, quiet=True)
        cfg = get_preset('cpu-demo', data=str(src), tokenizer=tok, vocab_size=v or 50257, data_dir=str(work/f'real_{name}'),
                         out_dir=str(work/f'realrun_{name}'), max_iters=a.real_steps, eval_interval=max(1, a.real_steps // 16),
                         log_interval=10, eval_iters=8)
        t0 = time.perf_counter()
        res = train(cfg, quiet=True)
        s = score(res['out_dir'], work/f'real_{name}')
        c = curves(res['history'], meta)
        best = min(c, key=lambda r: r['val_bpb'])
        out['peers'][name] = dict(vocab=meta['vocab_size'], train_tokens=meta['splits']['train']['tokens'],
                                  val_tokens=meta['splits']['validation']['tokens'], steps=a.real_steps, wall_s=time.perf_counter() - t0,
                                  final_val_bpb=s['bpb'], final_val_loss=s['loss'], best_eval=best, curve=c)
        print(f"real {name:>8}: {meta['vocab_size']:>6,} ids, {meta['splits']['train']['tokens']:,} training tokens; "
              f"best estimated validation {best['val_bpb']:.3f} bpb at step {best['step']} (train {best['train_bpb']:.3f}); "
              f"final best.pt on every validation token {s['bpb']:.4f} bpb", flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--sizes', type=int, nargs='*', default=[512, 1024, 2048, 4096], help='BPE vocabularies to try (part 1)')
    ap.add_argument('--steps', type=int, default=600, help="GPT-2 peer's steps: cpu-demo's 600 steps with GPT-2's tokenizer set the budget")
    ap.add_argument('--real', help='a text file of real stories (part 2); part 1 is skipped with --only_real')
    ap.add_argument('--real_steps', type=int, default=400)
    ap.add_argument('--real_sizes', type=int, nargs='*', default=[512, 1024])
    ap.add_argument('--only_real', action='store_true')
    ap.add_argument('--json', help='write the results here')
    a = ap.parse_args()
    info = machine_info()
    print(f"machine: {info['cpu']} | {info['logical_cpus']} logical CPUs | torch {info['torch']}, {info['torch_threads']} threads | "
          f"{cpu_flags()} | native bf16 {native_bf16('cpu')}\ncommand: python {' '.join(sys.argv)}", flush=True)
    res = dict(command='python ' + ' '.join(sys.argv))
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        if not a.only_real: res['main_job'] = part1(a, work)
        if a.real: res['real'] = part2(a, work)
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1) + '\n')


if __name__ == '__main__': main()
