"""Check the site build without Quarto: run nbdev's own doc processing on every notebook, offline.

`nbdev_docs` = `_pre_docs` -> `proc_nbs` -> `serve_drv.main` for each notebook: `IN_TEST=1`,
`read_nb`, `FilterDefaults()(nb)`, `write_nb` into `_proc/`, then `quarto render`. Quarto is not
available here, so this script runs the same `FilterDefaults` processors (the same list, the same
`skip_procs`/`procs` settings, from the project root like `nbdev_docs`), writes the processed notebooks
into a temporary folder (never into the repository), and converts each to HTML with nbconvert.
It leaves out the parts of `_pre_docs` that write into the repository (`refresh_quarto_yml`,
`_build_modidx`, `nbdev_sidebar`) and that need Quarto.

One difference from nbdev on purpose: `exec_show_docs` raises on the first failing cell and the
notebook's page is not built; here each failure is recorded and processing goes on, so that every
failing cell is reported at once (a later failure can be a consequence of an earlier one).

FAIL (exit 1), one line per problem naming the notebook and the cell index in the .ipynb file, on:
an exception while processing, an error output, traceback text in an output, a stderr stream on
the page, an absolute machine path in an output or a source, an nbconvert failure, a missing
visible definition from REQUIRE_VISIBLE below, and on what a reader of the page would trip over:

- **A promise with nothing after it.** A markdown cell whose text ends with ':' announces something
  ("...and logs:"); the next cell on the processed page must be a code cell that shows output there
  (text, an image, a table, a show_doc block), or a visible code cell that is a definition (its code
  starts with `def`, `class` or a decorator: "the whole loop in plain PyTorch:" announces the code
  itself). Hidden cells are gone from the page, so a hidden cell right after the colon does not count,
  and neither does a cell of checks without output after "...gives the same numbers:".
- **A sample that is only its prompt.** In a code cell on the page that generates text (its source
  calls `generate_text`, `stream_text`, `sample_stories`, `generate_cli`, `generate`, `sample` or runs
  `slm-generate`), every sample the output shows must add something to its prompt. The prompts are the
  string literals of the page's code cells up to and including that one (hidden cells too) that look
  like text: at least 10 characters, a space and a letter. A sample starts where such a prompt starts
  a line of the output (or follows a quote or '[', as in a printed repr or list) and runs to the start
  of the next sample or to a separator line (`---`, `===`); what it holds after its prompt, ignoring
  whitespace, quotes, brackets and commas, must not be empty. An empty prompt (a new story) is not
  checked, and a sample whose text happens to end with a copy of its prompt would be flagged: choose
  another seed or prompt then.
- **Link noise.** nbdev turns a backticked name into a link when the name is in the project's index:
  a private name (`_fingerprint`) must not become a link (write it without backticks, or say what it does),
  and a show_doc source link must not read `#LNone` (nbdev found no line for the object).

REQUIRE_VISIBLE entries match the source of a code cell visible on the page, or the code of a
highlighted block (pygments' `<div class="highlight">`) that a shown cell's HTML output displays: a
page may show the real source of a function that lives in a lower module (chapter 10 shows `KVCache`
from the model module), read from the package when the notebook runs, so it cannot drift from the
code. (HTML, not a markdown code fence: nbdev links backticked names inside markdown outputs, code
blocks included.)
The course's budget (checked when every notebook is checked, or alone with --budget): the ten numbered
chapters together at most 150 minutes of study, none over 20, each with a figure of its own and at least 20
in all, by the rule the site is measured by (prose at 200 words a minute, visible code at 8 lines a minute,
printed output at 20 lines a minute; see `chapter_size`), and index.ipynb's course table gives each chapter's
measured time (to the minute).

A table per notebook says how much a reader sees. With -v, notes list (without failing) the names
that a visible cell which is not a definition uses but no visible cell on the page binds (imports,
assignments, definitions, show_doc blocks): a reader who copies the page's code would miss them.
"""
import argparse, json, os, re, shutil, sys, tempfile, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

root = Path(__file__).resolve().parent.parent

