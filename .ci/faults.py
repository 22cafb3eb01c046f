"""Fault-injection harness: pull the plug on slm-prepare and slm-train, and check nothing is lost.

What it does (every kill is a real signal sent to a real process; nothing is simulated):

* prepare: `slm-prepare --data synthetic --out DIR` is killed with SIGKILL at random moments spread
  over the length of an uninterrupted run (measured first). Right after the kill, if `meta.json`
  exists it must describe files that are complete and byte-identical to the reference (a partial
  file must never be taken for a finished one). Then the same command is run again: it must
  complete, and train.bin / validation.bin / meta.json must be byte-identical to an uninterrupted
  run's, with no temporary files left behind.
* train: `slm-train --preset test ...` is killed with SIGKILL at random moments; half of the kills
  are spread over the run's measured length, half are aimed just after an evaluation line appears
  on stdout, which is when `last.pt` / `best.pt` are being written. Then the run is continued with
  `slm-train --out_dir O --resume` (settings come from the checkpoint) if `O/last.pt` exists, or
  started again with the original command if the kill came before the first checkpoint (there is
  nothing to resume). The resumed run must report the step stored in the last complete checkpoint,
  finish, and its final `last.pt` weights must be bit-identical (torch.equal, every tensor) to an
  uninterrupted run's; the loss history must match too.
* sigint: Ctrl-C (SIGINT) during training must write a checkpoint, say where, exit with code 130
  and no traceback; `--resume` then finishes with identical weights. A double Ctrl-C (stop at once)
  must also exit 130 and resume from the last complete checkpoint.

A kill goes to the whole process group (the way a terminal closing or a plug pulled stops
everything), so slm-prepare's tokenizer workers die with it.

Usage:  python .ci/faults.py --quick            # CI: 10 prepare + 20 train + 3 sigint trials
        python .ci/faults.py                    # more trials, full-size synthetic data
Prints `faults: N injected, N survived` and writes a JSON report (default bench/faults.json).
Exit status 1 if any fault was not survived.
"""
import argparse, hashlib, json, os, platform, random, shutil, signal, subprocess, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent   # console scripts of the active environment

def env():
    "Environment for every child: one thread each (runs side by side stay deterministic), offline, unbuffered."
    e = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONUNBUFFERED='1', HF_HUB_OFFLINE='1',
             HF_DATASETS_OFFLINE='1', TOKENIZERS_PARALLELISM='false', MPLBACKEND='Agg')
    return e

def cmd(name, *args):
    exe = BIN/name
    return [str(exe) if exe.exists() else shutil.which(name) or name, *map(str, args)]

def sha(p): return hashlib.sha256(Path(p).read_bytes()).hexdigest()

def run(argv, timeout=600):
    "Run to completion; return (returncode, stdout, stderr, seconds)."
    t0 = time.time()
    r = subprocess.run(argv, capture_output=True, text=True, env=env(), timeout=timeout)
    return r.returncode, r.stdout, r.stderr, time.time() - t0

class Child:
    "A process in its own group whose stdout lines are collected (with arrival times) by a thread."
    def __init__(self, argv):
        self.t0 = time.time()
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(),
                                  start_new_session=True, bufsize=1)
        self.lines, self.cond, self.err = [], threading.Condition(), []
        self._t = threading.Thread(target=self._read, daemon=True); self._t.start()
        self._e = threading.Thread(target=lambda: self.err.extend(self.p.stderr), daemon=True); self._e.start()
    def _read(self):
        for line in self.p.stdout:
            with self.cond: self.lines.append((time.time() - self.t0, line)); self.cond.notify_all()
        with self.cond: self.cond.notify_all()
    def wait_for(self, pred, timeout=300):
        "Wait until a stdout line satisfies `pred` (True) or the process ends (False)."
        end = time.time() + timeout
        with self.cond:
            seen = 0
            while True:
                for _, l in self.lines[seen:]:
                    if pred(l): return True
                seen = len(self.lines)
                if self.p.poll() is not None and not self._t.is_alive(): return False
                if time.time() > end: return False
                self.cond.wait(0.05)
    def signal(self, sig, group=True):
        "Send `sig`; return False if the process had already finished."
        if self.p.poll() is not None: return False
        try:
            if group: os.killpg(self.p.pid, sig)
            else: self.p.send_signal(sig)
        except ProcessLookupError: return False
        return True
    def finish(self, timeout=600):
        rc = self.p.wait(timeout)
        self._t.join(5); self._e.join(5)
        return rc, ''.join(l for _, l in self.lines), ''.join(self.err)

