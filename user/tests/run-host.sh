#!/usr/bin/env bash
# Runs Tine's user-space conformance programs on the host Linux, the oracle.
#
#   user/tests/run-host.sh [--runs N] [--profile dev|release] [--strace] [--only NAME]
#
# Builds every program twice for x86_64-unknown-linux-musl — static-PIE (the target's default)
# and non-PIE (-C relocation-model=static) — runs each N times (default 5) in both builds
# exactly as Tine's runner will start them (clean environment; t_argv with its arguments and
# two variables), and checks that every run exits 0, prints no `not ok`, ends with its summary
# line, and prints the same output in every run and in both builds. Must run as root (t_creds
# and t_limits require it). The last line is "N passed, N failed" (one per program and build).
#
# --strace also writes, per program, the system calls `strace -f -c` counts into
# $OUT/strace/NAME.txt (OUT is $CARGO_TARGET_DIR/usertests-host).
#
# Not for Tine itself: `t_exec` and the others are started there by Tine's own runner.
set -u

here=$(cd "$(dirname "$0")" && pwd)
runs=5
profile=dev
do_strace=0
only=""
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --profile) profile=$2; shift 2 ;;
        --strace) do_strace=1; shift ;;
        --only) only=$2; shift 2 ;;
        *) echo "usage: $0 [--runs N] [--profile dev|release] [--strace] [--only NAME]" >&2; exit 2 ;;
    esac
done

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/target-user}
out="$CARGO_TARGET_DIR/usertests-host"
target=x86_64-unknown-linux-musl
progs="t_argv t_exit t_orphan t_creds t_time t_limits t_exec"
[ -n "$only" ] && progs=$only
profdir=$([ "$profile" = dev ] && echo debug || echo "$profile")

# run_prog DIR NAME: starts one program the way Tine's runner does.
run_prog() {
    case "$2" in
        t_argv) env -i TINE_A=1 TINE_B=x=y "$1/t_argv" alpha "two words" '' ;;
        *) env -i "$1/$2" ;;
    esac
}

build() { # build VARIANT RUSTFLAGS
    local variant=$1 flags=$2
    echo "# building $variant ($profile)"
    RUSTFLAGS="$flags" cargo build --quiet --manifest-path "$here/Cargo.toml" --target $target \
        --profile "$profile" || exit 1
    mkdir -p "$out/$variant"
    for p in t_argv t_exit t_orphan t_creds t_time t_limits t_exec; do
        cp "$CARGO_TARGET_DIR/$target/$profdir/$p" "$out/$variant/$p"
    done
}

build pie ""
build nopie "-C relocation-model=static -C target-feature=+crt-static"

passed=0
failed=0
for p in $progs; do
    ref=""
    for variant in pie nopie; do
        bad=""
        for i in $(seq 1 "$runs"); do
            got=$(run_prog "$out/$variant" "$p" 2>"$out/$p.$variant.stderr")
            rc=$?
            if [ $rc -ne 0 ]; then bad="run $i exited $rc"; fi
            if printf '%s\n' "$got" | grep -q '^not ok'; then bad="run $i: $(printf '%s\n' "$got" | grep '^not ok' | head -3 | tr '\n' ' ')"; fi
            if ! printf '%s\n' "$got" | tail -1 | grep -q "^summary $p [0-9]* 0\$"; then bad="${bad:-run $i: no clean summary line}"; fi
            if [ -z "$ref" ]; then ref=$got; printf '%s\n' "$got" >"$out/$p.out"; fi
            if [ "$got" != "$ref" ]; then bad="${bad:-run $i ($variant) printed different output than the first run}"; fi
            [ -n "$bad" ] && break
        done
        if [ -z "$bad" ]; then
            echo "ok host.$p.$variant ($runs runs, $(printf '%s\n' "$ref" | tail -1))"
            passed=$((passed + 1))
        else
            echo "not ok host.$p.$variant: $bad"
            cat "$out/$p.$variant.stderr" >&2
            failed=$((failed + 1))
        fi
    done
    if [ $do_strace -eq 1 ]; then
        mkdir -p "$out/strace"
        case "$p" in
            t_argv) env -i TINE_A=1 TINE_B=x=y strace -f -qq -o "$out/strace/$p.trace" \
                        "$out/pie/t_argv" alpha "two words" '' >"$out/strace/$p.out" ;;
            *) env -i strace -f -qq -o "$out/strace/$p.trace" "$out/pie/$p" >"$out/strace/$p.out" ;;
        esac
        if grep -q '^not ok' "$out/strace/$p.out"; then
            echo "# warning: $p failed under strace: $(grep '^not ok' "$out/strace/$p.out" | head -3)"
        fi
    fi
