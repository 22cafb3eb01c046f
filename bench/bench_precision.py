"""What lower-precision inference costs in quality and buys in speed, on a trained model.

For a checkpoint and a prepared data folder: the validation loss and perplexity over every token
(`slm_nb.evaluate.evaluate_tokens`) with float32 weights, with bfloat16 weights (`load_model(...,
dtype='bfloat16')`, what `slm-generate --dtype bfloat16` runs) and with float32 weights under bfloat16
autocast (how `dtype='auto'` evaluates during training on a CPU with native bf16); and the greedy
generation speed of the float32 and bfloat16 weights, interleaved.

    python bench/bench_precision.py --ckpt out/cpu-demo/best.pt --data data/synthetic
"""
import argparse, statistics, sys, time
import torch
from slm_nb.batch import load_split
from slm_nb.hardware import native_bf16
from slm_nb.evaluate import evaluate_tokens
from slm_nb.loading import load_model


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--ckpt', required=True, help='a checkpoint or run folder')
    p.add_argument('--data', required=True, help='a folder written by slm-prepare (its validation split is scored)')
    p.add_argument('--max_tokens', type=int, default=200_000, help='score at most this many validation tokens')
    p.add_argument('--new_tokens', type=int, default=100)
    p.add_argument('--rounds', type=int, default=3)
    a = p.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, native bf16 {native_bf16('cpu')}")
    val = load_split(a.data, 'validation')[:a.max_tokens]
    fp32, bf16 = load_model(a.ckpt), load_model(a.ckpt, dtype='bfloat16')
    rows = {'float32 weights': evaluate_tokens(fp32, val, batch_size=16),
            'bfloat16 weights': evaluate_tokens(bf16, val, batch_size=16),
            'float32 weights, bf16 autocast': evaluate_tokens(fp32, val, batch_size=16,
                                                              ctx=torch.autocast('cpu', dtype=torch.bfloat16))}
    ref = rows['float32 weights']
    print(f"\n{ref['tokens']:,} validation tokens of {a.data}\n\n| weights | loss | perplexity | change in perplexity |\n|---|---:|---:|---:|")
    for k, r in rows.items():
        print(f"| {k} | {r['loss']:.4f} | {r['perplexity']:.3f} | {100 * (r['perplexity'] / ref['perplexity'] - 1):+.2f}% |")
    prompt = torch.from_numpy(val[:32].astype('int64'))[None]
    times = {'float32 weights': [], 'bfloat16 weights': []}
    for m in (fp32, bf16): m.generate(prompt, 8, temperature=0)          # warm-up
    for _ in range(a.rounds):
        for k, m in (('float32 weights', fp32), ('bfloat16 weights', bf16)):
            t = time.perf_counter(); m.generate(prompt, a.new_tokens, temperature=0)
            times[k].append((time.perf_counter() - t) / a.new_tokens * 1e3)
    print(f"\n| greedy generation, batch 1 | ms/token |\n|---|---:|")
    for k, v in times.items(): print(f"| {k} | {statistics.median(v):.2f} |")


if __name__ == '__main__':
    main()