def tmp_files(d): return sorted(p.name for p in Path(d).iterdir() if p.name.endswith('.tmp')) if Path(d).is_dir() else []

# ---------------------------------------------------------------- prepare
PREP_FILES = ('train.bin', 'validation.bin', 'meta.json')

def prepare_trial(i, delay, ref, work, n_stories):
    "`delay`: seconds after the start, or (file prefix, pause): kill `pause` s after that temporary file appears."
    out = work/f'prep{i}'
    argv = cmd('slm-prepare', '--data', 'synthetic', '--out', out, '--quiet', *(['--n_stories', n_stories] if n_stories else []))
    c = Child(argv)
    t = dict(kind='prepare', trial=i)
    if isinstance(delay, tuple):   # aimed at the writing phase
        prefix, pause = delay
        while c.p.poll() is None and not (out.is_dir() and any(n.startswith(prefix) for n in os.listdir(out))): time.sleep(0.002)
        time.sleep(pause); t['aim'], t['pause_s'] = f'{prefix} appeared', round(pause, 3); delay = time.time() - c.t0
    else: t['aim'] = 'uniform'; time.sleep(delay)
    injected = c.signal(signal.SIGKILL)
    rc, _, err = c.finish()
    t.update(delay_s=round(delay, 3), injected=injected, rc=rc)
    left = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    t['left'] = left
    t['phase'] = ('finished' if 'meta.json' in left else
                  'writing meta' if any(n.startswith('.meta.json') for n in left) else
                  'writing validation' if any(n.startswith('.validation.bin') for n in left) else
                  'writing train' if any(n.startswith('.train.bin') for n in left) else 'before any file')
    problems = []
    # nothing partial may look finished: meta.json present => every file complete and identical to the reference
    if 'meta.json' in left:
        for f in PREP_FILES:
            if not (out/f).is_file() or sha(out/f) != ref[f]: problems.append(f'after the kill meta.json exists but {f} differs from the reference')
    rc2, out2, err2, dt = run(argv)
    t['rerun_rc'], t['rerun_s'] = rc2, round(dt, 2)
    t['reused'] = 'already prepared' in (out2 + err2)
    if rc2 != 0: problems.append(f'rerun failed (exit {rc2}): {err2.strip()[-300:]}')
    else:
        for f in PREP_FILES:
            if sha(out/f) != ref[f]: problems.append(f'{f} differs from the uninterrupted run')
        if tmp_files(out): problems.append(f'temporary files left: {tmp_files(out)}')
    if 'Traceback' in err2: problems.append('traceback in the rerun')
    t['survived'], t['problems'] = not problems, problems
    shutil.rmtree(out, ignore_errors=True)
    return t

# ---------------------------------------------------------------- train
def is_eval(line): return line.startswith('step ') and 'validation' in line

def weights(path):
    import torch
    return torch.load(path, map_location='cpu', weights_only=True)

def same_weights(a, b):
    import torch
    ma, mb = a['model'], b['model']
    return ma.keys() == mb.keys() and all(torch.equal(ma[k], mb[k]) for k in ma)

def history_core(path):
    "The columns of history.csv that must not depend on interruptions (timings excluded)."
    rows = []
    for line in Path(path).read_text().splitlines()[1:]:
        v = line.split(',')
        rows.append((v[0], v[1], v[2], v[3], v[4], v[5]))
    return rows

def train_argv(out, data, iters, every):
    return cmd('slm-train', '--preset', 'test', '--data_dir', data, '--out_dir', out, '--max_iters', iters,
               '--eval_interval', every)

