#!/bin/sh
# Runs one libFuzzer target briefly (S3PAGE_FUZZ_SECONDS, 8) on its seed
# corpus (fuzz/corpus/NAME); `make fuzz` and a longer S3PAGE_FUZZ_SECONDS
# for real fuzzing.
# Prints "ok - NAME" when no crash was found.
f=$1
name=$(basename "$f")
secs=${S3PAGE_FUZZ_SECONDS:-8}
corpus=$(mktemp -d)
[ -d "fuzz/corpus/$name" ] && cp -r "fuzz/corpus/$name"/. "$corpus"/
if "$f" -max_total_time="$secs" -rss_limit_mb=2048 "$corpus" >"$corpus.log" 2>&1; then
  echo "ok - $name ($secs s)"
else
  tail -30 "$corpus.log"
  echo "not ok - $name"
fi
rm -rf "$corpus" "$corpus.log"
