"""Run nbs/colab.ipynb the way Colab runs it, and check what a Colab user depends on.

Colab runs every cell, `#| hide` ones included, in a kernel whose working folder is /content, with
`google.colab` already imported. This script does the same on a CPU: a real Jupyter kernel (ipykernel)
whose working folder is a fresh `content/` folder, and a stand-in `google.colab` package, imported at
start-up through `sitecustomize`, whose `drive.mount` links the mount point to a `drive/` folder that
outlives the runtime (as Google Drive does), whose `drive.flush_and_unmount` and `runtime.unassign`
are recorded, and which counts every byte written below the mount point (an audit hook on open and
rename: a file renamed into place counts its size, a file appended to counts its final size).

For each case (`--cases`), the arithmetic of a preset on a tiny model: the same ratios of max_iters,
eval_interval, log_interval and warmup as the real preset (divided by a common factor, remainders
kept: colab-t4's 625 steps with an evaluation every 50 become 125 and 10), gradient accumulation
when the preset accumulates, and a model small enough to train in seconds. A parameters cell after the settings cell sets
PRESET and CHANGES, as a user would (with no GPU here, the GPU presets are named rather than detected;
`choose_preset` is tested on its own below, and the data is the built-in stories: nothing here reaches the
Hub). Per case:

  A. Run all, uninterrupted, with the notebook's own checkpoint cadence (CHECKPOINT_MINUTES).
  B. Run all with checkpoints every second, kill the kernel (SIGKILL) once a checkpoint is on Drive,
     mid-training; then a new runtime (content/ deleted, Drive kept) and Run all again.

It passes when: every cell of every run finished without error; the plot and the stories cells ran
(an image, and text beyond the prompts); `unassign` was called exactly once per finished Colab run,
after `flush_and_unmount`, and only when the run was on Drive (never in the run that was killed);
the run in B continued from the step of the checkpoint it found and ended with the same weights and
the same history (timings aside) as A; and A wrote at most 3x its final last.pt to Drive. One more
run declines the Drive mount: then nothing is handed back. Exit status 1 on any failure.
"""
import argparse, ast, json, os, re, platform, shutil, subprocess, sys, tempfile, textwrap, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

root = Path(__file__).resolve().parent.parent
NB = root/'nbs'/'colab.ipynb'

# name -> (PRESET or None for "no GPU", CHANGES): the real preset's step arithmetic on a tiny model. The
# gradient accumulation is cut too (to a quarter), or the GPU cases alone would take minutes on two cores.
TINY = dict(data='synthetic', n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=1, eval_iters=2, compile=False)
CASES = {
    # colab-t4: 625 steps, eval every 50, log every 10, warmup 30, 16 micro-batches -> steps divided by 5
    't4':   ('colab-t4',   dict(TINY, max_iters=125, eval_interval=10, log_interval=2, warmup_iters=6, grad_accum_steps=4)),
    # colab-a100: 2,000 steps, eval every 100, log every 10, warmup 100, 8 micro-batches -> steps divided by 10
    'a100': ('colab-a100', dict(TINY, max_iters=200, eval_interval=10, log_interval=1, warmup_iters=10, grad_accum_steps=2)),
    # no GPU -> cpu-demo: 3,000 steps, eval every 250, log every 25, warmup 20, 1 micro-batch -> steps divided by 25;
    # its own tokenizer (a BPE of 1,024 ids) is trained as in the real run, so a resumed kernel reads its ids with it
    'cpu':  (None,         dict(TINY, max_iters=120, eval_interval=10, log_interval=1, warmup_iters=1, grad_accum_steps=1)),
}
BUDGET = 3.0   # a whole run writes at most this many times its final last.pt to Drive

