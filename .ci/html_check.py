"""Check the tutorial without Quarto: every notebook converts to HTML from its committed outputs.

The site is built by Quarto (`nbdev_docs`), which these machines cannot install. What can go wrong
in the notebooks themselves is checked here instead: each one must convert with nbconvert, carry
no error output (a cell that raised, or a traceback printed to stderr), and the steps that draw
plots must carry their images. `--out DIR` keeps the HTML pages for a look.
"""
import argparse, json, sys, tempfile
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

root = Path(__file__).resolve().parent.parent
# notebooks whose point is a picture: each must hold at least one PNG output
MUST_HAVE_IMAGES = {'01_dataset.ipynb', '07_optim.ipynb', '08_training.ipynb', '09_plots.ipynb', 'colab.ipynb'}

def problems(path: Path) -> list:
    nb = nbformat.read(path, as_version=4)
    found, images = [], 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != 'code': continue
        for out in cell.get('outputs', []):
            if out.output_type == 'error':
                found.append(f"cell {i}: error output {out.get('ename')}: {str(out.get('evalue'))[:100]}")
            elif out.output_type == 'stream' and out.get('name') == 'stderr' and 'Traceback (most recent call last)' in out.get('text', ''):
                found.append(f"cell {i}: a traceback printed to stderr")
            if 'image/png' in out.get('data', {}): images += 1
    if path.name in MUST_HAVE_IMAGES and images == 0: found.append("no plot image in the committed outputs")
    return found, nb, images

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', help='folder for the HTML pages (default: a temporary folder)')
    args = ap.parse_args()
    out = Path(args.out or tempfile.mkdtemp())
    out.mkdir(parents=True, exist_ok=True)
    exporter, bad = HTMLExporter(), 0
    nbs = sorted((root/'nbs').glob('*.ipynb'))
    missing = sorted(MUST_HAVE_IMAGES - {p.name for p in nbs})
    for name in missing: print(f"FAIL {name}: the notebook is missing"); bad += 1
    for path in nbs:
        found, nb, images = problems(path)
        try:
            html, _ = exporter.from_notebook_node(nb)
            (out/path.with_suffix('.html').name).write_text(html, encoding='utf-8')
        except Exception as e: found.append(f"nbconvert failed: {type(e).__name__}: {e}")
        status = 'ok  ' if not found else 'FAIL'
        print(f"{status} {path.name}: {len(nb.cells)} cells, {images} images" + ''.join(f"\n     {p}" for p in found))
        bad += bool(found)
    print(f"{len(nbs) - bad} of {len(nbs)} notebooks convert to HTML cleanly (pages in {out})")
    return 1 if bad else 0

if __name__ == '__main__': sys.exit(main())
