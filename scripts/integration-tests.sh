#!/usr/bin/env bash
# The integration suite on each engine named (es9 es8 opensearch), INTEGRATION_JOBS of them at once
# (default: all). Each suite starts and stops its own node (own ports and folder), writes its own log
# (build/integration-<engine>.log), and its output is printed whole when it ends. One suite keeps two
# cores about 60 % busy, so running them side by side shortens the run without changing what runs.
# INTEGRATION_JOBS=1 runs them one after the other, printing as they go.
set -uo pipefail
cd "$(dirname "$0")/.."

venv=${VENV:-.venv}
jobs=${INTEGRATION_JOBS:-$#}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "INTEGRATION_JOBS must be a whole number ≥ 1, not '$jobs'" >&2; exit 2; }
mkdir -p build

suite() {  # engine → runs its suite, stops its node; the exit status in build/integration-<engine>.rc
    local engine=$1 log=build/integration-$1.log rc=0
    local pytest=(env -u ES_URL "$venv/bin/pytest" -q --durations=12 integration-tests --engine "$engine")
    if ((jobs == 1)); then
        echo "== integration tests on $engine"
        "${pytest[@]}" 2>&1 | tee "$log" || rc=$?
    else
        "${pytest[@]}" >"$log" 2>&1 || rc=$?
    fi
    PYTHONPATH=scripts python3 -m ehnodes stop --engine "$engine" >/dev/null 2>&1 || true
    echo "$rc" >"build/integration-$engine.rc"
}

show() {  # engine → its whole log, when the suites ran side by side
    ((jobs == 1)) && return
    echo "== integration tests on $1 (finished; build/integration-$1.log)"
    cat "build/integration-$1.log"
}

declare -A pid_of=()  # engine → its suite's process, while it runs

reap() {  # waits for one suite to end and prints its log
    local done_pid e
    wait -n -p done_pid
    (($? == 127)) && pid_of=() && return  # no suite left to wait for
    for e in "${!pid_of[@]}"; do
        [[ ${pid_of[$e]} == "$done_pid" ]] && show "$e" && unset "pid_of[$e]"
    done
}

if ((jobs == 1)); then
    for engine in "$@"; do suite "$engine"; done
else
    echo "== integration tests on $* ($jobs at once; each printed when it ends)"
    for engine in "$@"; do
        rm -f "build/integration-$engine.rc"
        if ((${#pid_of[@]} >= jobs)); then reap; fi
        suite "$engine" &
        pid_of[$engine]=$!
    done
    while ((${#pid_of[@]} > 0)); do reap; done
fi

status=0
echo "== integration tests per engine"
for engine in "$@"; do
    log=build/integration-$engine.log
    rc=$(cat "build/integration-$engine.rc" 2>/dev/null || echo 1)
    ((rc == 0)) || status=1
    counts=$(grep -E '(passed|failed|errors?|skipped|no tests ran).* in [0-9.]+s' "$log" | tail -n1 || true)
    reason=$(grep -o -m1 'Exit: .*[^! ]' "$log" || true)
    echo "$engine: ${counts:-no summary, see $log}${reason:+ (stopped early: ${reason#Exit: })}"
done
exit $status