STUB = {
'google/__init__.py': '',
'google/colab/__init__.py': 'from . import drive, runtime\n',
'google/colab/_sim.py': '''
import json, os, sys, time
LOG = os.environ['SLM_SIM_LOG']
def log(**ev):
    with open(LOG, 'a') as f:
        f.write(json.dumps({**ev, 't': time.time()}) + '\\n'); f.flush(); os.fsync(f.fileno())
''',
'google/colab/drive.py': '''
import os, sys
from pathlib import Path
from ._sim import log
_roots, _opened = [], set()

def _under(p):
    if isinstance(p, bytes): p = os.fsdecode(p)
    if not isinstance(p, (str, os.PathLike)): return None
    p = os.path.abspath(os.fspath(p))
    return p if any(p == r or p.startswith(r + os.sep) for r in _roots) else None

def _audit(event, args):
    if not _roots: return
    if event == 'open':
        path, mode, flags = args
        writing = (mode is not None and any(c in mode for c in 'wax+')) or (mode is None and flags & (os.O_WRONLY | os.O_RDWR))
        p = writing and _under(path)
        if p and p not in _opened: _opened.add(p); log(event='opened', path=p)
    elif event == 'os.rename':
        src, dst = _under(args[0]), _under(args[1])
        if src and dst:
            log(event='write', path=dst, bytes=os.path.getsize(src)); _opened.discard(src)

def mount(mountpoint, force_remount=False, timeout_ms=120000, readonly=False):
    if os.environ.get('SLM_SIM_REFUSE_MOUNT'):
        log(event='mount_refused'); raise ValueError("mount failed: the permission to use Google Drive was not granted")
    store, mp = Path(os.environ['SLM_SIM_DRIVE']), Path(mountpoint)
    (store/'MyDrive').mkdir(parents=True, exist_ok=True)
    mp.parent.mkdir(parents=True, exist_ok=True)
    if not mp.exists(): mp.symlink_to(store, target_is_directory=True)
    _roots[:] = [os.path.abspath(mp), os.path.realpath(store)]
    if not getattr(sys, '_slm_sim_hooked', False): sys.addaudithook(_audit); sys._slm_sim_hooked = True
    log(event='mount', mountpoint=str(mp)); print(f"Mounted at {mountpoint}")

def flush_and_unmount(timeout_ms=86400000):
    log(event='flush_and_unmount', mounted=bool(_roots)); _roots.clear()
''',
'google/colab/runtime.py': '''
from ._sim import log
def unassign(): log(event='unassign')
''',
'sitecustomize.py': 'import google.colab  # as in Colab: imported before the notebook runs\n',
}

def make_stub(d:Path):
    for rel, text in STUB.items():
        f = d/rel; f.parent.mkdir(parents=True, exist_ok=True); f.write_text(textwrap.dedent(text).lstrip())

def notebook_cells(params:str):
    "The code cells of the Colab notebook, in order, with the parameters cell after the settings cell."
    nb = json.loads(Path(NB).read_text())
    cells = [''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'code']
    i = next(i for i, s in enumerate(cells) if 'KEEP_ON_DRIVE =' in s)
    return cells[:i + 1] + [params] + cells[i + 1:]

class Kernel:
    "A Jupyter kernel started like Colab's: working folder `cwd`, google.colab imported, the environment given."
    def __init__(self, cwd, env, log):
        from jupyter_client.manager import start_new_kernel
        import logging; logging.getLogger('traitlets').setLevel(logging.ERROR)
        self.log = open(log, 'ab')   # the kernel's own stderr (start-up warnings): shown only when something failed
        self.km, self.kc = start_new_kernel(kernel_name='python3', cwd=str(cwd), env=env, startup_timeout=120,
                                            stderr=self.log)

    def run(self, code, timeout=600, background=False):
        "Execute `code`; returns (status, outputs). With background=True, returns the message id at once."
        msg_id = self.kc.execute(code)
        return msg_id if background else self.collect(msg_id, timeout)

    def collect(self, msg_id, timeout=600):
        outs, status, end = [], None, time.time() + timeout
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(1, end - time.time()))
            if msg['parent_header'].get('msg_id') != msg_id: continue
            t, c = msg['msg_type'], msg['content']
            if t == 'stream': outs.append(('text', c['text']))
            elif t in ('execute_result', 'display_data'):
                outs.append(('image' if 'image/png' in c['data'] else 'text', c['data'].get('text/plain', '')))
            elif t == 'error': status = 'error'; outs.append(('error', f"{c['ename']}: {c['evalue']}"))
            elif t == 'status' and c['execution_state'] == 'idle': break
        return status or 'ok', outs

    def stop(self, kill=False):
        self.log.flush()
        try:
            self.kc.stop_channels()
            if kill: self.km.kill_kernel()
            else: self.km.shutdown_kernel(now=True)
        except Exception: pass

def events(log:Path) -> list:
    return [json.loads(l) for l in log.read_text().splitlines()] if log.exists() else []

