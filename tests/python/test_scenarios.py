"""The scenario corpus through the Python API, on SQLite and PostgreSQL, with results identical to
the Rust runner's."""

import json
from datetime import timedelta
from typing import Any, Dict

import enrollkit
import pytest
from enrollkit._types import format_time
from scenario_driver import CORPUS, ScenarioError, backends, run_file


def _dict(value: Any) -> Any:
    if isinstance(value, list):
        return [_dict(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


class PyAdapter:
    def __init__(self, db_path: str, start: str) -> None:
        self.store = enrollkit.Store(db_path, manual_clock=True)
        self.store.set_time(start)

    def close(self) -> None:
        self.store.close()

    def run(self, op: str, actor: str, args: Dict[str, Any]) -> Any:
        try:
            return _dict(self._run(op, actor, args))
        except enrollkit.EnrollkitError as e:
            raise ScenarioError(e.details) from None

    @staticmethod
    def _result(text: str) -> Any:
        """A step result given as JSON text: Python callers pass objects, and malformed text
        fails in their json.loads."""
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise enrollkit.ValidationError("invalid result: malformed JSON", {"field": "result"})

    def _run(self, op: str, actor: str, a: Dict[str, Any]) -> Any:
        s, get = self.store, a.get
        if op == "clock":
            if "set" in a:
                s.set_time(a["set"])
            if "advance_ms" in a:
                s.advance_time(a["advance_ms"])
            return {"now": format_time(s.now())}
        if op == "upsert_user":
            return s.upsert_user(a)
        if op == "upsert_users":
            return {"written": s.upsert_users(a["users"])}
        if op == "get_user":
            return s.get_user(a["id"])
        if op == "find_user":
            if "email" in a:
                return s.find_user(email=a["email"])
            if "external_id" in a:
                return s.find_user(external_id=a["external_id"])
            return s.get_user(a["id"])
        if op == "list_users":
            return s.list_users(after=get("after"), limit=get("limit", 100))
        if op == "create_program":
            return s.create_program(a)
        if op == "update_program":
            return s.update_program(a)
        if op == "get_program":
            return s.get_program(a["id"])
        if op == "list_programs":
            return s.list_programs(kind=get("kind"), state=get("state"), after=get("after"), limit=get("limit", 100))
        if op == "enroll":
            return s.enroll(**{"user_id": None, **a}, actor=actor)
        if op == "enroll_many":
            return s.enroll_many(a["rows"], mode=get("mode", "all_or_nothing"), actor=actor)
        if op == "get":
            return s.get_enrollment(a["id"], actor=actor)
        if op == "set_progress":
            return s.set_progress(a["id"], a["percent"], actor=actor)
        if op == "add_progress":
            return s.add_progress(a["id"], a["delta"], actor=actor)
        if op in ("start", "drop", "reactivate", "pause", "resume", "cancel", "begin_processing", "end_processing"):
            return getattr(s, op)(a["id"], actor=actor)
        if op == "fail":
            return s.fail(a["id"], a["reason"], get("message"), actor=actor)
        if op == "claim_due":
            return s.claim_due(a["worker"], get("limit", 100), timedelta(milliseconds=get("lease_ms", 60000)),
                               program_id=get("program_id"))
        if op == "due":
            return s.due(program_id=get("program_id"), until=get("until"), limit=get("limit", 100), actor=actor)
        if op == "renew_claim":
            return s.renew_claim(a["worker"], a["id"], timedelta(milliseconds=get("lease_ms", 60000)))
        if op == "complete_claim":
            options = {k: a[k] for k in ("destination_type", "result", "reason", "message") if k in a}
            if "result_json" in a:
                options["result"] = self._result(a["result_json"])
            return s.complete_claim(a["worker"], a["id"], a["change"], **options)
        if op == "release_claim":
            return s.release_claim(a["worker"], a["id"])
        if op == "enroll_anniversaries":
            return s.enroll_anniversaries(a["program_id"], a["on_date"], actor=actor)
        if op == "step":
            i, step, change = a["id"], a["step_id"], a["change"]
            if change == "start":
                return s.start_step(i, step, actor=actor)
            if change == "deliver":
                return s.deliver_step(i, step, get("destination_type"), actor=actor)
            if change == "complete":
                result = get("result")
                if "result_json" in a:
                    result = self._result(a["result_json"])
                return s.complete_step(i, step, result, actor=actor)
            if change == "fail":
                return s.fail_step(i, step, a["reason"], get("message"), actor=actor)
            return s.skip_step(i, step, actor=actor)
        if op == "attempt":
            e, att = s.submit_attempt(a["id"], a["score"], actor=actor)
            return {"enrollment": e.to_dict(), "attempt": att.to_dict()}
        if op == "assign_mentor":
            return s.assign_mentor(a["id"], get("mentor_id"), actor=actor)
        if op == "set_next_step_at":
            return s.set_next_step_at(a["id"], get("at"), actor=actor)
        if op == "start_due":
            return s.start_due(limit=get("limit", 100), actor=actor)
        if op == "expire_due":
            return s.expire_due(limit=get("limit", 100), actor=actor)
        if op == "waitlist":
            return s.waitlist(a["program_id"], limit=get("limit", 100), actor=actor)
        if op == "waitlist_position":
            return s.waitlist_position(a["id"], actor=actor)
        if op == "delete":
            return s.delete_enrollment(a["id"], actor=actor)
        if op == "erase_user":
            return s.erase_user(a["user_id"], actor=actor)
        if op in ("step_progress", "attempts", "history"):
            return getattr(s, op)(a["id"], actor=actor)
        if op == "status_at":
            return s.status_at(a["id"], a["at"], actor=actor)
        if op == "events_after":
            return s.events_after(get("after", 0), limit=get("limit", 100), actor=actor)
        if op == "lineage":
            return s.lineage(a["user_id"], a["program_id"], actor=actor)
        if op == "list":
            filters = {k: v for k, v in a.items() if k not in ("page", "per_page", "limit", "starting_after")}
            if "limit" in a or "starting_after" in a:
                return s.list_page(per_page=get("limit", 20), starting_after=get("starting_after"), actor=actor, **filters)
            return s.list_page(page=get("page", 1), per_page=get("per_page", 20), actor=actor, **filters)
        if op == "render":
            return s.render(a["id"], a["view"], actor=actor)
        if op == "report":
            return s.report(a["program_id"], actor=actor)
        if op == "check":
            return s.check()
        raise ValueError(f"unknown op {op}")


FILES = sorted(f for f in __import__("os").listdir(CORPUS) if f.endswith(".json"))


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("name", FILES)
def test_scenario(name: str, backend: str) -> None:
    import os

    steps = run_file(os.path.join(CORPUS, name), PyAdapter, "python", backend)
    assert steps > 0
