"""Runs the scenario corpus through the C ABI: libenrollkit.so loaded with ctypes, declared
from include/enrollkit.h's signatures. Proves the ABI is usable by a binding generator and that
C callers get exactly the Rust runner's results.

Usage: python3 tests/c/run_scenarios.py target/release/libenrollkit.so
"""

import ctypes
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from scenario_driver import ScenarioError, run_corpus  # noqa: E402

P = ctypes.c_char_p
OUT = ctypes.POINTER(ctypes.c_void_p)
STORE = ctypes.c_void_p
U32, U64, I64, F64 = ctypes.c_uint32, ctypes.c_uint64, ctypes.c_int64, ctypes.c_double

SIGNATURES = {
    "enrollkit_store_open": [P, U32, ctypes.POINTER(STORE)],
    "enrollkit_store_free": [STORE],
    "enrollkit_store_set_time": [STORE, P],
    "enrollkit_store_advance_time": [STORE, I64],
    "enrollkit_store_now": [STORE, OUT],
    "enrollkit_check": [STORE, OUT],
    "enrollkit_user_upsert": [STORE, P, OUT],
    "enrollkit_users_upsert": [STORE, P, ctypes.POINTER(ctypes.c_uint64)],
    "enrollkit_user_get": [STORE, P, OUT],
    "enrollkit_user_find": [STORE, U32, P, OUT],
    "enrollkit_user_list": [STORE, P, U32, OUT],
    "enrollkit_erase_user": [STORE, P, P, OUT],
    "enrollkit_program_create": [STORE, P, OUT],
    "enrollkit_program_update": [STORE, P, OUT],
    "enrollkit_program_get": [STORE, P, OUT],
    "enrollkit_program_list": [STORE, P, P, P, U32, OUT],
    "enrollkit_enroll_json": [STORE, P, P, OUT],
    "enrollkit_enroll_many": [STORE, P, P, U32, OUT],
    "enrollkit_enrollment_get": [STORE, P, P, OUT],
    "enrollkit_set_progress": [STORE, P, P, F64, OUT],
    "enrollkit_add_progress": [STORE, P, P, F64, OUT],
    "enrollkit_transition": [STORE, P, P, U32, OUT],
    "enrollkit_fail": [STORE, P, P, P, P, OUT],
    "enrollkit_step_start": [STORE, P, P, P, OUT],
    "enrollkit_step_deliver": [STORE, P, P, P, P, OUT],
    "enrollkit_step_complete": [STORE, P, P, P, P, OUT],
    "enrollkit_step_fail": [STORE, P, P, P, P, P, OUT],
    "enrollkit_step_skip": [STORE, P, P, P, OUT],
    "enrollkit_attempt_submit": [STORE, P, P, F64, OUT],
    "enrollkit_assign_mentor": [STORE, P, P, P, OUT],
    "enrollkit_set_next_step_at": [STORE, P, P, P, OUT],
    "enrollkit_start_due": [STORE, P, U32, OUT],
    "enrollkit_expire_due": [STORE, P, U32, OUT],
    "enrollkit_waitlist": [STORE, P, P, U32, OUT],
    "enrollkit_waitlist_position": [STORE, P, P, ctypes.POINTER(U32)],
    "enrollkit_claim_due": [STORE, P, P, U32, U64, OUT],
    "enrollkit_due": [STORE, P, P, P, U32, OUT],
    "enrollkit_claim_renew": [STORE, P, P, U64, OUT],
    "enrollkit_claim_deliver": [STORE, P, P, P, OUT],
    "enrollkit_claim_complete": [STORE, P, P, P, OUT],
    "enrollkit_claim_fail": [STORE, P, P, P, P, OUT],
    "enrollkit_claim_skip": [STORE, P, P, OUT],
    "enrollkit_claim_release": [STORE, P, P, OUT],
    "enrollkit_enroll_anniversaries": [STORE, P, P, P, OUT],
    "enrollkit_enrollment_delete": [STORE, P, P],
    "enrollkit_step_progress": [STORE, P, P, OUT],
    "enrollkit_attempts": [STORE, P, P, OUT],
    "enrollkit_history": [STORE, P, P, OUT],
    "enrollkit_status_at": [STORE, P, P, P, OUT],
    "enrollkit_events_after": [STORE, P, I64, U32, OUT],
    "enrollkit_lineage": [STORE, P, P, P, OUT],
    "enrollkit_list": [STORE, P, P, OUT],
    "enrollkit_render": [STORE, P, P, U32, OUT],
    "enrollkit_report": [STORE, P, P, OUT],
}

