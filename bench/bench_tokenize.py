"""Tokenize-and-write speed of `slm_nb.tokenize` against plain tiktoken, on the same stories, in one process.

Run: python bench/bench_tokenize.py [--mb 50] [--repeats 5] [--num_proc 2] [--text FILE]

Peers (all produce the same ids: each story's `encode_ordinary` ids followed by 50256):
  tiktoken, 1 core       `enc.encode_ordinary(story)` story by story (ids only, nothing written)
  tiktoken batch, 2 thr  `enc.encode_ordinary_batch(stories, num_threads=2)` (ids only, nothing written)
  slm_nb, 1 process      `write_tokens(..., num_proc=1)`: joined chunks, ids written to a uint16 file
  slm_nb, N processes    `write_tokens(..., num_proc=N)`: the path `prepare` takes
Reported: median tokens/s over the repeats (setup, i.e. generating the stories, is not timed).
"""
import argparse, os, platform, statistics, sys, tempfile, time
from pathlib import Path

import numpy as np
import tiktoken

from slm_nb.data import load_stories, synthetic_stories
from slm_nb.tokenize import gpt2_encoding, EOT, EOT_TEXT
from slm_nb.prepare_fast import encode_joined, write_tokens

def encode_chunk(stories): return encode_joined(gpt2_encoding(), stories, EOT_TEXT, EOT)   # what prepare's workers run


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"): cpu = line.split(":", 1)[1].strip(); break
    except OSError: pass
    return (f"{cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
            f"tiktoken {tiktoken.__version__}, numpy {np.__version__}, {platform.system()} {platform.release()}")


def load() -> str:
    try: return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError: return "?"


def cpu_idle(seconds=1.0) -> float:
    "Share of all CPUs' time spent idle over the next `seconds` (from /proc/stat; 1.0 where unavailable)."
    def snap():
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return f[3] + f[4], sum(f[:8]) # idle + iowait, total
    try:
        i0, t0 = snap(); time.sleep(seconds); i1, t1 = snap()
        return (i1 - i0) / max(t1 - t0, 1)
    except (OSError, ValueError, IndexError): return 1.0


def wait_for_quiet(max_wait: float, threshold=0.9) -> float:
    "Wait (up to `max_wait` s) until the CPUs are at least `threshold` idle; return the last idle share seen."
    deadline = time.time() + max_wait
    while True:
        idle = cpu_idle()
        if idle >= threshold or time.time() >= deadline: return idle


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=50, help="megabytes of synthetic story text")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--num_proc", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--text", default=None,
                    help="instead of synthetic stories, the stories of this file (via load_stories), repeated up to --mb")
    ap.add_argument("--wait", type=float, default=120,
                    help="before each round, wait up to this many seconds for the CPUs to be >= 90%% idle (other work skews timings)")
    a = ap.parse_args()

    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print("machine:", machine())
    print("load average before:", load())
    enc = gpt2_encoding()
    t = time.perf_counter()
    stories, chars = [], 0
    base = load_stories(a.text, "train", val_fraction=0.01) if a.text else None
    while chars < a.mb * 1e6: # generate in blocks until the text reaches the requested size
        block = base if base else synthetic_stories(5000, seed=a.seed + len(stories))
        stories += block; chars += sum(map(len, block))
    kind = f"stories of {a.text} (repeated)" if a.text else "synthetic stories"
    print(f"corpus: {len(stories):,} {kind}, {chars/1e6:.1f} MB of text "
          f"(made in {time.perf_counter() - t:.1f} s, not timed)")

    def tiktoken_single(_):
        n = 0
        for s in stories: n += len(enc.encode_ordinary(s)) + 1
        return n

    def tiktoken_batch(_):
        return sum(len(ids) + 1 for ids in enc.encode_ordinary_batch(stories, num_threads=2))

    def ours(num_proc):
        def run(path):
            with open(path, "wb") as f: return write_tokens(stories, f, encode_chunk, num_proc=num_proc, quiet=True)["tokens"]
        return run

    peers = [("tiktoken encode_ordinary, 1 core", tiktoken_single),
             ("tiktoken encode_ordinary_batch, 2 threads", tiktoken_batch),
             ("slm_nb write_tokens, 1 process (+write)", ours(1)),
             (f"slm_nb write_tokens, {a.num_proc} processes (+write)", ours(a.num_proc))]
    times = {name: [] for name, _ in peers}
    tokens = {}
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.bin"
        for r in range(a.repeats): # interleave the peers so background load hits them alike
            print(f"round {r + 1}: CPUs idle before it: {wait_for_quiet(a.wait):.0%}")
            for name, fn in peers:
                t = time.perf_counter(); n = fn(path); times[name].append(time.perf_counter() - t)
                if tokens.setdefault(name, n) != n: raise RuntimeError(f"{name}: token count changed")
        ids = np.memmap(path, dtype=np.uint16, mode="r") # check the written file against the peer, story by story
        ref = []
        for s in stories[:2000]: ref += enc.encode_ordinary(s) + [EOT]
        assert ids[:len(ref)].tolist() == ref, "written ids differ from encode_ordinary"
        assert len(ids) == tokens[peers[0][0]], "token counts differ"
        del ids

    print(f"tokens: {tokens[peers[0][0]]:,} (identical for every peer)")
    print(f"\n| method | median s | M tokens/s | runs (s) |\n|---|---|---|---|")
    for name, _ in peers:
        med = statistics.median(times[name])
        print(f"| {name} | {med:.2f} | {tokens[name]/med/1e6:.2f} | {', '.join(f'{x:.2f}' for x in times[name])} |")
    print("\nload average after:", load())


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    main()