# What a learner must be able to read on the site: notebook -> regexes (re.M), each must match the
# source of at least one code cell that is visible on the processed page. Edit as the notebooks move.
REQUIRE_VISIBLE = {
    # the ten chapters: the code that does each idea
    '01_dataset':   [r'^def read_stories\b', r'^def story_hash\b', r'^def split_stories\b', r'^def load_stories\b'],
    '02_tokenization': [r'^def learn_bpe\b', r'^def gpt2_encoding\b', r'^def bpe_encoding\b', r'^def train_bpe\b',
                        r'^def encode_stories\b', r'^def prepare\b'],
    '03_batches':   [r'^def simple_batch\b', r'^def get_batch\b'],
    '04_model':     [r'^class CausalSelfAttention\b',
                     r'^class MultiHeadAttention\b',                      # the plain multi-head version
                     r'^class Block\b', r'^class MLP\b', r'^class GPTConfig\b',
                     r'^class GPT\b[\s\S]*^\s+def forward\(|^def forward\(self\s*:\s*GPT\b',   # GPT.forward
                     r'\bladder\(LADDER\b'],                              # what each part buys, run on the page
    '05_evaluation': [r'^def estimate_loss\b', r'^def perplexity\b', r'^def evaluate_tokens\b', r'^def bits_per_byte\b'],
    '06_config':    [r'^class TrainConfig\b', r'^def tokens_per_step\(self\s*:\s*TrainConfig\b', r'^PRESETS\s*='],
    '07_optim':     [r'^def get_lr\b', r'^def configure_optimizer\b', r'^def clip_and_step\b'],
    '08_training':  [r'\.backward\([\s\S]*\.step\(',     # a training step: backward, then an optimizer step
                     r'^def train_loop\b'],                # the loop with what a real run adds
    '09_plots':     [r'^def plot_history\b', r'^def save_loss_plot\b'],
    '10_inference': [r'^def sample\b[\s\S]*\bmultinomial\(',   # sampling the next token, written out
                     r'^def sample_next\b',                 # the sampling step GPT.generate uses
                     r'^class KVCache\b',
                     r'^def forward_cached\(self\s*:\s*CausalSelfAttention\b',   # attention with the cache
                     r'^def generate_stream\b',             # the cached loop
                     r'^def generate_text\b'],
    # the appendices: the engineering that left the chapters stays visible on their pages
    'sources':      [r'^def read_txt\b', r'^def read_jsonl\b', r'^def read_json\b', r'^def read_parquet\b',
                     r'^def read_local\b', r'^def check_load_args\b', r'^def _hub_reachable\b', r'^def load_tinystories\b',
                     r'^def story_rule\b'],                              # how plain text is cut into stories
    'corpus':       [r'^def gpt2_files\b', r'^def bpe_json\b', r'^def read_bpe_json\b', r'^def finished_corpus\b',
                     r'^def corpus_mismatch\b', r'^class CorpusJob\b', r'^def plan_corpus\b'],
    'prepare_fast': [r'^def encode_joined\b', r'^def ordered_map\b', r'^def write_tokens\b'],
    'ablations':    [r'^class Rung\b', r'^def ladder\b', r'^def train_rung\b', r'^LADDER = '],
    'hardware':     [r'^def load_scaler_state\b'],
    'plot_style':   [r'^def draw_history\b', r'^def draw_lr\b'],
    'step':         [r'^def train_step\b', r'^def choose_micro_batch\b', r'^def step_batch\b'],   # the step, however split
    'runner':       [r'^class Run\b', r'^def _loop\b', r'^def train\b'],   # the real loop and what it runs in
    'loading':      [r'^def load_model\b', r'^def from_hf\(cls\s*:\s*GPT\b', r'^def to_hf\(self\s*:\s*GPT\b',
                     r'^def from_checkpoint_state\(cls\s*:\s*GPT\b', r'^def model_tokenizer\b'],
}

# Absolute paths of one machine. The lookbehind keeps URLs (https://host/home/...) and relative paths out;
# /content (Colab's working folder) is not listed: it is the same on every Colab machine.
ABS_PATH = re.compile(r'''(?<![\w.:/~$%-])(?:/(?:work|tmp|root|home|Users|mnt|scratch|private/var|var/folders|'''
                      r'''opt/conda|usr/local/lib|usr/lib/python\d)(?=[/\s'"`),:]|$)|\b[A-Za-z]:\\(?:Users|Windows)\\)''', re.M)
# notebook -> regexes (searched in the line) for made-up paths that are legitimate there: values a test passes
# through a parser, never a file of this machine
ALLOWED_PATHS = {
    '06_config': [r"TrainConfig\(data='/home/me/stories\.jsonl'\)", r"'--out', '/tmp/run1'", r"'/tmp/run1'\)"],
}