# Values of the header's #defines.
MANUAL_CLOCK = 4
USER_BY = {"id": 0, "email": 1, "external_id": 2}
COMMANDS = {"start": 0, "drop": 1, "reactivate": 2, "pause": 3, "resume": 4, "cancel": 5,
            "begin_processing": 6, "end_processing": 7}
MODES = {"all_or_nothing": 0, "best_effort": 1}
VIEWS = {"track": 0, "certification": 1, "course": 2}


def load(path):
    lib = ctypes.CDLL(path)
    for name, argtypes in SIGNATURES.items():
        fn = getattr(lib, name)
        fn.argtypes = argtypes
        fn.restype = None if name == "enrollkit_store_free" else ctypes.c_int
    lib.enrollkit_last_error_details.restype = P
    lib.enrollkit_last_error_details.argtypes = []
    lib.enrollkit_string_free.argtypes = [ctypes.c_void_p]
    lib.enrollkit_string_free.restype = None
    return lib


def b(v):
    return None if v is None else v.encode("utf-8")


class CAdapter:
    def __init__(self, lib, db_path, start):
        self.lib = lib
        self.store = STORE()
        self.check_ok(lib.enrollkit_store_open(b(db_path), MANUAL_CLOCK, ctypes.byref(self.store)))
        self.check_ok(lib.enrollkit_store_set_time(self.store, b(start)))

    def close(self):
        self.lib.enrollkit_store_free(self.store)

    def check_ok(self, rc):
        if rc != 0:
            raise ScenarioError(json.loads(self.lib.enrollkit_last_error_details().decode("utf-8")))

    def call(self, name, *args, json_out=True):
        """Calls `name` with an output string appended; returns it parsed (or raw)."""
        out = ctypes.c_void_p()
        self.check_ok(getattr(self.lib, name)(self.store, *args, ctypes.byref(out)))
        if not out.value:
            return None
        try:
            text = ctypes.string_at(out.value).decode("utf-8")
        finally:
            self.lib.enrollkit_string_free(out)
        return json.loads(text) if json_out else text

    def run(self, op, actor, args):
        a = b(actor)
        get = args.get
        enrollment = b(get("id"))
        if op == "clock":
            if "set" in args:
                self.check_ok(self.lib.enrollkit_store_set_time(self.store, b(args["set"])))
            if "advance_ms" in args:
                self.check_ok(self.lib.enrollkit_store_advance_time(self.store, args["advance_ms"]))
            return {"now": self.call("enrollkit_store_now", json_out=False)}
        if op == "upsert_user":
            return self.call("enrollkit_user_upsert", b(json.dumps(args)))
        if op == "upsert_users":
            written = ctypes.c_uint64()
            self.check_ok(self.lib.enrollkit_users_upsert(self.store, b(json.dumps(args["users"])),
                                                          ctypes.byref(written)))
            return {"written": written.value}
        if op == "get_user":
            return self.call("enrollkit_user_get", enrollment)
        if op == "find_user":
            by = "email" if "email" in args else "external_id" if "external_id" in args else "id"
            return self.call("enrollkit_user_find", USER_BY[by], b(args[by]))
        if op == "list_users":
            return self.call("enrollkit_user_list", b(get("after")), get("limit", 100))
        if op == "erase_user":
            return self.call("enrollkit_erase_user", a, b(args["user_id"]))
        if op in ("create_program", "update_program"):
            name = "enrollkit_program_create" if op == "create_program" else "enrollkit_program_update"
            return self.call(name, b(json.dumps(args)))
        if op == "get_program":
            return self.call("enrollkit_program_get", enrollment)
        if op == "list_programs":
            return self.call("enrollkit_program_list", b(get("kind")), b(get("state")), b(get("after")),
                             get("limit", 100))
        if op == "enroll":
            return self.call("enrollkit_enroll_json", a, b(json.dumps(args)))
        if op == "enroll_many":
            return self.call("enrollkit_enroll_many", a, b(json.dumps(args["rows"])),
                             MODES[get("mode", "all_or_nothing")])
        if op == "get":
            return self.call("enrollkit_enrollment_get", a, enrollment)
        if op == "set_progress":
            return self.call("enrollkit_set_progress", a, enrollment, float(args["percent"]))
        if op == "add_progress":
            return self.call("enrollkit_add_progress", a, enrollment, float(args["delta"]))
        if op in COMMANDS:
            return self.call("enrollkit_transition", a, enrollment, COMMANDS[op])
        if op == "fail":
            return self.call("enrollkit_fail", a, enrollment, b(args["reason"]), b(get("message")))
        if op == "step":
            change, step = args["change"], b(args["step_id"])
            if change == "start":
                return self.call("enrollkit_step_start", a, enrollment, step)
            if change == "deliver":
                return self.call("enrollkit_step_deliver", a, enrollment, step, b(get("destination_type")))
            if change == "complete":
                result = json.dumps(args["result"]) if "result" in args else get("result_json")
                return self.call("enrollkit_step_complete", a, enrollment, step, b(result))
            if change == "fail":
                return self.call("enrollkit_step_fail", a, enrollment, step, b(args["reason"]), b(get("message")))
            if change == "skip":
                return self.call("enrollkit_step_skip", a, enrollment, step)
            raise ValueError(change)
        if op == "attempt":
            return self.call("enrollkit_attempt_submit", a, enrollment, float(args["score"]))
        if op == "assign_mentor":
            return self.call("enrollkit_assign_mentor", a, enrollment, b(get("mentor_id")))
        if op == "set_next_step_at":
            return self.call("enrollkit_set_next_step_at", a, enrollment, b(get("at")))
        if op == "start_due":
            return self.call("enrollkit_start_due", a, get("limit", 100))
        if op == "expire_due":
            return self.call("enrollkit_expire_due", a, get("limit", 100))
        if op == "waitlist":
            return self.call("enrollkit_waitlist", a, b(args["program_id"]), get("limit", 100))
        if op == "waitlist_position":
            place = U32()
            self.check_ok(self.lib.enrollkit_waitlist_position(self.store, a, enrollment, ctypes.byref(place)))
            return place.value or None  # 0: not waitlisted (places start at 1)
        if op == "claim_due":
            return self.call("enrollkit_claim_due", b(args["worker"]), b(get("program_id")), get("limit", 100),
                             get("lease_ms", 60000))
        if op == "due":
            return self.call("enrollkit_due", a, b(get("program_id")), b(get("until")), get("limit", 100))
        if op == "renew_claim":
            return self.call("enrollkit_claim_renew", b(args["worker"]), enrollment, get("lease_ms", 60000))
        if op == "complete_claim":
            change, worker = args["change"], b(args["worker"])
            if change == "deliver":
                return self.call("enrollkit_claim_deliver", worker, enrollment, b(get("destination_type")))
            if change == "complete":
                result = json.dumps(args["result"]) if "result" in args else get("result_json")
                return self.call("enrollkit_claim_complete", worker, enrollment, b(result))
            if change == "fail":
                return self.call("enrollkit_claim_fail", worker, enrollment, b(args["reason"]), b(get("message")))
            if change == "skip":
                return self.call("enrollkit_claim_skip", worker, enrollment)
            raise ValueError(change)
        if op == "release_claim":
            return self.call("enrollkit_claim_release", b(args["worker"]), enrollment)
        if op == "enroll_anniversaries":
            return self.call("enrollkit_enroll_anniversaries", a, b(args["program_id"]), b(args["on_date"]))
        if op == "delete":
            self.check_ok(self.lib.enrollkit_enrollment_delete(self.store, a, enrollment))
            return None
        if op in ("step_progress", "attempts", "history"):
            return self.call("enrollkit_" + op, a, enrollment)
        if op == "status_at":
            return self.call("enrollkit_status_at", a, enrollment, b(args["at"]), json_out=False)
        if op == "events_after":
            return self.call("enrollkit_events_after", a, get("after", 0), get("limit", 100))
        if op == "lineage":
            return self.call("enrollkit_lineage", a, b(args["user_id"]), b(args["program_id"]))
        if op == "list":
            return self.call("enrollkit_list", a, b(json.dumps(args)))
        if op == "render":
            view = VIEWS.get(args["view"])
            if view is None:
                # Not a view constant: the C caller's mistake is an out-of-range value.
                view = 99
            return self.call("enrollkit_render", a, enrollment, view)
        if op == "report":
            return self.call("enrollkit_report", a, b(args["program_id"]))
        if op == "check":
            return self.call("enrollkit_check")
        raise ValueError(f"unknown op {op}")


def main():
    lib = load(sys.argv[1])
    return run_corpus(lambda db, start: CAdapter(lib, db, start), "c")


if __name__ == "__main__":
    sys.exit(main())
