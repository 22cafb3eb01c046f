"""Training throughput on CPU for candidate `cpu-demo` model sizes (notebook 06, "Sizing the CPU demo").

Each configuration runs forward + backward + AdamW step (float32, GPT-2 vocabulary 50,257, tied
embeddings) on random micro-batches; the configurations are interleaved round-robin in one process
so that background load affects them alike, and the median over repeats is reported.

    python bench/cpu_train_widths.py [--repeats 5] [--batch 16] [--block 128] [--threads N]
"""
import argparse, os, platform, statistics, sys, time
import torch
from slm_nb.model import GPT, GPTConfig
from slm_nb.optim import configure_optimizer, clip_and_step
from slm_nb.hardware import make_grad_scaler

SIZES = [(4, 4, 64), (4, 4, 128), (4, 6, 192), (6, 6, 384)]  # (n_layer, n_head, n_embd)

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--block', type=int, default=128)
    p.add_argument('--threads', type=int, default=os.cpu_count())
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"command: python {' '.join(sys.argv)}")
    runs = []
    for L, H, C in SIZES:
        torch.manual_seed(0)
        m = GPT(GPTConfig(n_layer=L, n_head=H, n_embd=C, block_size=a.block, vocab_size=50257, dropout=0.0))
        opt = configure_optimizer(m, verbose=False)
        x = torch.randint(0, 50257, (a.batch, a.block)); y = torch.randint(0, 50257, (a.batch, a.block))
        runs.append(((L, H, C), m, opt, x, y, []))
    scaler = make_grad_scaler('float32', 'cpu')
    for rep in range(a.repeats + 1):              # repeat 0 is a warm-up, not timed
        for (_, m, opt, x, y, times) in runs:
            t = time.perf_counter()
            _, loss = m(x, y); loss.backward(); clip_and_step(opt, scaler, m, 1.0)
            if rep: times.append(time.perf_counter() - t)
    print(f"\n| model (layers x heads x width) | parameters | ms per step (median) | tokens/s | tokens in 4 min |")
    print("|---|---|---|---|---|")
    for (L, H, C), m, _, _, _, times in runs:
        s = statistics.median(times); tps = a.batch * a.block / s
        print(f"| {L} x {H} x {C} | {m.num_params()/1e6:.1f} M | {s*1000:.0f} | {tps:,.0f} | {tps*240/1e6:.2f} M |")

if __name__ == '__main__': main()