JARGON = re.compile(r"\bseeds\b|\bseed notebooks?\b", re.I)
TRACEBACK = re.compile(r'Traceback \(most recent call last\)')
# the page-reading checks (see the docstring)
GENERATES = re.compile(r"\b(?:generate_text|stream_text|sample_stories|generate_cli|generate|sample)\s*\(|slm-generate")
SEPARATOR = re.compile(r'^[ \t]*(?:-{3,}|={3,}).*$', re.M)
PRIVATE_LINK = re.compile(r'\[`(_\w+)`\]\(')
HIGHLIGHT = re.compile(r'<div class="highlight"')

def _shown_source(out):
    "The code a highlighted HTML output shows (tags stripped), or ''"
    h = (out.get('data') or {}).get('text/html', '')
    h = h if isinstance(h, str) else ''.join(h)
    if not HIGHLIGHT.search(h): return ''
    import html
    return html.unescape(re.sub(r'<[^>]+>', '', h))

def _literals(src):
    "String literals of a code cell that look like text (prompt candidates)"
    import ast
    try: tree = ast.parse('\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!'))))
    except SyntaxError: return set()
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            t = n.value.strip()
            if len(t) >= 10 and ' ' in t and re.search('[A-Za-z]', t): out.add(t)
    return out

def _empty_samples(text, prompts):
    "The prompts in `text` that start a sample with nothing after them (see the docstring)"
    if not prompts: return []
    alt = '|'.join(re.escape(p) for p in sorted(prompts, key=len, reverse=True))   # longest first
    starts = [(m.start(), m.end(), m.group(0)) for m in re.finditer(rf"(?:^|(?<=[\n'\"\[]))(?:{alt})", text)]
    bounds = sorted({m.start() for m in SEPARATOR.finditer(text)} | {a for a, _, _ in starts} | {len(text)})
    empty = []
    for a, b, p in starts:
        end = next(x for x in bounds if x >= b)
        if not re.sub(r"""[\s'"\[\](),]""", '', text[b:end]): empty.append(p)
    return empty

def _is_definition(cell):
    "Is the cell a visible definition: its code (options and comments left out) starts with def, class or a decorator?"
    if not _visible(cell): return False
    code = [l for l in _quarto_opts(cell.get('source', ''))[1].splitlines() if l.strip() and not l.lstrip().startswith('#')]
    return bool(code) and re.match(r'(?:async\s+def|def|class)\s|@', code[0]) is not None

def _unbound_names(cells):
    "(cell, names) for visible non-definition cells that use names no visible cell before binds (see the docstring)"
    import ast, builtins
    bound = set(dir(builtins)) | {'display', 'get_ipython'}
    for c in cells:                      # show_doc blocks document a name on the page
        if c.cell_type == 'code': bound |= {m.split('.')[0] for m in re.findall(r'show_doc\(([\w.]+)', c.source)}
    out = []
    for c in cells:
        if not _visible(c): continue
        code = '\n'.join(l for l in _quarto_opts(c.source)[1].splitlines() if not l.lstrip().startswith(('%', '!')))
        try: tree = ast.parse(code)
        except SyntaxError: continue
        new = set()
        for n in ast.walk(tree):
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load): new.add(n.id)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): new.add(n.name)
            elif isinstance(n, ast.alias): new.add((n.asname or n.name).split('.')[0])
            elif isinstance(n, ast.arg): new.add(n.arg)
            elif isinstance(n, ast.ExceptHandler) and n.name: new.add(n.name)
            elif isinstance(n, ast.ImportFrom) and any(a.name == '*' for a in n.names):
                try: new |= set(getattr(__import__(n.module, fromlist=['*']), '__all__', []))
                except Exception: pass
        if not _is_definition(c):
            used = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - bound - new)
            if used: out.append((c, used))
        bound |= new
    return out

def _has_output(cell):
    "Does a code cell show some output on the page: non-blank text, an image, HTML or markdown?"
    if cell.get('cell_type') != 'code' or not _shows_output(cell): return False
    for o in cell.get('outputs', []):
        if o.get('output_type') == 'stream' and o.get('name') == 'stdout' and _text(o).strip(): return True
        for k, v in (o.get('data') or {}).items():
            if k.startswith('image/'): return True
            if k.startswith('text/') and (v if isinstance(v, str) else ''.join(v)).strip(): return True
    return False
QUARTO_OPT = re.compile(r'^\s*#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')

