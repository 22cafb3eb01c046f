"""Check how the slm_nb modules fit together, from their source (ast), without importing them.

- the import graph among slm_nb modules, function-local imports included: FAIL on a cycle; print the
  modules in topological order (lowest first), and note an import that goes against the notebook
  order (DESIGN.md: a module imports only from lower ones);
- FAIL on importing a private name (leading underscore, not a dunder) from another slm_nb module,
  or reading one as an attribute of an imported slm_nb module;
- FAIL when a third-party package imported at module top level (the import runs on `import slm_nb.x`)
  is not in settings.ini `requirements` by its own name; function-local and guarded (try/except
  ImportError) imports are optional and only reported;
- FAIL when `min_python` in settings.ini is lower than the syntax and the features the modules use
  need: `ast.parse(..., feature_version=(3, minor))` for the syntax, plus what parses on old versions
  but fails when it runs there (`X | Y` in an annotation that is evaluated, in isinstance, and a few
  newer keyword arguments and names of the standard library).
"""
import argparse, ast, configparser, re, sys
from collections import defaultdict
from graphlib import TopologicalSorter
from importlib.metadata import packages_distributions
from pathlib import Path

root = Path(__file__).resolve().parent.parent

# (module, name) -> Python version that added it: used at runtime, it fails on older versions
NEW_NAMES = {
    ('itertools', 'pairwise'): 10, ('typing', 'TypeAlias'): 10, ('typing', 'ParamSpec'): 10, ('typing', 'TypeGuard'): 10,
    ('typing', 'Concatenate'): 10, ('typing', 'Self'): 11, ('typing', 'LiteralString'): 11, ('typing', 'Never'): 11,
    ('typing', 'assert_never'): 11, ('typing', 'reveal_type'): 11, ('enum', 'StrEnum'): 11, ('datetime', 'UTC'): 11,
    ('contextlib', 'chdir'): 11, ('asyncio', 'TaskGroup'): 11, ('itertools', 'batched'): 12, ('typing', 'override'): 12,
    ('contextlib', 'aclosing'): 10,
}
NEW_MODULES = {'tomllib': 11}
# call -> keyword -> version: zip(strict=), dataclass(slots=, kw_only=)
NEW_KWARGS = {'zip': {'strict': 10}, 'dataclass': {'slots': 10, 'kw_only': 10, 'match_args': 10},
              'dataclasses.dataclass': {'slots': 10, 'kw_only': 10, 'match_args': 10}}

def norm(name): return re.sub(r'[-_.]+', '-', name).lower()

def read_settings():
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(root/'settings.ini')
    return cp['DEFAULT']

def req_names(spec):
    "Distribution names in a settings.ini requirements line"
    return {norm(re.match(r'[A-Za-z0-9][A-Za-z0-9._-]*', r).group(0)) for r in spec.split()}

