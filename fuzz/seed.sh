#!/usr/bin/env bash
# Rebuilds the committed seed corpora from tests/vectors/*.json: every
# vector's case as one file (examples/seed_corpus.rs), then per target only
# the vector files in a set cover of the whole set's coverage (libFuzzer
# -set_cover_merge, edges without hit counts), so the seeds stay a few
# hundred files and keep their vector names. render_structured's seeds are
# not vectors (its input is `arbitrary` bytes) and are left as they are.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf corpus/case_json corpus/case_json_nostd corpus/job_postcard
cargo +nightly run -q --example seed_corpus
for target in case_json case_json_nostd job_postcard; do
  keep=$(mktemp -d)
  cargo +nightly fuzz run "$target" "$keep" "corpus/$target" -- \
    -set_cover_merge=1 -use_counters=0 2>/dev/null
  # libFuzzer names what it keeps by content hash; keep those vector files.
  for file in corpus/"$target"/*; do
    [ -e "$keep/$(sha1sum "$file" | cut -d' ' -f1)" ] || rm "$file"
  done
  rm -rf "$keep"
  echo "$target: $(ls "corpus/$target" | wc -l) seeds"
done