done
if [ $do_strace -eq 1 ]; then
    # The start-up alone: t_exec given an unexpected argument exits 99 right after std's runtime
    # start-up.
    env -i strace -f -qq -o "$out/strace/startup.trace" "$out/pie/t_exec" --unexpected
    # One table: a row per system call, a column per program, "calls" or "calls/failures", and
    # the errno values seen. Calls that never return (exit, exit_group, a successful execve)
    # count as calls too.
    cols="startup $progs"
    for p in $cols; do
        awk -v prog="$p" '
            { sub(/^[0-9]+ +/, "") }
            /^<\.\.\. [a-z_0-9]+ resumed>/ {
                name = $2
                if (match($0, /= -1 E[A-Z0-9]+/)) { err[name]++; e = substr($0, RSTART + 5, RLENGTH - 5); errs[name, e] = 1 }
                next
            }
            /^[a-z_0-9]+\(/ {
                name = substr($0, 1, index($0, "(") - 1)
                calls[name]++
                if ($0 !~ /<unfinished \.\.\.>$/ && match($0, /= -1 E[A-Z0-9]+/)) {
                    err[name]++; e = substr($0, RSTART + 5, RLENGTH - 5); errs[name, e] = 1
                }
            }
            END {
                for (n in calls) {
                    el = ""
                    for (k in errs) { split(k, a, SUBSEP); if (a[1] == n) el = el (el == "" ? "" : " ") a[2] }
                    print n, prog, calls[n], err[n] + 0, el
                }
            }' "$out/strace/$p.trace"
    done | sort >"$out/strace/rows.txt"
    # System-call numbers from the kernel headers, when installed (linux-libc-dev).
    nrs=$(find /usr/include -name unistd_64.h -path '*asm*' 2>/dev/null | head -1)
    awk -v cols="$cols" -v hdr="${nrs:-/dev/null}" '
        BEGIN {
            n = split(cols, c, " ")
            while ((getline l < hdr) > 0) if (l ~ /^#define __NR_/) { split(l, a, " "); sub("__NR_", "", a[2]); nr[a[2]] = a[3] }
        }
        {
            name = $1; sys[name] = 1
            v = $3; if ($4 > 0) v = v "/" $4
            cell[name, $2] = v
            for (i = 5; i <= NF; i++) ev[name, $i] = 1
        }
        END {
            h = "| system call | nr |"; s = "|---|---:|"
            for (i = 1; i <= n; i++) { h = h " " c[i] " |"; s = s "---:|" }
            print h " errno seen |"; print s "---|"
            m = 0; for (x in sys) names[++m] = x
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (names[j] < names[i]) { t = names[i]; names[i] = names[j]; names[j] = t }
            for (i = 1; i <= m; i++) {
                x = names[i]; line = "| `" x "` | " nr[x] " |"
                for (j = 1; j <= n; j++) line = line " " ((x, c[j]) in cell ? cell[x, c[j]] : "") " |"
                el = ""; for (k in ev) { split(k, a, SUBSEP); if (a[1] == x) el = el (el == "" ? "" : ", ") a[2] }
                print line " " el " |"
            }
        }' "$out/strace/rows.txt" >"$out/strace/table.md"
    echo "# system-call table: $out/strace/table.md"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
