#!/usr/bin/env bash
# The README's main job, shortened: slm-train --preset cpu-demo from an empty folder (prepares the
# synthetic corpus, trains, prints stories, writes checkpoints), the loss plot it suggests, then slm-generate
# on the checkpoint it wrote.
set -euo pipefail
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
slm-train --preset cpu-demo --max_iters 21 --eval_interval 10 | tee train.log
python -m slm_nb.plots out/cpu-demo
for f in out/cpu-demo/best.pt out/cpu-demo/last.pt out/cpu-demo/history.csv out/cpu-demo/loss.png data/synthetic-bpe1024/train.bin data/synthetic-bpe1024/tokenizer.json; do
  [ -s "$f" ] || { echo "missing after slm-train: $f"; exit 1; }
done
grep -q "stories from the trained model" train.log
grep -q "bits per byte" train.log
slm-generate --ckpt out/cpu-demo/best.pt --prompt "Once upon a time" --max_new_tokens 40 --seed 0 | tee gen.txt
# the model wrote something: the prompt is echoed, so count the words that follow it (and in the training log,
# the words of the stories after their header line)
python - <<'PY'
import re, sys
gen = open('gen.txt', encoding='utf-8').read()
after = gen.split('Once upon a time', 1)[1] if 'Once upon a time' in gen else ''
words = re.findall(r"[A-Za-z]+", after)
if len(words) < 10: sys.exit(f"slm-generate wrote {len(words)} words after its prompt (at least 10 expected): {gen!r}")
log = open('train.log', encoding='utf-8').read()
stories = log.split('stories from the trained model', 1)[1].split('best validation loss')[0] if 'stories from the trained model' in log else ''
if len(re.findall(r"[A-Za-z]+", stories)) < 20: sys.exit(f"slm-train printed no stories after its header: {stories[:300]!r}")
print(f"generated: {len(words)} words after the prompt")
PY
slm-eval --ckpt out/cpu-demo --data synthetic --json | tee eval.json
python -c "import json; r = json.load(open('eval.json')); assert r['bpb'] > 0 and r['bytes'] > r['tokens'] > 0, r"
echo "main job: ok"
