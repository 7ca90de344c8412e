"""Runs the scenario corpus (tests/scenarios/*.json) through any surface of enrollkit.

The format is documented in tests/scenarios/README.md; core/tests/scenarios.rs is the Rust
runner. A surface supplies an adapter with one method, ``run(op, actor, args)``, that performs
the operation and returns its JSON result (dicts, lists, strings, numbers, None) or raises
``ScenarioError`` with the error's details (a dict with at least ``code``). This driver checks
the expectations, that failed steps leave the database file unchanged, and that the results
are identical to the Rust runner's transcript, step for step.

Every scenario runs on an SQLite file and, when ``ENROLLKIT_TEST_POSTGRES`` names a server
(``scripts/pg run`` sets it), on a new PostgreSQL database of that server too; without it,
``ENROLLKIT_SKIP_POSTGRES=1`` must say to skip PostgreSQL, or the run fails.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "tests", "scenarios")
TRANSCRIPTS = os.path.join(ROOT, "target", "tmp", "scenario-transcripts")
START = "2026-01-15T10:00:00Z"


class ScenarioError(Exception):
    """An operation failed; ``details`` is the error as a dict (``code``, ``message``, ...)."""

    def __init__(self, details):
        super().__init__(details.get("message", details.get("code")))
        self.details = details


def subset(expected, actual, path="result"):
    """Raises AssertionError unless ``actual`` contains ``expected`` (see the README)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            raise AssertionError(f"{path}: expected an object, got {actual!r}")
        for k, v in expected.items():
            if k not in actual:
                raise AssertionError(f"{path}.{k}: missing in {actual!r}")
            subset(v, actual[k], f"{path}.{k}")
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(expected) != len(actual):
            raise AssertionError(f"{path}: expected {len(expected)} elements, got {actual!r}")
        for i, (e, a) in enumerate(zip(expected, actual)):
            subset(e, a, f"{path}[{i}]")
    elif isinstance(expected, bool) or expected is None or isinstance(expected, str):
        if expected != actual or type(expected) is not type(actual):
            raise AssertionError(f"{path}: expected {expected!r}, got {actual!r}")
    elif isinstance(expected, (int, float)):
        if isinstance(actual, bool) or not isinstance(actual, (int, float)) or float(expected) != float(actual):
            raise AssertionError(f"{path}: expected {expected!r}, got {actual!r}")
    else:
        raise AssertionError(f"{path}: unsupported expectation {expected!r}")


_FINGERPRINT = """
import hashlib, sqlite3, sys
for path in sys.stdin:
    conn = sqlite3.connect(path.rstrip("\\n"))
    h = hashlib.sha256()
    for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"):
        h.update((t + ":" + "\\n".join(sorted(repr(r) for r in conn.execute('SELECT * FROM "%s"' % t)))).encode())
    conn.close()
    print(h.hexdigest(), flush=True)
"""
_fingerprinter = None


def _psql(location, sql):
    """The output of ``sql`` run by psql on the PostgreSQL database ``location``."""
    psql = os.path.join(os.environ.get("ENROLLKIT_PG_BIN", "/usr/bin"), "psql")
    return subprocess.run([psql, "-XAtq", "-d", location, "-c", sql], check=True,
                          capture_output=True, text=True).stdout


def _is_postgres(location):
    return location.startswith(("postgres://", "postgresql://")) or "dbname=" in location


def fresh_postgres_database():
    """A new database on the test server, as a location to open a store on."""
    base = os.environ["ENROLLKIT_TEST_POSTGRES"]
    name = f"py_{os.getpid()}_{next(_DATABASES)}"
    _psql(base, f"CREATE DATABASE {name}")
    kept = [kv for kv in base.split() if not kv.startswith("dbname=")]
    return " ".join(kept + [f"dbname={name}"])


_DATABASES = iter(range(1 << 30))


def backends():
    """The backends to run on: SQLite, and PostgreSQL unless explicitly skipped."""
    if os.environ.get("ENROLLKIT_TEST_POSTGRES"):
        return ["sqlite", "postgres"]
    if os.environ.get("ENROLLKIT_SKIP_POSTGRES") == "1":
        print("SKIPPED: the PostgreSQL runs of the scenario corpus (ENROLLKIT_SKIP_POSTGRES=1)",
              file=sys.stderr)
        return ["sqlite"]
    raise SystemExit("no PostgreSQL to test against: run under `scripts/pg run ...` "
                     "(which sets ENROLLKIT_TEST_POSTGRES), or set ENROLLKIT_SKIP_POSTGRES=1")


def fingerprint(db_path):
    """A digest of every row of every table: a failed step must not change it.

    Read in a separate process: two SQLite libraries in one process (Python's and the one
    inside enrollkit) must never open the same file, because closing one library's file
    descriptor drops the other's POSIX locks, after which SQLite may delete a live WAL.
    """
    global _fingerprinter
    if _is_postgres(db_path):
        tables = _psql(db_path, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                "ORDER BY 1").split()
        return "\n".join(t + ":" + _psql(db_path, f"SELECT string_agg(r::text, E'\\n' "
                                                  f"ORDER BY r::text) FROM \"{t}\" r")
                         for t in tables)
    if _fingerprinter is None:
        _fingerprinter = subprocess.Popen([sys.executable, "-c", _FINGERPRINT], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, text=True)
    _fingerprinter.stdin.write(db_path + "\n")
    _fingerprinter.stdin.flush()
    return _fingerprinter.stdout.readline()


