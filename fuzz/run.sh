#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/targets (swiftc -sanitize=fuzzer,address, each compiled
# with the sources it exercises) and runs each for FUZZ_SECONDS (default 60) from its committed
# seed corpus in fuzz/corpus/<target>. New inputs go to fuzz/.work/<target> (git-ignored) and
# crashes to fuzz/.work/crash-<target>-*. Prints executions per target; exits non-zero if any
# target found a crash.
#   fuzz/run.sh [target...]      all targets when none is named
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
build=fuzz/.build
work=fuzz/.work
mkdir -p "$build" "$work"
core=(Sources/FirehoseCore/*.swift)
# HTTPRequestParser lives in FirehoseServer; it needs only these files and http-parser.
http=(Sources/FirehoseServer/HTTP/HTTPRequestParser.swift Sources/FirehoseServer/HTTP/HTTPRequest.swift)

sources_for() {
  case "$1" in
    HTTPRequestParser) echo "${core[@]} ${http[@]} -I Sources/CHTTPParser" ;;
    *) echo "${core[@]}" ;;
  esac
}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=()
  for file in fuzz/targets/Fuzz*.swift; do name=$(basename "$file" .swift); targets+=("${name#Fuzz}"); done
fi

failed=0
summary=()
for target in "${targets[@]}"; do
  binary="$build/$target"
  # shellcheck disable=SC2046
  swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name "Fuzz$target" \
    "fuzz/targets/Fuzz$target.swift" $(sources_for "$target") -o "$binary" 2> "$build/$target.log" \
    || { cat "$build/$target.log"; exit 1; }
  mkdir -p "$work/$target"
  log="$work/$target.log"
  if "$binary" "$work/$target" "fuzz/corpus/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$work/crash-$target-" >"$log" 2>&1; then
    result="no crash"
  else
    result="FAILED (see $log)"
    failed=1
  fi
  runs=$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 || true)
  summary+=("$target: ${runs:-no run count} ($result)")
done
printf '%s\n' "${summary[@]}"
exit $failed
