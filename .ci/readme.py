"""README.md is the home page, nbs/index.ipynb, as Markdown.

nbdev_readme needs Quarto, which is not available everywhere, so this writes the same thing
from the notebook directly: markdown cells as they are, visible code cells as fenced Python,
their text outputs as fenced text. `--check` fails when README.md is out of date.
"""
import json, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
nb = json.loads((root/'nbs'/'index.ipynb').read_text(encoding='utf-8'))

def src(cell): return ''.join(cell['source']).strip('\n')

parts = []
for cell in nb['cells']:
    text = src(cell)
    if not text: continue
    # links between notebooks are relative to nbs/ on the site; README.md sits one folder up
    if cell['cell_type'] == 'markdown': parts.append(re.sub(r'\]\(([\w.-]+\.ipynb|images/[\w./-]+)\)', r'](nbs/\1)', text))
    elif cell['cell_type'] == 'code':
        lines = text.splitlines()
        if any(l.startswith('#|') and ('hide' in l or 'exec' in l or 'default_exp' in l) for l in lines): continue
        code = '\n'.join(l for l in lines if not l.startswith('#|'))
        parts.append(f'```python\n{code}\n```')
        outs = [''.join(o.get('text', '')) for o in cell.get('outputs', []) if o.get('output_type') == 'stream']
        if ''.join(outs).strip(): parts.append('```\n' + ''.join(outs).rstrip('\n') + '\n```')

readme = '<!-- Written from nbs/index.ipynb by .ci/readme.py: edit the notebook, not this file. -->\n\n' + '\n\n'.join(parts) + '\n'
target = root/'README.md'
if '--check' in sys.argv:
    if not target.exists() or target.read_text(encoding='utf-8') != readme:
        sys.exit('README.md does not match nbs/index.ipynb: run `python .ci/readme.py` and commit README.md')
    print('README.md matches nbs/index.ipynb')
else:
    target.write_text(readme, encoding='utf-8')
    print(f'wrote {target}')