def _text(out):
    "All the text of one output (stream text, text/* data, traceback), images left out"
    parts = []
    if out.get('output_type') == 'stream': parts.append(out.get('text', ''))
    for k, v in (out.get('data') or {}).items():
        if k.startswith('text/') or k.endswith('json'): parts.append(v if isinstance(v, str) else json.dumps(v) if not isinstance(v, list) else ''.join(v))
    if out.get('output_type') == 'error': parts.append('\n'.join(out.get('traceback', [])))
    return ''.join(p if isinstance(p, str) else ''.join(p) for p in parts)

def _quarto_opts(src):
    "Quarto cell options left in a processed cell (`#| echo: false`), and the code without them"
    opts, code = {}, []
    for line in src.splitlines():
        m = QUARTO_OPT.match(line)
        if m and not code: opts[m.group(1)] = m.group(2).strip('"\'').lower()
        else: code.append(line)
    return opts, '\n'.join(code).strip()

def _visible(cell):
    "Is the cell's source shown on the rendered page (Quarto's echo/include options)?"
    if cell.get('cell_type') != 'code': return False
    opts, code = _quarto_opts(cell.get('source', ''))
    return bool(code) and opts.get('echo') != 'false' and opts.get('include') != 'false'

def _shows_output(cell):
    opts, _ = _quarto_opts(cell.get('source', ''))
    return opts.get('include') != 'false' and opts.get('output') != 'false'

def _paths(s, name):
    allowed = [re.compile(p) for p in ALLOWED_PATHS.get(name, [])]
    found = []
    for line in s.splitlines():
        for m in ABS_PATH.finditer(line):
            if not any(a.search(line) for a in allowed): found.append(line.strip()[:100])
    return found