def resume_and_check(t, out, orig_argv, ref, problems):
    "Continue a killed/stopped run as a user would, then compare with the uninterrupted reference."
    last = out/'last.pt'
    if last.exists():
        try: saved = weights(last)
        except Exception as e:
            problems.append(f'last.pt left by the kill is unreadable: {e!r}'[:300]); saved = None
        t['ckpt_step'] = saved['step'] if saved else None
        argv = cmd('slm-train', '--out_dir', out, '--resume'); t['rerun'] = 'resume'
    else:
        # no last.pt: start again, as the refusal tells a user to when a killed first save left only best.pt
        t['ckpt_step'] = None; argv = orig_argv + (['--overwrite'] if (out/'best.pt').exists() else [])
        t['rerun'] = 'fresh (no checkpoint yet)' + (', --overwrite (best.pt only)' if (out/'best.pt').exists() else '')
    rc, so, se, dt = run(argv)
    t['rerun_rc'], t['rerun_s'] = rc, round(dt, 2)
    if rc != 0: problems.append(f'rerun failed (exit {rc}): {se.strip()[-300:]}'); return
    if 'Traceback' in se: problems.append('traceback in the rerun')
    if t['ckpt_step'] is not None and f"at step {t['ckpt_step']:,}" not in so:
        problems.append(f"resume did not start from the last complete checkpoint (step {t['ckpt_step']})")
    got = weights(last)
    if got['step'] != ref['last']['step']: problems.append(f"finished at step {got['step']}, reference {ref['last']['step']}")
    if not same_weights(got, ref['last']): problems.append('final last.pt weights differ from the uninterrupted run')
    t['best_same'] = (out/'best.pt').exists() and same_weights(weights(out/'best.pt'), ref['best'])
    if not t['best_same']: problems.append('final best.pt differs from the uninterrupted run (stale best.pt)')
    if history_core(out/'history.csv') != ref['history']: problems.append('history.csv differs from the uninterrupted run')

def train_trial(i, mode, delay, ref, work, data, iters, every):
    out = work/f'train{i}'
    argv = train_argv(out, data, iters, every)
    c = Child(argv)
    t = dict(kind='train', trial=i, aim=mode)
    if mode == 'uniform': time.sleep(delay)
    else:   # aimed: wait for evaluation line number `k`, then a short pause: checkpoints are being written
        k, pause = delay
        n = [0]
        def pred(l):
            if is_eval(l): n[0] += 1
            return n[0] > k
        c.wait_for(pred); time.sleep(pause); delay = time.time() - c.t0
        t['after_eval'], t['pause_s'] = k, round(pause, 3)
    t['delay_s'] = round(delay if mode == 'uniform' else delay, 3)
    seen = ''.join(l for _, l in c.lines)
    injected = c.signal(signal.SIGKILL)
    c.finish()
    t['injected'] = injected
    left = tmp_files(out)
    t['left_tmp'] = left
    t['phase'] = ('checkpoint write' if any('.pt.' in n for n in left) else
                  'start-up' if 'model:' not in seen else
                  'report' if '--- stories' in seen else
                  'training' if (out/'last.pt').exists() else 'before first checkpoint')
    problems = []
    resume_and_check(t, out, argv, ref, problems)
    t['survived'], t['problems'] = not problems, problems
    shutil.rmtree(out, ignore_errors=True)
    return t

def sigint_trial(i, k, pause, double, ref, work, data, iters, every):
    "Ctrl-C after evaluation `k` (+ pause): a checkpoint, a message naming it, exit 130; then --resume."
    out = work/f'sigint{i}'
    argv = train_argv(out, data, iters, every)
    c = Child(argv)
    n = [0]
    def pred(l):
        if is_eval(l): n[0] += 1
        return n[0] > k
    c.wait_for(pred); time.sleep(pause)
    t = dict(kind='sigint', trial=i, after_eval=k, pause_s=round(pause, 3), double=double,
             delay_s=round(time.time() - c.t0, 3))
    injected = c.signal(signal.SIGINT)
    if double and injected:   # the second Ctrl-C as soon as the first one is acknowledged: stop at once
        end = time.time() + 5
        while time.time() < end and not any('stopping after' in l for l in c.err) and c.p.poll() is None: time.sleep(0.005)
        t['second_after_s'] = round(time.time() - c.t0 - t['delay_s'], 3)
        c.signal(signal.SIGINT)
    rc, so, se = c.finish()
    t['injected'], t['rc'] = injected, rc
    problems = []
    if injected:
        if rc != 130: problems.append(f'exit code {rc}, expected 130')
        if 'Traceback' in se: problems.append('traceback on Ctrl-C: ' + se.strip()[-300:])
        if not double:
            msg = [l for l in so.splitlines() if 'state is saved in' in l]
            t['message'] = msg[0] if msg else None
            if not msg or str(out/'last.pt') not in msg[0]: problems.append('no message saying where the checkpoint is')
            if not (out/'last.pt').exists(): problems.append('no last.pt written on Ctrl-C')
            else:
                st = weights(out/'last.pt')['step']
                t['saved_step'] = st
                if f'stopped at step {st:,}' not in so: problems.append('message and checkpoint step disagree')
        else: t['message'] = (se.strip().splitlines() or [''])[-1]
    resume_and_check(t, out, argv, ref, problems)
    t['survived'], t['problems'] = not problems, problems
    shutil.rmtree(out, ignore_errors=True)
    return t

# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='CI size: 10 prepare, 20 train, 3 sigint trials on small data')
    ap.add_argument('--seed', type=int, default=1234, help='seed of the random kill moments')
    ap.add_argument('--prepare', type=int, default=None, help='prepare trials (default 10 quick, 20 full)')
    ap.add_argument('--train', type=int, default=None, help='train trials (default 20 quick, 40 full)')
    ap.add_argument('--jobs', type=int, default=2, help='trials run side by side (each child uses one thread)')
    ap.add_argument('--json', default=str(ROOT/'bench'/'faults.json'), help='where to write the report')
    a = ap.parse_args()
    n_prep = a.prepare if a.prepare is not None else (10 if a.quick else 20)
    n_train = a.train if a.train is not None else (20 if a.quick else 40)
    n_stories = 4000 if a.quick else None    # quick: a smaller synthetic corpus, same code path
    iters, every = 12, 3
    rng = random.Random(a.seed)
    print(f"faults: seed {a.seed}, {'quick' if a.quick else 'full'}, {n_prep} prepare + {n_train} train + 3 sigint trials, "
          f"{a.jobs} at a time; {platform.node()} ({os.cpu_count()} CPUs), python {platform.python_version()}", flush=True)
    t_all = time.time()
    work = Path(tempfile.mkdtemp(prefix='slm-faults-'))
    trials, refs = [], {}
    try:
        # references: uninterrupted runs, timed
        rd = work/'ref-prep'
        rc, _, se, dt_prep = run(cmd('slm-prepare', '--data', 'synthetic', '--out', rd, '--quiet',
                                     *(['--n_stories', n_stories] if n_stories else [])))
        if rc: sys.exit(f"reference slm-prepare failed: {se}")
        ref_prep = {f: sha(rd/f) for f in PREP_FILES}
        data = work/'data'
        rc, so, se, _ = run(cmd('slm-prepare', '--data', 'synthetic', '--out', data, '--quiet'))
        if rc: sys.exit(f"slm-prepare of the training data failed: {se}")
        rt = work/'ref-train'
        rc, so, se, dt_train = run(train_argv(rt, data, iters, every))
        if rc: sys.exit(f"reference slm-train failed: {se}")
        ref = dict(last=weights(rt/'last.pt'), best=weights(rt/'best.pt'), history=history_core(rt/'history.csv'))
        n_evals = sum(map(is_eval, so.splitlines()))
        refs = dict(prepare_s=round(dt_prep, 2), train_s=round(dt_train, 2), train_evals=n_evals)
        print(f"reference runs: slm-prepare {dt_prep:.1f} s, slm-train {dt_train:.1f} s ({iters} steps, {n_evals} evaluations)", flush=True)

        jobs = []
        for i in range(n_prep):   # half spread over the run, half aimed at the writing and publishing of the files
            d = rng.uniform(0.02, 0.98) * dt_prep if i % 2 == 0 else (rng.choice(['.train.bin', '.validation.bin']), rng.uniform(0, 0.2))
            jobs.append(lambda i=i, d=d: prepare_trial(i, d, ref_prep, work, n_stories))
        for i in range(n_train):
            if i % 2 == 0: spec = ('uniform', rng.uniform(0.02, 0.98) * dt_train)
            else: spec = ('aimed', (rng.randrange(n_evals), rng.uniform(0.0, 0.25)))
            jobs.append(lambda i=i, spec=spec: train_trial(i, spec[0], spec[1], ref, work, data, iters, every))
        for i, (k, double) in enumerate([(1, False), (rng.randrange(1, n_evals - 1), False), (2, True)]):
            p = rng.uniform(0.0, 0.3)
            jobs.append(lambda i=i, k=k, p=p, double=double: sigint_trial(i, k, p, double, ref, work, data, iters, every))

        def go(job):
            t = job()
            ok = 'ok  ' if t['survived'] else 'FAIL'
            if not t['injected']: ok = 'miss'
            print(f"{ok} {t['kind']:8s} #{t['trial']:<2d} at {t['delay_s']:6.2f} s  phase: {t.get('phase', 'training'):24s}"
                  f" rerun: {t.get('rerun', 'rerun')} {'; '.join(t['problems'] + t.get('notes', []))}", flush=True)
            return t
        with ThreadPoolExecutor(a.jobs) as ex:
            trials = list(ex.map(go, jobs))
            # a kill that came after the process had already finished injected nothing: draw more until the counts are met
            extra = len(jobs)
            for kind, want in (('prepare', n_prep), ('train', n_train)):
                for _ in range(3):
                    short = want - sum(t['injected'] for t in trials if t['kind'] == kind)
                    if short <= 0: break
                    more = []
                    for _ in range(short):
                        i, extra = extra, extra + 1
                        if kind == 'prepare':
                            d = rng.uniform(0.02, 0.6) * dt_prep
                            more.append(lambda i=i, d=d: prepare_trial(i, d, ref_prep, work, n_stories))
                        else:
                            d = rng.uniform(0.02, 0.6) * dt_train
                            more.append(lambda i=i, d=d: train_trial(i, 'uniform', d, ref, work, data, iters, every))
                    trials += list(ex.map(go, more))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    summary = {}
    for k in ('prepare', 'train', 'sigint'):
        ts = [t for t in trials if t['kind'] == k and t['injected']]
        summary[k] = dict(injected=len(ts), survived=sum(t['survived'] for t in ts),
                          missed=sum(not t['injected'] for t in trials if t['kind'] == k),
                          notes=sum(bool(t.get('notes')) for t in ts),
                          phases={p: sum(t.get('phase') == p for t in ts) for p in sorted({t.get('phase') for t in ts if t.get('phase')})})
    inj = sum(s['injected'] for s in summary.values()); surv = sum(s['survived'] for s in summary.values())
    failed = [t for t in trials if t['injected'] and not t['survived']]
    # a kill that came too late (the process had finished) injected nothing: it must still leave things correct
    failed += [t for t in trials if not t['injected'] and t['problems']]
    total_s = time.time() - t_all
    report = dict(seed=a.seed, mode='quick' if a.quick else 'full', command=' '.join(['python', '.ci/faults.py'] + sys.argv[1:]),
                  machine=dict(node=platform.node(), cpus=os.cpu_count(), python=platform.python_version(), platform=platform.platform()),
                  settings=dict(prepare=f"slm-prepare --data synthetic --out DIR{' --n_stories %d' % n_stories if n_stories else ''}",
                                train=f"slm-train --preset test --data_dir D --out_dir O --max_iters {iters} --eval_interval {every}",
                                resume="slm-train --out_dir O --resume", jobs=a.jobs),
                  references=refs, summary=summary, injected=inj, survived=surv, total_s=round(total_s, 1),
                  date=time.strftime('%Y-%m-%d %H:%M:%S'), trials=trials)
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(report, indent=1) + '\n')
    for k, s in summary.items(): print(f"  {k:8s} {s['injected']} injected, {s['survived']} survived, phases {s['phases']}"
                                       + (f", {s['missed']} kills came after the run ended" if s['missed'] else '')
                                       + (f", {s['notes']} with notes (see the report)" if s['notes'] else ''))
    print(f"faults: {inj} injected, {surv} survived ({total_s:.0f} s; report in {a.json})")
    sys.exit(1 if failed or surv != inj else 0)

if __name__ == '__main__': main()