class Visitor(ast.NodeVisitor):
    "Collect the imports of one module, whether each is top level, local (in a def) or guarded (in a try)"
    def __init__(self, modname, pkg):
        self.mod, self.pkg = modname, pkg
        self.imports = []      # (target module, names or None, line, where)  where: top, local, guarded, local guarded, attr
        self.aliases = {}      # local name -> slm_nb module it names (import slm_nb.x as m / from slm_nb import x)
        self.depth, self.guard = 0, 0
        self.future_annotations = False
        self.runtime_union, self.new_api = [], []
    def where(self): return ' '.join(w for w, on in (('local', self.depth), ('guarded', self.guard)) if on) or 'top'
    def _try(self, node):
        catches = any(h.type is None or any(isinstance(n, ast.Name) and n.id in ('ImportError', 'ModuleNotFoundError', 'Exception')
                                            for n in ast.walk(h.type)) for h in node.handlers)
        self.guard += catches
        for n in node.body: self.visit(n)
        self.guard -= catches
        for n in node.handlers + node.orelse + node.finalbody: self.visit(n)
    visit_Try = _try
    visit_TryStar = _try
    def _func(self, node):
        for d in node.decorator_list: self.visit(d)
        args = node.args
        if not self.future_annotations:   # parameter and return annotations are evaluated when the def runs
            for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
                if a is not None and a.annotation is not None: self._union(a.annotation, 'a parameter annotation')
            if node.returns is not None: self._union(node.returns, 'a return annotation')
        for d in args.defaults + args.kw_defaults:
            if d is not None: self.visit(d)
        self.depth += 1
        for n in node.body: self.visit(n)
        self.depth -= 1
    visit_FunctionDef = _func
    visit_AsyncFunctionDef = _func
    def visit_Lambda(self, node):
        self.depth += 1; self.generic_visit(node); self.depth -= 1
    def visit_AnnAssign(self, node):
        # module and class level annotations are evaluated (dataclass fields); a function's local ones are not
        if not self.depth and not self.future_annotations: self._union(node.annotation, 'a variable annotation')
        if node.value is not None: self.visit(node.value)
    def _union(self, ann, what):
        for n in ast.walk(ann):
            if isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr):
                self.runtime_union.append((n.lineno, f"`{ast.unparse(n)}` in {what}")); return
    def visit_Call(self, node):
        fn = ast.unparse(node.func)
        if fn in ('isinstance', 'issubclass') and len(node.args) == 2 and isinstance(node.args[1], ast.BinOp) \
                and isinstance(node.args[1].op, ast.BitOr):
            self.runtime_union.append((node.lineno, f"`{ast.unparse(node.args[1])}` in {fn}()"))
        for kw in node.keywords:
            v = NEW_KWARGS.get(fn, {}).get(kw.arg)
            if v: self.new_api.append((node.lineno, v, f"{fn}({kw.arg}=...)"))
        self.generic_visit(node)
    def visit_Attribute(self, node):
        if isinstance(node.value, ast.Name):
            if (node.value.id, node.attr) in NEW_NAMES:
                self.new_api.append((node.lineno, NEW_NAMES[node.value.id, node.attr], f"{node.value.id}.{node.attr}"))
            if node.value.id in self.aliases and node.attr.startswith('_') and not node.attr.startswith('__'):
                self.imports.append((self.aliases[node.value.id], [node.attr], node.lineno, 'attr'))
        self.generic_visit(node)
    def _resolve(self, node):
        if not node.level: return node.module or ''
        base = self.mod.split('.')[:-node.level] if not self.mod.endswith('__init__') else self.mod.split('.')[:-node.level]
        return '.'.join(base + ([node.module] if node.module else []))
    def visit_ImportFrom(self, node):
        if node.module == '__future__':
            if any(a.name == 'annotations' for a in node.names): self.future_annotations = True
            return
        target = self._resolve(node)
        names = [a.name for a in node.names]
        if target == self.pkg:   # from slm_nb import model
            for a in node.names:
                self.imports.append((f"{self.pkg}.{a.name}", None, node.lineno, self.where()))
                self.aliases[a.asname or a.name] = f"{self.pkg}.{a.name}"
        else: self.imports.append((target, names, node.lineno, self.where()))
        for n in names:
            if (target, n) in NEW_NAMES: self.new_api.append((node.lineno, NEW_NAMES[target, n], f"from {target} import {n}"))
        if target.split('.')[0] in NEW_MODULES and not self.guard:
            self.new_api.append((node.lineno, NEW_MODULES[target.split('.')[0]], f"import of {target}"))
    def visit_Import(self, node):
        for a in node.names:
            self.imports.append((a.name, None, node.lineno, self.where()))
            if a.name.startswith(self.pkg + '.') and a.asname: self.aliases[a.asname] = a.name
            if a.name.split('.')[0] in NEW_MODULES and not self.guard:
                self.new_api.append((node.lineno, NEW_MODULES[a.name.split('.')[0]], f"import {a.name}"))