def process(path, require=None):
    "Process one notebook as `nbdev_docs` would (in a fresh process); return facts and problems"
    import io, warnings
    from contextlib import redirect_stderr, redirect_stdout
    t0 = time.time()
    os.chdir(root)                                   # nbdev_docs runs from the project root
    if str(root) not in sys.path: sys.path.insert(0, str(root))
    os.environ['IN_TEST'] = '1'                      # as serve_drv.main does
    os.environ.setdefault('MPLBACKEND', 'Agg')
    from execnb.nbio import read_nb, write_nb
    import nbdev.processors as P

    path, name = Path(path), Path(path).stem
    nb = read_nb(path)
    orig_cells = list(nb.cells)
    orig = {id(c): i for i, c in enumerate(orig_cells)}
    raw = [(c.cell_type, c.source) for c in orig_cells]   # sources before processing
    problems, notes, executed, errors = [], [], [], []

    def where(cell):
        i = orig.get(id(cell))
        if i is not None: return f"cell {i}"
        return f"show_doc cell added by nbdev ({cell.source.strip().splitlines()[-1][:60]})"

    class exec_show_docs(P.exec_show_docs):           # same name, so skip_procs still applies
        "nbdev's exec_show_docs, but it records a failing cell and goes on"
        def __call__(self, cell):
            with warnings.catch_warnings(record=True) as ws:
                warnings.simplefilter('always')
                if self.nb.has_docs_ and hasattr(self, 'k') and P._do_eval(cell): executed.append(cell)
                try: super().__call__(cell)
                except Exception:
                    errors.append((cell, cell.idx_, self.k.exc))
                    self.k.exc = None
            if any('containing imports and other code' in str(w.message) for w in ws):
                notes.append(f"{where(cell)}: nbdev warns: imports mixed with other code (the cell runs during the docs build)")
            for w in ws:
                if 'containing imports and other code' not in str(w.message): warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)

    class Filter(P.FilterDefaults):
        def base_procs(self):
            return [exec_show_docs if p is P.exec_show_docs else p for p in super().base_procs()]

    out_err, out_std = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(record=True) as caught, redirect_stderr(out_err), redirect_stdout(out_std):
        warnings.simplefilter('always')
        try: Filter()(nb)
        except Exception as e: problems.append(f"processing failed: {type(e).__name__}: {str(e).splitlines()[0][:150]}")
    for k, (cell, idx, e) in enumerate(errors):
        first = ' (nbdev_docs stops here)' if k == 0 else ''
        msg = str(e).strip().splitlines()[0][:150] if str(e).strip() else ''
        problems.append(f"{where(cell)}: {type(e).__name__}: {msg} while nbdev runs the cell for the docs "
                        f"(nbdev: 'in cell {idx}'){first}")
    for w in caught:
        if not issubclass(w.category, DeprecationWarning) and 'deprecat' not in str(w.message).lower():
            notes.append(f"warning while processing: {str(w.message).splitlines()[0][:150]}")

    # the processed notebook: what Quarto would render
    cells, failed = nb.cells, {id(c) for c, _, _ in errors}
    last = -1
    for c in cells:
        i = orig.get(id(c))
        if i is not None: last = i
        loc = where(c) if i is not None else f"{where(c)} after cell {last}"
        # a cell that failed during processing is reported above: its fresh error output is a consequence
        if c.cell_type != 'code' or id(c) in failed or not _shows_output(c): continue
        found = {}
        for o in c.get('outputs', []):
            t = _text(o)
            if o.get('output_type') == 'error':
                found.setdefault('err', f"error output {o.get('ename')}: {str(o.get('evalue'))[:120]}")
            elif TRACEBACK.search(t): found.setdefault('tb', "traceback text in an output")
            if o.get('output_type') == 'stream' and o.get('name') == 'stderr':
                first = next((l.strip() for l in t.splitlines() if l.strip()), '')
                found.setdefault('stderr', f"stderr output on the page: {first[:100]!r}")
            for p in _paths(t, name): found.setdefault('path', []).append(p)
        if 'path' in found:
            ps = found['path']
            found['path'] = f"absolute path in an output: {ps[0]!r}" + (f" (and {len(ps)-1} more)" if len(ps) > 1 else '')
        problems += [f"{loc}: {v}" for v in found.values()]
    for i, (t, s) in enumerate(raw):
        ps = _paths(s, name)
        if ps: problems.append(f"cell {i}: absolute path in the {t} source: {ps[0]!r}" + (f" (and {len(ps)-1} more)" if len(ps) > 1 else ''))
    for i, (t, s) in enumerate(raw):      # the project's own words: the original recipe, never "the seeds"
        if JARGON.search(s): problems.append(f"cell {i}: {JARGON.search(s).group(0)!r} in the {t} source: say 'the original recipe'")
    # what a reader trips over: a colon with nothing after it, samples that are only their prompt, link noise
    for j, c in enumerate(cells):
        if c.cell_type == 'markdown' and c.source.rstrip().endswith(':'):
            nxt = cells[j + 1] if j + 1 < len(cells) else None
            if nxt is None or not (_has_output(nxt) or _is_definition(nxt)):
                last_line = c.source.rstrip().splitlines()[-1].strip()
                what = ('nothing (the page ends)' if nxt is None else f"a {nxt.cell_type} cell" if nxt.cell_type != 'code'
                        else f"{where(nxt)}, which shows no output")
                problems.append(f"{where(c)}: the text ends with ':' ({last_line[-70:]!r}) but is followed by {what}: "
                                "show what it announces, or end the sentence")
    prompts, on_page = set(), {id(x) for x in cells}
    for i, (t, s) in enumerate(raw):
        if t != 'code': continue
        prompts |= _literals(s)
        c = orig_cells[i]
        if id(c) not in on_page or not _visible(c) or not _shows_output(c) or not GENERATES.search(s): continue
        text = ''.join(_text(o) for o in c.get('outputs', []) if o.get('output_type') != 'error')
        for p in dict.fromkeys(_empty_samples(text, prompts)):
            problems.append(f"cell {i}: a generated sample is only its prompt {p[:50]!r} (it ended at once): "
                            "choose a prompt, seed or setting whose sample continues, or say why it is empty")
    for c in cells:
        src = c.source if c.cell_type == 'markdown' else ''
        outs = ''.join(_text(o) for o in c.get('outputs', []))
        for m in dict.fromkeys(PRIVATE_LINK.findall(src + outs)):
            problems.append(f"{where(c)}: nbdev links the private name `{m}`: write it without backticks")
        if '#LNone' in outs: problems.append(f"{where(c)}: a show_doc source link reads '#LNone' (nbdev found no line for it)")
    # the committed file, hidden cells included: a reader's clone holds those outputs too
    for i, c in enumerate(json.loads(Path(path).read_text())['cells']):
        ps = [p for o in c.get('outputs', []) for p in _paths(_text(o), name)]
        if any(x.startswith(f"cell {i}:") and 'absolute path in an output' in x for x in problems): continue   # reported above
        if ps: problems.append(f"cell {i}: absolute path in a committed output (hidden from the page, not from a clone): {ps[0]!r}")

    for c, names in _unbound_names(cells):
        notes.append(f"{where(c)}: a visible cell uses {', '.join(names[:8])}, bound by no visible cell on the page "
                     "(a hidden import or setup cell?)")
    # what a reader sees
    vis_ids = {id(c) for c in cells if _visible(c)}
    code_orig = [i for i, (t, s) in enumerate(raw) if t == 'code' and s.strip()]
    visible = [i for i in code_orig if id(orig_cells[i]) in vis_ids]
    n_showdoc = sum(1 for c in cells if c.cell_type == 'code' and P._is_showdoc(c))
    def lines(s): return [l for l in s.splitlines() if l.strip() and not l.lstrip().startswith('#|')]
    words = sum(len(re.findall(r"[A-Za-z0-9][\w'’-]*", c.source)) for c in cells if c.cell_type == 'markdown')
    vis_lines = sum(len(lines(_quarto_opts(c.source)[1])) for c in cells if _visible(c) and id(c) in orig)
    all_lines = sum(len(lines(s)) for t, s in raw if t == 'code')
    vis_src = [_quarto_opts(c.source)[1] for c in cells if _visible(c)]
    vis_src += [_shown_source(o) for c in cells if c.cell_type == 'code' and _shows_output(c) for o in c.get('outputs', [])]
    require = REQUIRE_VISIBLE if require is None else require
    req = [(r, any(re.search(r, s, re.M) for s in vis_src)) for r in require.get(name, [])]
    anywhere = [(r, any(re.search(r, s, re.M) for s in vis_src)) for r in require.get('*', [])]

    out = Path(os.environ['DOCS_CHECK_OUT'])
    write_nb(nb, out/path.name)
    try:
        import nbformat
        from nbconvert import HTMLExporter
        html, _ = HTMLExporter().from_notebook_node(nbformat.read(out/path.name, as_version=4))
        (out/f"{name}.html").write_text(html, encoding='utf-8')
    except Exception as e: problems.append(f"nbconvert failed: {type(e).__name__}: {str(e)[:150]}")
    leaked = out_err.getvalue().strip()
    if leaked: notes.append(f"printed to the console while processing: {leaked.splitlines()[-1][:120]!r}")
    return dict(name=path.name, problems=problems, notes=notes, req=req, anywhere=anywhere, code=len(code_orig), visible=len(visible),
                showdoc=n_showdoc, executed=len(executed), words=words, vis_lines=vis_lines, all_lines=all_lines,
                secs=time.time() - t0)