def drive_bytes(evs) -> int:
    "Bytes written to Drive: files renamed into place count their size, files written in place their final size."
    renamed = sum(e['bytes'] for e in evs if e['event'] == 'write')
    in_place = {e['path'] for e in evs if e['event'] == 'opened'} - {e['path'] for e in evs if e['event'] == 'write'}
    return renamed + sum(os.path.getsize(p) for p in in_place if os.path.isfile(p) and not os.path.basename(p).startswith('.'))

class Sim:
    def __init__(self, work:Path, verbose:bool):
        self.work, self.verbose, self.problems = work, verbose, []
        self.stub = work/'stub'; make_stub(self.stub)

    def fail(self, case, msg):
        self.problems.append(f"{case}: {msg}"); print(f"  FAIL {case}: {msg}", flush=True)

    def runtime(self, name:str, drive:Path, log:Path, refuse=False):
        "A fresh Colab runtime: an empty content/ folder (the old one deleted, as a disconnect does) and a kernel."
        content = self.work/name/'content'
        shutil.rmtree(content, ignore_errors=True); content.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if k not in ('IN_TEST', 'SLM_NB_SMOKE', 'MPLBACKEND')}
        env.update(PYTHONPATH=os.pathsep.join([str(self.stub)] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else [])),
                   SLM_SIM_LOG=str(log), SLM_SIM_DRIVE=str(drive), MPLBACKEND='module://matplotlib_inline.backend_inline',
                   HF_HUB_OFFLINE='1', HF_DATASETS_OFFLINE='1')
        if refuse: env['SLM_SIM_REFUSE_MOUNT'] = '1'
        return content, Kernel(content, env, self.work/f'{name}.kernel.log')

    def run_all(self, case, cells, content, kernel, kill_when=None):
        "Run every cell in order; with `kill_when`, kill the kernel during the training cell once it returns True."
        results = []
        for i, src in enumerate(cells):
            if kill_when is not None and 'result = train(cfg)' in src:
                msg_id = kernel.run(src, background=True)
                t0 = time.time()
                while time.time() - t0 < 300:
                    if kill_when(): break
                    time.sleep(0.05)
                else: self.fail(case, "no checkpoint appeared on Drive within 300 s: nothing to kill")
                try:
                    reply = kernel.kc.get_shell_msg(timeout=0.01)
                    if reply['parent_header'].get('msg_id') == msg_id:
                        self.fail(case, "training finished before the kill: make the run longer")
                except Exception: pass
                kernel.stop(kill=True)
                return results, i
            t = time.time()
            status, outs = kernel.run(src)
            results.append((src, status, outs))
            if self.verbose: print(f"    {case} cell {i}: {time.time() - t:5.1f} s  {src.strip().splitlines()[0][:60]}", flush=True)
            if status != 'ok':
                self.fail(case, f"cell {i} raised {next((o for k, o in outs if k == 'error'), '?')}: "
                                f"{src.strip().splitlines()[0][:70]!r}")
                break
        return results, None

    def check_end(self, case, results, evs, kept:bool):
        "The end cells ran; the GPU was handed back exactly once, after the flush, only when kept on Drive."
        text = lambda r: ''.join(o for k, o in r[2] if k == 'text')
        plot = [r for r in results if r[0].startswith('plot_history(')]
        if not plot or not any(k == 'image' for k, _ in plot[0][2]): self.fail(case, "the loss plot cell showed no image")
        gen = [r for r in results if 'generate_text(' in r[0]]
        if not gen: self.fail(case, "the stories cell did not run")
        else:
            src = next(l for l in gen[0][0].splitlines() if l.startswith('prompts = '))
            prompts = ast.literal_eval(src.split('=', 1)[1].strip())    # the notebook's own prompts
            out = text(gen[0])
            if not all(p in out for p in prompts) or len(out) < sum(map(len, prompts)) + 40:
                self.fail(case, f"the stories add no text to the prompts: {out[:120]!r}")
        names = [e['event'] for e in evs if e['event'] in ('flush_and_unmount', 'unassign')]
        want = ['flush_and_unmount', 'unassign'] if kept else []
        if names != want: self.fail(case, f"hand-back calls {names}, expected {want}")

    def case(self, case, preset, changes):
        t0 = time.time()
        params = f"PRESET = {preset!r}\nCHANGES = {changes!r}"
        report = dict(case=case, preset=preset or 'cpu-demo (no GPU)', changes=changes)
        # A: uninterrupted, the notebook's own checkpoint cadence
        drive_a, log_a = self.work/case/'drive-a', self.work/case/'a.log'
        content, k = self.runtime(f'{case}-a', drive_a, log_a)
        try:
            results, _ = self.run_all(f"{case}/A", notebook_cells(params), content, k)
            if case == 'cpu': self.unit_tests(case, k)
        finally: k.stop()
        evs = events(log_a)
        self.check_end(f"{case}/A", results, evs, kept=True)
        run_a = next(drive_a.glob('MyDrive/slm_nb/out/*'), None)
        if run_a is None or not (run_a/'last.pt').exists(): self.fail(f"{case}/A", "no last.pt on Drive"); return report
        last = (run_a/'last.pt').stat().st_size
        written = drive_bytes(evs)
        report.update(last_pt=last, best_pt=(run_a/'best.pt').stat().st_size, drive_bytes=written,
                      drive_ratio=round(written / last, 2))
        if written > BUDGET * last:
            self.fail(f"{case}/A", f"wrote {written:,} bytes to Drive, {written / last:.1f}x the final last.pt (at most {BUDGET:g}x)")
        # B: checkpoints every second, killed mid-run, then a new runtime and Run all again
        drive_b, log_b = self.work/case/'drive-b', self.work/case/'b.log'
        fast = params.replace('CHANGES = {', "CHANGES = {'checkpoint_minutes': 1 / 60, ", 1)
        content, k = self.runtime(f'{case}-b', drive_b, log_b)
        def checkpointed():
            for p in drive_b.glob('MyDrive/slm_nb/out/*/last.pt'): return time.time() - p.stat().st_mtime > 0.3
            return False
        try: _, killed_at = self.run_all(f"{case}/B1", notebook_cells(fast), content, k, kill_when=checkpointed)
        finally: k.stop(kill=True)
        run_b = next(drive_b.glob('MyDrive/slm_nb/out/*'), None)
        if killed_at is None or run_b is None: self.fail(f"{case}/B1", "the kernel was not killed mid-training"); return report
        import torch
        step = torch.load(run_b/'last.pt', map_location='cpu', weights_only=True)['step']
        report['killed_after_step'] = step
        if any(e['event'] in ('unassign', 'flush_and_unmount') for e in events(log_b)):
            self.fail(f"{case}/B1", "the killed run handed the GPU back")
        n_log = len(events(log_b))
        content, k = self.runtime(f'{case}-b', drive_b, log_b)        # a new runtime: content/ is gone
        try: results, _ = self.run_all(f"{case}/B2", notebook_cells(fast), content, k)
        finally: k.stop()
        self.check_end(f"{case}/B2", results, events(log_b)[n_log:], kept=True)
        out = ''.join(o for r in results for kk, o in r[2] if kk == 'text')
        if (f"continuing the run found there, at step {step:,}" not in out
                or not re.search(rf"resumed from \S+ at step {step:,} ", out)):
            self.fail(f"{case}/B2", f"did not continue from the checkpoint at step {step}")
        a, b = (torch.load(d/'last.pt', map_location='cpu', weights_only=True) for d in (run_a, run_b))
        if a['step'] != b['step'] or not all(torch.equal(a['model'][n], b['model'][n]) for n in a['model']):
            self.fail(f"{case}/B2", f"the resumed run ended at step {b['step']} with other weights than the uninterrupted one")
        core = lambda d: [l.split(',')[:6] for l in (d/'history.csv').read_text().splitlines()]
        if core(run_a) != core(run_b): self.fail(f"{case}/B2", "history.csv differs from the uninterrupted run")
        report['resumed_exactly'] = not any(p.startswith(f"{case}/B") for p in self.problems)
        report['seconds'] = round(time.time() - t0, 1)
        return report

    def refused(self):
        "Drive declined: the run lives on the runtime's disk, and the GPU is not handed back."
        t0 = time.time()
        log = self.work/'refused.log'
        content, k = self.runtime('refused', self.work/'refused-drive', log, refuse=True)
        try: results, _ = self.run_all('refused', notebook_cells(f"PRESET = None\nCHANGES = {CASES['cpu'][1]!r}"), content, k)
        finally: k.stop()
        self.check_end('refused', results, events(log), kept=False)
        if not (content/'out'/'cpu-demo'/'best.pt').exists(): self.fail('refused', "no best.pt on the runtime's disk")
        return dict(case='refused', seconds=round(time.time() - t0, 1))

    def unit_tests(self, case, k):
        "The notebook's decisions, tested in a kernel that ran its cells (none of these cells is in the notebook)."
        tests = '''
from fastcore.test import test_eq
def refuse(): raise RuntimeError("permission denied")
test_eq(choose_storage(True, True, False, lambda: '/content/drive/MyDrive')[:2], (Path('/content/drive/MyDrive/slm_nb'), True))
test_eq(choose_storage(True, True, False, refuse)[:2], (Path.cwd(), False))
test_eq(choose_storage(True, False, False, lambda: 'never called')[:2], (Path.cwd(), False))
test_eq(choose_storage(False, True, False, None)[:2], (Path('.'), True))
test_eq(choose_storage(True, True, True, refuse)[:2], (Path('.'), False))
for gpu, want in [(('Tesla T4', (7, 5)), 'colab-t4'), (('Tesla V100-SXM2-16GB', (7, 0)), 'colab-t4'),
                  (('NVIDIA A100-SXM4-40GB', (8, 0)), 'colab-a100'), (('NVIDIA L4', (8, 9)), 'colab-a100'),
                  (('NVIDIA H100 80GB HBM3', (9, 0)), 'colab-a100'), (None, 'cpu-demo')]:
    test_eq(choose_preset(False, gpu)[0], want)
test_eq(choose_preset(True, ('NVIDIA A100-SXM4-40GB', (8, 0)))[0], 'test')
test_eq(end_of_run(True, False, True, True, 'x')[0], 'free')
test_eq(end_of_run(True, False, True, False, '/content/out/colab-t4')[0], 'keep')   # never delete the only copy
test_eq(end_of_run(True, False, False, True, 'x')[0], 'keep')
test_eq(end_of_run(False, False, True, True, 'x')[0], 'keep')
test_eq(end_of_run(True, True, True, True, 'x')[0], 'keep')
import slm_nb
test_eq(VERSION, slm_nb.__version__)   # the notebook installs the release it was written for
print("unit tests ok")
'''
        st, outs = k.run(tests)
        if st != 'ok': self.fail(f"{case}/unit", f"{outs[-1][1] if outs else '?'}")

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--cases', default='t4,a100,cpu', help='comma-separated, from: ' + ', '.join(CASES))
    ap.add_argument('--json', help='write the report here')
    ap.add_argument('--notebook', default=str(root/'nbs'/'colab.ipynb'), help='the notebook to run (default: nbs/colab.ipynb)')
    ap.add_argument('--keep', action='store_true', help='keep the working folder (printed)')
    ap.add_argument('--verbose', action='store_true')
    ap.add_argument('--jobs', type=int, default=3, help='runs at once')
    a = ap.parse_args()
    global NB; NB = a.notebook
    print(f"colab simulation: {platform.node()} ({os.cpu_count()} CPUs), python {platform.python_version()}", flush=True)
    work = Path(tempfile.mkdtemp(prefix='slm-colab-sim-'))
    sim, t0 = Sim(work, a.verbose), time.time()
    jobs = [lambda c=c: sim.case(c, *CASES[c]) for c in a.cases.split(',')] + [sim.refused]
    try:   # the runs wait on their kernels most of the time: a few at once use the cores better
        with ThreadPoolExecutor(a.jobs) as ex: reports = list(ex.map(lambda job: job(), jobs))
    finally:
        for f in sorted(work.glob('*.kernel.log')) if sim.problems else []:   # what the kernels said, when it matters
            print(f"--- {f.name}\n" + f.read_text(errors='replace')[-1500:])
        if a.keep: print(f"working folder kept: {work}")
        else: shutil.rmtree(work, ignore_errors=True)
    for r in reports:
        print(f"  {r['case']:<8} {r.get('preset', 'cpu-demo, Drive declined'):<25} " + ', '.join(f"{k} {v}" for k, v in r.items()
              if k in ('killed_after_step', 'resumed_exactly', 'last_pt', 'drive_bytes', 'drive_ratio', 'seconds')))
    if a.json: Path(a.json).write_text(json.dumps(dict(reports=reports, problems=sim.problems), indent=1))
    print(f"colab simulation: {len(sim.problems)} problems in {time.time() - t0:.0f} s")
    sys.exit(1 if sim.problems else 0)

if __name__ == '__main__': main()
