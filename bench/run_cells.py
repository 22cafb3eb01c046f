"""Run a notebook's code cells in one namespace and show what each prints, as a reader would see it.

`nbdev_test --do_print` reports only pass or fail; when a check on a GPU fails, the figures that explain
it (a curve, an error, a time) are in the cell's output, which it does not print. This runs the cells in
order with plain `exec`, prints each cell's number and output, and stops at the first failing cell with its
traceback (exit 1). Cells with a `#| eval: false` directive are skipped, and so are cells flagged with a
word of settings.ini's `tst_flags` that --flags does not name, as nbdev_test does. IPython magics and shell
lines (`%...`, `!...`) are skipped.

usage: python bench/run_cells.py nbs/gpu_checks.ipynb --flags cuda
"""
import argparse, configparser, json, re, sys, time, traceback
from pathlib import Path

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebook')
    ap.add_argument('--flags', nargs='*', default=[], help='tst_flags words whose cells run (e.g. cuda slow)')
    args = ap.parse_args()
    root = Path(__file__).resolve().parent.parent
    cfg = configparser.ConfigParser(); cfg.read(root/'settings.ini')
    tst_flags = set(cfg['DEFAULT'].get('tst_flags', '').split())
    nb = json.loads(Path(args.notebook).read_text(encoding='utf-8'))
    ns = {'__name__': '__main__'}
    for i, c in enumerate(nb['cells']):
        if c['cell_type'] != 'code': continue
        src = ''.join(c['source'])
        words = {w for l in src.splitlines() if l.startswith('#|') for w in l[2:].split()}
        if re.search(r'^#\|\s*eval:\s*false', src, re.M) or (words & tst_flags) - set(args.flags): continue
        code = '\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!')))
        if not code.strip(): continue
        print(f"--- cell {i}", flush=True)
        t0 = time.time()
        try: exec(compile(code, f"{Path(args.notebook).name}:cell {i}", 'exec'), ns)
        except BaseException:
            traceback.print_exc()
            print(f"--- cell {i} FAILED after {time.time() - t0:.1f} s"); return 1
        print(f"--- cell {i} ok in {time.time() - t0:.1f} s", flush=True)
    return 0

if __name__ == '__main__': sys.exit(main())