# The course's study-time budget (issue: "the course in an afternoon"). The counting rule is the one the site
# is measured by: prose words at 200 a minute, code a reader sees at 8 lines a minute, printed output at 20 lines
# a minute. Hidden cells (#| hide, include/echo false, #| export, #| exporti) do not count; #| exports does, and
# so does source printed as an output (show_source). Figures: images in outputs and in markdown.
COURSE_MAX_MINUTES, CHAPTER_MAX_MINUTES, COURSE_MIN_FIGURES, CHAPTER_MIN_FIGURES = 150, 20, 20, 1
_HIDDEN_FOR_BUDGET = re.compile(r"^#\|\s*(hide\b|include:\s*false|echo:\s*false|export\s*$|export\b(?!s)|exporti\b)", re.M)

def chapter_size(path):
    "Study time of one numbered notebook as the site shows it: dict(words, code, output_lines, figures, minutes)"
    cells = json.loads(Path(path).read_text(encoding='utf-8'))["cells"]
    words = code = figs = out = 0
    for c in cells:
        src = "".join(c["source"])
        if c["cell_type"] == "markdown":
            words += len(re.findall(r"[A-Za-z0-9][\w'.,-]*", re.sub(r"```.*?```", " ", src, flags=re.S)))
            figs += len(re.findall(r"!\[[^\]]*\]\(", src))
        elif c["cell_type"] == "code" and not _HIDDEN_FOR_BUDGET.search(src):
            code += sum(1 for l in src.splitlines() if l.strip() and not l.strip().startswith("#|"))
        if c["cell_type"] == "code" and not re.search(r"^#\|\s*(hide\b|include:\s*false)", src, re.M):
            for o in c.get("outputs", []):
                d = o.get("data", {})
                if "image/png" in d or "image/svg+xml" in d: figs += 1; continue
                text = "".join(o.get("text", "")) or "".join(d.get("text/plain", ""))
                n = sum(1 for l in text.splitlines() if l.strip())
                if re.search(r"^\s*(class|def)\s+\w+", text, re.M) and "show_source" in src: code += n
                else: out += n
    return dict(words=words, code=code, output_lines=out, figures=figs, minutes=words / 200 + code / 8 + out / 20)