def syntax_minor(src, path):
    "The lowest 3.minor whose grammar parses `src` (ast feature_version), or None"
    for minor in range(7, sys.version_info.minor + 1):
        try: ast.parse(src, filename=str(path), feature_version=(3, minor)); return minor
        except SyntaxError: continue
    return None

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('-v', '--verbose', action='store_true', help='also list every edge and the optional imports')
    args = ap.parse_args()
    cfg = read_settings()
    pkg = cfg.get('lib_name', 'slm_nb')
    lib = root/cfg.get('lib_path', pkg)
    files = sorted(p for p in lib.glob('*.py') if p.name != '_modidx.py')
    fails, notes = [], []

    mods, visitors, order_of, syntax = {}, {}, {}, {}
    for p in files:
        name = pkg if p.stem == '__init__' else f"{pkg}.{p.stem}"
        src = p.read_text(encoding='utf-8')
        tree = ast.parse(src, filename=str(p))
        v = Visitor(name if p.stem != '__init__' else f"{pkg}.__init__", pkg)
        # `from __future__ import annotations` must come first: look for it before walking
        v.future_annotations = any(isinstance(n, ast.ImportFrom) and n.module == '__future__' and
                                   any(a.name == 'annotations' for a in n.names) for n in tree.body)
        v.visit(tree)
        mods[name], visitors[name] = p, v
        syntax[name] = syntax_minor(src, p)
        m = re.search(r'File to edit: \S*?nbs/(\d+)_\w+\.ipynb', src[:500])
        if m: order_of[name] = int(m.group(1))
    rel = lambda name: mods[name].relative_to(root).as_posix()

    # the graph among slm_nb modules
    graph, edges = defaultdict(set), defaultdict(list)
    for name, v in visitors.items():
        graph[name]
        for target, names, line, where in v.imports:
            if target != pkg and not target.startswith(pkg + '.'): continue
            tmod = target if target in mods else '.'.join(target.split('.')[:2])
            if tmod not in mods:
                fails.append(f"{rel(name)}:{line}: imports {target}, which is not a module of {pkg}"); continue
            if names:
                for n in names:
                    if n.startswith('_') and not n.startswith('__') and tmod != name:
                        how = 'reads' if where == 'attr' else 'imports'
                        fails.append(f"{rel(name)}:{line}: {how} the private name {n} of {tmod}")
            if where == 'attr' or tmod == name or tmod == pkg: continue
            graph[name].add(tmod)
            edges[name, tmod].append((line, where))

    # cycles: strongly connected components (Tarjan)
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
    def strong(v):
        index[v] = low[v] = counter[0]; counter[0] += 1; stack.append(v); on.add(v)
        for w in sorted(graph[v]):
            if w not in index: strong(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            sccs.append(sorted(comp))
    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index: strong(v)
    for comp in sccs:
        if len(comp) > 1:
            inside = [f"{a.split('.')[-1]} -> {b.split('.')[-1]} ({', '.join(f'line {l}' + ('' if w == 'top' else f' {w}') for l, w in edges[a, b])})"
                      for a in comp for b in sorted(graph[a]) if b in comp]
            fails.append(f"import cycle among {', '.join(comp)}: " + '; '.join(inside))

    # topological order, lowest first (a cycle is printed as one group)
    comp_of = {m: tuple(c) for c in sccs for m in c}
    ts = TopologicalSorter({comp_of[m]: {comp_of[d] for d in graph[m] if comp_of[d] != comp_of[m]} for m in graph})
    order = list(ts.static_order())
    print(f"slm_nb modules, lowest first ({len(mods)} modules, {len(edges)} imports among them):")
    for comp in order:
        for m in comp:
            deps = sorted(graph[m])
            def fmt(d):
                ws = {w for _, w in edges[m, d]}
                return d.split('.')[-1] + ('' if 'top' in ws else f" ({'/'.join(sorted(ws))})")
            tag = f"[{order_of[m]:02d}]" if m in order_of else "[--]"
            cyc = '  <- in a cycle' if len(comp) > 1 else ''
            print(f"  {tag} {m:<20} <- {', '.join(map(fmt, deps)) or '(nothing)'}{cyc}")
    for (a, b), ls in sorted(edges.items()):
        if a in order_of and b in order_of and order_of[b] > order_of[a]:
            notes.append(f"{rel(a)}:{ls[0][0]}: {a} (notebook {order_of[a]:02d}) imports the higher {b} (notebook {order_of[b]:02d})"
                         + (' inside a function' if all('local' in w for _, w in ls) else ''))

    # third-party requirements: an import that is not guarded by try/except ImportError must be covered by
    # `requirements` directly (not only as a dependency of another requirement, nor by dev_requirements)
    stdlib = set(sys.stdlib_module_names)
    dists = packages_distributions()
    required, dev = req_names(cfg.get('requirements', '')), req_names(cfg.get('dev_requirements', ''))
    hard, optional = defaultdict(list), defaultdict(list)
    for name, v in visitors.items():
        for target, _, line, where in v.imports:
            t = target.split('.')[0]
            if not t or t == pkg or t in stdlib or where == 'attr': continue
            (optional if 'guarded' in where else hard)[t].append((f"{rel(name)}:{line}", where))
    def dist_of(t): return sorted({norm(d) for d in dists.get(t, [])}) or [norm(t)]
    def status(ds): return ('in requirements' if any(d in required for d in ds) else 'only in dev_requirements'
                            if any(d in dev for d in ds) else 'not in requirements (installed as a dependency of another)'
                            if any(d in dists_installed for d in ds) else 'not in requirements and not installed')
    dists_installed = {norm(d) for ds in dists.values() for d in ds}
    print("third-party imports (unguarded: must be in requirements; guarded by try/except ImportError: optional):")
    for t in sorted(set(hard) | set(optional)):
        ds = dist_of(t)
        st = status(ds)
        if t in hard:
            locs = hard[t]
            kind = 'top level' if any(w == 'top' for _, w in locs) else 'in a function'
            ok = st == 'in requirements'
            print(f"  {'ok     ' if ok else 'MISSING'} {t:<16} {'/'.join(ds):<17} {kind:<14} {locs[0][0]}"
                  + (f" (+{len(locs)-1})" if len(locs) > 1 else '') + ('' if ok else f": {st}"))
            if not ok: fails.append(f"{locs[0][0]}: imports {t} ({kind}, unguarded), but {'/'.join(ds)} is {st}")
        else:
            locs = optional[t]
            print(f"  {'option ':<7} {t:<16} {'/'.join(ds):<17} {'guarded':<14} {locs[0][0]}"
                  + (f" (+{len(locs)-1})" if len(locs) > 1 else '') + f": {st}")
    imported = {d for t in list(hard) + list(optional) for d in dist_of(t)}
    for r in sorted(required - imported):
        notes.append(f"requirement {r} is not imported by {pkg} (a data-only or indirect requirement?)")

    # python version
    min_py = cfg.get('min_python', '3.7')
    want = int(min_py.split('.')[1])
    need = {}
    for name, v in visitors.items():
        reasons = []
        s = syntax[name]
        if s is None: reasons.append((99, 0, f"does not parse with Python 3.{sys.version_info.minor}'s grammar"))
        elif s > 7: reasons.append((s, 0, f"syntax needs 3.{s} (ast feature_version)"))
        reasons += [(10, l, w + " is evaluated at run time: X | Y needs 3.10 (or `from __future__ import annotations`)")
                    for l, w in v.runtime_union]
        reasons += [(ver, l, f"{w} needs 3.{ver}") for l, ver, w in v.new_api]
        need[name] = reasons
    worst = max([r[0] for rs in need.values() for r in rs] + [7])
    print(f"python: min_python = {min_py}; the modules need 3.{worst}" if worst < 99 else f"python: min_python = {min_py}; a module does not parse")
    for name, rs in need.items():
        bad = sorted(r for r in rs if r[0] > want)
        if bad:
            first = bad[0]
            fails.append(f"{rel(name)}:{first[1]}: {first[2]}, but min_python = {min_py}" +
                         (f" (and {len(bad)-1} more in this file{', e.g. line ' + str(bad[1][1]) if len(bad) > 1 else ''})" if len(bad) > 1 else ''))
            if args.verbose:
                for ver, line, why in bad[1:]: notes.append(f"{rel(name)}:{line}: {why}")

    for n in notes if args.verbose else []: print(f"note {n}")
    for f in fails: print(f"FAIL {f}")
    print(f"module map: {len(fails)} problems; {len(notes)} notes{'' if args.verbose or not notes else ' (-v shows them)'}")
    return 1 if fails else 0

if __name__ == '__main__': sys.exit(main())
