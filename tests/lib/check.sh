# check.sh: result lines for the script tests (tests/*.test.sh,
# tests/clients/*.test.sh), sourced after "failed=0". Every case prints
# "ok - NAME" or "not ok - NAME" (tests/run.sh counts them); a failed one
# adds to $failed, which the script turns into its exit status.

# ok_if NAME STATUS: prints the result line of a case (STATUS 0 = pass).
ok_if() {
  if [ "$2" -eq 0 ]; then
    echo "ok - $1"
  else
    echo "not ok - $1"
    failed=$((failed + 1))
  fi
}

# expect NAME WANT GOT: a case passing when GOT equals WANT.
expect() {
  if [ "$2" = "$3" ]; then
    ok_if "$1" 0
  else
    printf '%s\n' "$2" | sed 's/^/#   want: /'
    printf '%s\n' "$3" | head -8 | sed 's/^/#   got:  /'
    ok_if "$1" 1
  fi
}

# contains NAME TEXT NEEDLE...: a case passing when TEXT holds every NEEDLE.
contains() {
  name=$1; text=$2; shift 2
  for needle in "$@"; do
    case "$text" in
      *"$needle"*) ;;
      *) echo "#   missing: $needle"
         printf '%s\n' "$text" | head -8 | sed 's/^/#   got: /'
         ok_if "$name" 1
         return ;;
    esac
  done
  ok_if "$name" 0
}