def course_budget(index=None):
    "Print each chapter's study time; return the budget failures (one line each)"
    rows = {p.stem: chapter_size(p) for p in sorted((root/'nbs').glob('[01][0-9]_*.ipynb'))}
    fails = []
    print(f"{'chapter':<18}{'words':>7}{'code':>6}{'output':>8}{'figures':>9}{'minutes':>9}")
    for k, r in rows.items():
        print(f"{k:<18}{r['words']:>7}{r['code']:>6}{r['output_lines']:>8}{r['figures']:>9}{r['minutes']:>9.1f}")
        if r['minutes'] > CHAPTER_MAX_MINUTES: fails.append(f"{k} takes {r['minutes']:.0f} min of study (at most {CHAPTER_MAX_MINUTES}): move engineering to an appendix")
        if r['figures'] < CHAPTER_MIN_FIGURES: fails.append(f"{k} has no figure of its own (a plot of its output or a diagram)")
    tot_min, tot_fig = sum(r['minutes'] for r in rows.values()), sum(r['figures'] for r in rows.values())
    print(f"{'course':<18}{sum(r['words'] for r in rows.values()):>7}{sum(r['code'] for r in rows.values()):>6}"
          f"{sum(r['output_lines'] for r in rows.values()):>8}{tot_fig:>9}{tot_min:>9.1f}")
    if tot_min > COURSE_MAX_MINUTES: fails.append(f"the ten chapters take {tot_min:.0f} min of study (at most {COURSE_MAX_MINUTES})")
    if tot_fig < COURSE_MIN_FIGURES: fails.append(f"the ten chapters have {tot_fig} figures (at least {COURSE_MIN_FIGURES})")
    # the index's course table states each chapter's time: it must be the measured one (rounded), so it cannot drift
    index = Path(index or root/'nbs'/'index.ipynb')
    text = "".join("".join(c["source"]) for c in json.loads(index.read_text(encoding='utf-8'))["cells"] if c["cell_type"] == "markdown")
    for k, r in rows.items():
        m = re.search(rf"^\|[^\n]*\({re.escape(k)}\.ipynb\)[^\n]*?\|\s*(\d+)\s*min\s*\|\s*$", text, re.M)
        if not m: fails.append(f"index.ipynb's course table gives no time for {k} (a last column '| N min |')")
        elif abs(int(m.group(1)) - r['minutes']) > 1: fails.append(f"index.ipynb says {k} takes {m.group(1)} min; measured {r['minutes']:.1f}")
    return fails

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='*', help='notebooks to check (default: every notebook nbdev_docs would process)')
    ap.add_argument('--out', help='folder for the processed notebooks and HTML pages (default: a temporary folder)')
    ap.add_argument('--jobs', type=int, default=min(2, os.cpu_count() or 1), help='parallel processes (default: %(default)s)')
    ap.add_argument('--require-visible', nargs='+', metavar='NAME', default=[],
                    help='extra requirements: NAME, a def/class whose source must be visible in some notebook, '
                         'or NB:REGEX, a regex (re.M) for a visible code cell of notebook NB (a stem, e.g. 04_model)')
    ap.add_argument('--no-require', action='store_true', help='report the REQUIRE_VISIBLE status without failing on it')
    ap.add_argument('-v', '--verbose', action='store_true', help='also print the notes (nbdev warnings)')
    ap.add_argument('--budget', action='store_true', help='only the course budget: study time and figures per chapter')
    args = ap.parse_args()
    if args.budget:
        fails = course_budget()
        for f in fails: print(f"FAIL {f}")
        return 1 if fails else 0
    t0 = time.time()
    for spec in args.require_visible:
        nbname, _, rx = spec.partition(':')
        if rx: REQUIRE_VISIBLE.setdefault(Path(nbname).stem, []).append(rx)
        elif re.fullmatch(r'[A-Za-z_]\w*', spec): REQUIRE_VISIBLE.setdefault('*', []).append(rf'^\s*(?:async\s+)?(?:def|class)\s+{spec}\b')
        else: ap.error(f"--require-visible wants NAME or NB:REGEX, got {spec!r}")
    # the files proc_nbs processes: nbglob(nbs_path) skips names starting with '_' or '.'
    nbs = [Path(p).resolve() for p in args.notebooks] or sorted(p for p in (root/'nbs').glob('*.ipynb') if not p.name[0] in '_.')
    for p in nbs:
        if not p.is_file(): ap.error(f"no such notebook: {p}")
    if args.out and root in [Path(args.out).resolve(), *Path(args.out).resolve().parents]:
        ap.error("--out must be outside the repository")
    out = Path(args.out or tempfile.mkdtemp(prefix='docs_check_'))
    out.mkdir(parents=True, exist_ok=True)
    os.environ['DOCS_CHECK_OUT'] = str(out)
    # spawned workers as in nbdev's proc_nbs; here a fresh interpreter per notebook (Python 3.11+)
    kw = dict(max_tasks_per_child=1) if sys.version_info >= (3, 11) else {}
    with ProcessPoolExecutor(args.jobs, mp_context=get_context('spawn'), **kw) as ex:
        futs = [ex.submit(process, p, REQUIRE_VISIBLE) for p in nbs]
        results = []
        for p, f in zip(nbs, futs):
            try: results.append(f.result())
            except Exception as e:                   # a bug here, or a worker that died: still one clear line
                results.append(dict(name=p.name, problems=[f"the check itself failed: {type(e).__name__}: {e}"], notes=[],
                                    req=[(r, False) for r in REQUIRE_VISIBLE.get(p.stem, [])],
                                    anywhere=[(r, False) for r in REQUIRE_VISIBLE.get('*', [])],
                                    code=0, visible=0, showdoc=0, executed=0, words=0, vis_lines=0, all_lines=0, secs=0))

    hdr = f"{'notebook':<22}{'code cells':>11}{'visible':>9}{'hidden':>8}{'show_doc':>10}{'run':>5}{'prose words':>13}{'code lines shown/all':>22}{'secs':>6}"
    print(hdr); print('-'*len(hdr))
    for r in results:
        print(f"{r['name'][:-6]:<22}{r['code']:>11}{r['visible']:>9}{r['code']-r['visible']:>8}{r['showdoc']:>10}{r['executed']:>5}"
              f"{r['words']:>13}{str(r['vis_lines'])+'/'+str(r['all_lines']):>22}{r['secs']:>6.1f}")
    print("(code cells: non-empty code cells in the .ipynb; visible: source shown on the page; show_doc: signature "
          "blocks nbdev adds or the notebook calls; run: cells nbdev executes for the docs)")
    print("required visible definitions" + (" (not failing: --no-require)" if args.no_require else "") + ":")
    missing_nbs = [] if args.notebooks else sorted(set(REQUIRE_VISIBLE) - {r['name'][:-6] for r in results} - {'*'})
    for r in results:
        for rx, ok in r['req']: print(f"  {'ok     ' if ok else 'MISSING'} {r['name'][:-6]}: {rx}")
    for n in missing_nbs: print(f"  MISSING {n}: the notebook is missing")
    nowhere = [rx for k, rx in enumerate(REQUIRE_VISIBLE.get('*', [])) if not any(r['anywhere'][k][1] for r in results)]
    for rx in REQUIRE_VISIBLE.get('*', []): print(f"  {'MISSING' if rx in nowhere else 'ok     '} any notebook: {rx}")
    n_missing = sum(not ok for r in results for _, ok in r['req']) + len(missing_nbs) + len(nowhere)
    n_bad = 0                                        # notebooks with a failure
    n_other = 0 if args.no_require else len(missing_nbs) + len(nowhere)   # failures of no single notebook
    if not args.no_require:
        for rx in nowhere: print(f"FAIL no notebook shows a visible code cell matching {rx}")
    for r in results:
        fails = r['problems'] + ([] if args.no_require else
                                 [f"required source not visible on the page: {rx}" for rx, ok in r['req'] if not ok])
        for p in fails: print(f"FAIL {r['name']} {p}")
        if args.verbose:
            for n in r['notes']: print(f"note {r['name']} {n}")
        n_bad += bool(fails)
    n_notes = sum(len(r['notes']) for r in results)
    if not args.notebooks:                           # the whole site: the course must fit its budget
        print("course budget (study minutes: prose 200 words/min, visible code 8 lines/min, output 20 lines/min):")
        budget_fails = course_budget()
        for f in budget_fails: print(f"FAIL {f}")
        n_other += len(budget_fails)
    print(f"docs: {len(results) - n_bad} of {len(results)} notebooks pass nbdev's doc processing and the page checks; "
          f"{n_missing} required definitions not visible; {n_notes} notes{'' if args.verbose or not n_notes else ' (-v shows them)'}; "
          f"{time.time() - t0:.0f}s" + (f"; pages in {out}" if args.out else ''))
    if not args.out: shutil.rmtree(out, ignore_errors=True)
    return 1 if n_bad or n_other else 0

if __name__ == '__main__': sys.exit(main())