# Generated enrollment ids, and erasure tombstones (erased_ and the same 26 characters).
_ID = re.compile(r"(?:enr|erased)_[0-9A-HJKMNP-TV-Z]{26}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _enr_form(uuid_text):
    """The ``enr_`` id of the same 128-bit value as a UUID text (the certification view's uuid)."""
    value = int(uuid_text.replace("-", ""), 16)
    return "enr_" + "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1))


def normalize(transcript):
    """Replaces generated enrollment ids (random per run; in either spelling) and erasure
    tombstones by their order of appearance, and
    drops error messages (text for people; the code and fields are the contract)."""
    transcript = [
        {**step, "error": {k: v for k, v in step["error"].items() if k != "message"}} if "error" in step else step
        for step in transcript
    ]
    text = json.dumps(transcript, sort_keys=True)
    text = _UUID.sub(lambda m: _enr_form(m.group(0)), text)
    seen = {}
    text = _ID.sub(lambda m: seen.setdefault(m.group(0), f"enr#{len(seen)}"), text)
    return json.loads(text)


def run_file(path, make_adapter, surface, backend="sqlite"):
    with open(path, encoding="utf-8") as f:
        scenario = json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        db_path = os.path.join(tmp, "scenario.db")
        if backend == "postgres":
            db_path = fresh_postgres_database()
        adapter = make_adapter(db_path, START)
        try:
            variables = {}
            transcript = []

            def substitute(v):
                if isinstance(v, str) and v.startswith("$"):
                    return variables[v[1:]]
                if isinstance(v, list):
                    return [substitute(x) for x in v]
                if isinstance(v, dict):
                    return {k: substitute(x) for k, x in v.items()}
                return v

            def pick(v):
                if isinstance(v, dict):
                    for key in ("id", "existing_id"):
                        if key in v:
                            return v[key]
                    if "enrollment" in v:
                        return v["enrollment"]["id"]
                return v

            for i, step in enumerate(scenario["steps"], 1):
                op = step["op"]
                where = f"step {i} ({op})"
                args = substitute(step.get("args", {}))
                before = fingerprint(db_path) if "error" in step else None
                try:
                    result = adapter.run(op, step.get("actor", "admin"), args)
                    error = None
                    transcript.append({"op": op, "result": result})
                except ScenarioError as e:
                    error = e.details
                    transcript.append({"op": op, "error": error})
                if error is None:
                    if "error" in step:
                        raise AssertionError(f"{where}: expected error {step['error']}, got {result!r}")
                    if "expect" in step:
                        try:
                            subset(substitute(step["expect"]), result)
                        except AssertionError as e:
                            raise AssertionError(f"{where}: {e}") from None
                    names = step.get("save")
                    if isinstance(names, str):
                        variables[names] = pick(result)
                    elif isinstance(names, list):
                        for n, item in zip(names, result):
                            variables[n] = pick(item)
                else:
                    if "error" not in step:
                        raise AssertionError(f"{where}: unexpected error {error!r}")
                    if error.get("code") != step["error"]:
                        raise AssertionError(f"{where}: expected error {step['error']}, got {error!r}")
                    if "error_details" in step:
                        try:
                            subset(substitute(step["error_details"]), error, "error")
                        except AssertionError as e:
                            raise AssertionError(f"{where}: {e}") from None
                    if fingerprint(db_path) != before:
                        raise AssertionError(f"{where}: the failed operation changed the database")
            violations = adapter.run("check", "admin", {})
            if violations:
                raise AssertionError(f"invariants broken at the end: {violations!r}")
        finally:
            adapter.close()
    out_dir = os.path.join(TRANSCRIPTS, surface if backend == "sqlite" else f"{surface}-{backend}")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, os.path.basename(path)), "w", encoding="utf-8") as f:
        json.dump(transcript, f, indent=1)
    reference = os.path.join(TRANSCRIPTS, "rust", os.path.basename(path))
    if not os.path.exists(reference):
        raise AssertionError(f"no Rust transcript at {reference}: run cargo test --test scenarios first")
    with open(reference, encoding="utf-8") as f:
        rust = normalize(json.load(f))
    mine = normalize(transcript)
    for i, (a, b) in enumerate(zip(rust, mine), 1):
        if a != b:
            raise AssertionError(f"step {i} ({a.get('op')}) differs from the Rust runner:\n  rust: {a}\n  {surface}: {b}")
    if len(rust) != len(mine):
        raise AssertionError("the transcript length differs from the Rust runner's")
    return len(transcript)


def run_corpus(make_adapter, surface):
    """Runs every scenario file; prints a summary; returns a process exit code."""
    files = sorted(f for f in os.listdir(CORPUS) if f.endswith(".json"))
    failures, steps = [], 0
    on = backends()
    for backend in on:
        for name in files:
            try:
                steps += run_file(os.path.join(CORPUS, name), make_adapter, surface, backend)
            except AssertionError as e:
                failures.append(f"{name} on {backend}: {e}")
    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    print(f"{surface} scenario runner on {' and '.join(on)}: {len(files)} files, {steps} steps, "
          f"{len(failures)} failures; "
          f"results identical to the Rust runner" if not failures else f"{surface}: {len(failures)} failures")
    return 1 if failures or not files else 0
