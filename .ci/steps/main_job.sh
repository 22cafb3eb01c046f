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
grep -q "Once upon a time" gen.txt
slm-eval --ckpt out/cpu-demo --data synthetic --json | tee eval.json
python -c "import json; r = json.load(open('eval.json')); assert r['bpb'] > 0 and r['bytes'] > r['tokens'] > 0, r"
echo "main job: ok"
