# lib.sh: what the client tests (tests/clients/*.test.sh) share. Sourced
# after "top" is set to the source tree. It makes a work directory, picks
# the store (S3PAGE_TEST_STORE when set, as tests/run.sh does for its S3
# pass, else a local directory store in the work directory), puts
# build/libs3page.so on the library path as docs/clients.md says, and
# extracts the examples of docs/clients.md: a fenced block right after a
# line "<!-- file: PATH -->" is written to PATH under $doc (the work
# directory's doc/), with the documents' bucket "s3://my-bucket" replaced
# by the store. Tests copy from there what a reader would create.
set -u
cd "$top" || exit 1
work=$(mktemp -d)
doc="$work/doc"
trap 'rm -rf "$work"' EXIT INT TERM
failed=0
. "$top/tests/lib/check.sh"
if [ -n "${S3PAGE_TEST_STORE:-}" ]; then
  store="${S3PAGE_TEST_STORE%/}/clients-$$-$(date +%s)"
else
  store="$work/store"
  mkdir -p "$store"
fi
export LD_LIBRARY_PATH="$top/build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Debian's python3, ruby and tools, which the packages install for.
# (and build/s3page, the tool).
export PATH="/usr/bin:/bin:$top/build:$PATH"
export PYTHONDONTWRITEBYTECODE=1
export AWS_EC2_METADATA_DISABLED=true

# run_case NAME CMD...: runs CMD in the work directory, shows its output
# as "#" lines (kept in $work/.out), and prints the result line.
run_case() {
  name=$1; shift
  (cd "$work" && "$@") >"$work/.out" 2>&1
  st=$?
  sed 's/^/# /' "$work/.out"
  ok_if "$name" "$st"
}

# need CMD PACKAGE: fails the test (with a hint) if CMD does not succeed.
need() {
  if ! sh -c "$1" >/dev/null 2>&1; then
    echo "# needs Debian's $2 (make deps installs it)"
    echo "not ok - $2 installed"
    exit 1
  fi
}

# extract PATH...: writes the examples of docs/clients.md under $doc, and
# fails the test if one of the PATHs is not among them.
extract() {
  awk -v dir="$doc" -v store="$store" '
    /^<!-- file: [^ ]+ -->$/ { path = $3; next }
    /^```/ && path != "" && !inb { inb = 1; f = dir "/" path
      d = f; sub(/\/[^\/]*$/, "", d); system("mkdir -p \"" d "\""); next }
    /^```$/ && inb { inb = 0; close(f); path = ""; next }
    inb { gsub(/s3:\/\/my-bucket/, store); print > f }
  ' docs/clients.md
  for p in "$@"; do
    if [ ! -f "$doc/$p" ]; then
      echo "not ok - docs/clients.md has the example $p"
      exit 1
    fi
  done
}

# finish: the exit status of the test.
finish() {
  [ "$failed" -eq 0 ]
}
