#!/usr/bin/env python3
"""The long reliability run of issue #7; writes RELIABILITY.md with every figure.

    scripts/long-run [--kills N] [--load-ops N] [--fuzz-seconds S] [--out FILE]

Runs, each in release mode: the SIGKILL crash harness (default 200 kills), the 4 x 4 load test
(default 20,000 operations per thread), the fault tests (full disk, read-only file), the fuzz
corpus replay, every
cargo-fuzz target for S seconds (default 600; needs a nightly toolchain and cargo-fuzz:
`rustup toolchain install nightly && cargo install cargo-fuzz`; skipped with a note
otherwise), and the C ABI tests under ASan/UBSan and Valgrind (scripts/test-c).
"""

import argparse
import datetime
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The cargo-fuzz targets: one file each in fuzz/fuzz_targets/ (named as in fuzz/Cargo.toml).
TARGETS = sorted(p.stem for p in (ROOT / "fuzz" / "fuzz_targets").glob("*.rs"))


def run(cmd, env=None, cwd=ROOT):
    """Runs cmd, streaming nothing; returns (ok, combined output, seconds)."""
    print(f"long-run: {' '.join(cmd)}", file=sys.stderr, flush=True)
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})},
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc.returncode == 0, proc.stdout, time.monotonic() - start


def cargo_test(test, env):
    return run(["cargo", "test", "--release", "--locked", "-q", "-p", "enrollkit", "--test", test, "--",
                "--nocapture"], env)


def line(output, pattern):
    m = re.search(pattern, output)
    return m.group(0).strip() if m else "(no summary line)"


def fuzz(seconds):
    if shutil.which("cargo-fuzz") is None:
        return [(t, "not run: cargo-fuzz is not installed", None, 0.0) for t in TARGETS]
    rows = []
    logs = ROOT / "target" / "long-run"
    logs.mkdir(parents=True, exist_ok=True)
    for target in TARGETS:
        corpus = ROOT / "fuzz" / "corpus" / target
        ok, out, secs = run(["cargo", "+nightly", "fuzz", "run", "-O", target, str(corpus), "--",
                             f"-max_total_time={seconds}", "-rss_limit_mb=1024"], cwd=ROOT / "fuzz")
        # libFuzzer's status lines start with "#<executions>"; the last one is the total.
        execs = re.findall(r"^#(\d+)\s", out, re.MULTILINE)
        figure = f"{int(execs[-1]):,} executions" if execs else "no execution count"
        if not ok:
            log = logs / f"fuzz-{target}.log"
            log.write_text(out)
            crash = line(out, r"(panicked at|ERROR: \w+).*")
            figure += f" - FAILED: {crash} (log: {log.relative_to(ROOT)}, input: fuzz/artifacts/{target}/)"
        rows.append((target, figure, ok, secs))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--load-ops", type=int, default=20_000)
    parser.add_argument("--fuzz-seconds", type=int, default=600)
    parser.add_argument("--failover-seconds", type=int, default=60)
    parser.add_argument("--out", default=str(ROOT / "RELIABILITY.md"))
    args = parser.parse_args()

    rows = []
    ok, out, secs = cargo_test("crash", {"ENROLLKIT_CRASH_KILLS": str(args.kills)})
    rows.append(("Crash safety (SIGKILL)", line(out, r"\d+ kills, .*"), ok, secs))
    ok, out, secs = cargo_test("load", {"ENROLLKIT_LOAD_OPS": str(args.load_ops)})
    rows.append(("Concurrency, 4 processes x 4 threads, SQLite", line(out, r"load on SQLite: .*"), ok, secs))
    rows.append(("Concurrency, 4 processes x 4 threads, PostgreSQL",
                 line(out, r"load on PostgreSQL: .*"), ok, secs))
    ok, out, secs = cargo_test("failover", {"ENROLLKIT_FAILOVER_SECONDS": str(args.failover_seconds)})
    rows.append((f"PostgreSQL failover: primary killed after {args.failover_seconds} s of writes, "
                 "replica promoted", line(out, r"failover: .*"), ok, secs))
    ok, out, secs = cargo_test("faults", {})
    figures = "; ".join(re.findall(r"faults: (.*)", out)) or "(no summary line)"
    rows.append(("Faults: disk full under a writer, read-only file", figures, ok, secs))
    ok, out, secs = cargo_test("fuzz_corpus", {})
    rows.append(("Fuzz corpus replay (stable)", line(out, r"fuzz corpus: .*"), ok, secs))
    for target, figure, ok, secs in fuzz(args.fuzz_seconds):
        rows.append((f"cargo-fuzz `{target}`, {args.fuzz_seconds} s", figure, ok, secs))
    ok, out, secs = run(["scripts/test-c"])
    rows.append(("C ABI under ASan+UBSan and Valgrind", line(out, r"c scenario runner.*"), ok, secs))

    failed = [name for name, _, ok, _ in rows if ok is False]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.strip() or "unknown"
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}"
    table = "\n".join(["| harness | result | | seconds |", "|---|---|---|---|"] + [
        f"| {name} | {figure} | {'passed' if ok else 'skipped' if ok is None else 'FAILED'} | {secs:.0f} |"
        for name, figure, ok, secs in rows])
    report = f"""# Reliability

Generated by `scripts/long-run` on {datetime.date.today().isoformat()} at commit {commit}
({machine}), with
{args.kills} crash kills, {args.load_ops:,} load operations per thread and {args.fuzz_seconds} s
per fuzz target. The test command (`scripts/test`) runs the same harnesses shortly: 20 kills,
500 operations per thread, the corpus replay, no cargo-fuzz.

{table}

What each harness proves is written at the top of its file: `core/tests/crash.rs`,
`core/tests/load.rs`, `core/tests/faults.rs`, `core/tests/fuzz_corpus.rs` with
`fuzz/src/lib.rs` (the targets), `tests/c/test_api.c`; the Python property tests are
`tests/python/test_properties.py` (hypothesis, in the test command).

{"All harnesses passed." if not failed else "FAILED: " + ", ".join(failed)}
"""
    Path(args.out).write_text(report)
    print(report)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
