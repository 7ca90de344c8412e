// The C++ interface (include/enrollkit.hpp), compiled -std=c++17 -Wall -Wextra -Werror and run
// under ASan + UBSan by scripts/test-c: every class is used, every handle is released by its
// destructor (the leak checker is on), and errors arrive as enrollkit::error with their code
// and details. It also proves include/enrollkit.h is C++-clean (enrollkit.hpp includes it).
#include "enrollkit.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <type_traits>
#include <vector>

namespace {

int checks = 0, failures = 0;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        ++checks;                                                                     \
        if (!(cond)) {                                                                \
            ++failures;                                                               \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                             \
    } while (0)

// Runs `call`, which must throw enrollkit::error with `code`; returns its details.
template <typename Call>
std::string expect_error(enrollkit_result code, Call call) {
    ++checks;
    try {
        call();
    } catch (const enrollkit::error &e) {
        if (e.code() == code) return e.details();
        std::fprintf(stderr, "expected %s, got %s: %s\n", enrollkit_result_name(code), std::string(e.name()).c_str(),
                     e.what());
        ++failures;
        return {};
    }
    std::fprintf(stderr, "expected %s, nothing was thrown\n", enrollkit_result_name(code));
    ++failures;
    return {};
}

// Handles are move-only.
static_assert(!std::is_copy_constructible_v<enrollkit::store>);
static_assert(!std::is_copy_constructible_v<enrollkit::enrollment>);
static_assert(!std::is_copy_constructible_v<enrollkit::enrollment_page>);
static_assert(!std::is_copy_constructible_v<enrollkit::user>);
static_assert(!std::is_copy_constructible_v<enrollkit::user_array>);
static_assert(!std::is_copy_constructible_v<enrollkit::program>);
static_assert(!std::is_copy_constructible_v<enrollkit::program_array>);
static_assert(!std::is_copy_constructible_v<enrollkit::event_array>);
static_assert(!std::is_copy_constructible_v<enrollkit::enroll_outcomes>);
static_assert(!std::is_copy_constructible_v<enrollkit::claim_array>);
static_assert(!std::is_copy_constructible_v<enrollkit::user_batch>);
static_assert(!std::is_copy_constructible_v<enrollkit::enroll_batch>);
static_assert(!std::is_copy_constructible_v<enrollkit::list_query>);
static_assert(std::is_nothrow_move_constructible_v<enrollkit::enrollment>);
static_assert(std::is_nothrow_move_assignable_v<enrollkit::enrollment>);
static_assert(std::is_nothrow_move_constructible_v<enrollkit::store>);

// 2026-01-15T10:00:00Z
const enrollkit::time_point t0{std::chrono::milliseconds(1768471200000LL)};

void run() {
    using namespace enrollkit;
    using std::chrono::milliseconds;

    store s = store::open_in_memory(ENROLLKIT_OPEN_MANUAL_CLOCK);
    s.set_time("2026-01-15T10:00:00Z");
    CHECK(s.now() == "2026-01-15T10:00:00.000Z");
    CHECK(s.schema_version() >= 1);

    user_batch users;
    users.add("usr_ada")
        .set(user_field::email, "ada@example.com")
        .set(user_field::display_name, "Ada")
        .set(user_field::external_id, "U-ADA")
        .set(user_field::department, "Engineering")
        .set(user_field::location, "London")
        .set(user_field::timezone, "Europe/London")
        .add_group("Eng")
        .add_group("Leads");
    users.add(std::string("usr_bob")).set(user_field::manager_id, "usr_ada");
    CHECK(users.size() == 2);
    CHECK(s.upsert_users(users) == 2);
    users.clear();
    CHECK(users.size() == 0);
    s.upsert_user(R"({"id":"usr_cy"})");

    user ada = s.get_user("usr_ada");
    CHECK(ada.id() == "usr_ada" && ada.email() == "ada@example.com" && ada.display_name() == "Ada");
    CHECK(ada.external_id() == "U-ADA" && ada.department() == "Engineering" && ada.location() == "London");
    CHECK(ada.timezone() == "Europe/London" && !ada.manager_id());
    CHECK(ada.group_count() == 2 && ada.group(1) == "Leads");
    expect_error(ENROLLKIT_RESULT_NOT_FOUND, [&] { (void)s.get_user("nobody"); });
    user bob = s.find_user(user_by::external_id, "U-ADA");
    CHECK(bob.id() == "usr_ada");
    bob = s.find_user(user_by::email, "ADA@example.com");  // move assignment releases the first
    CHECK(bob.id() == "usr_ada");
    user moved(std::move(bob));
    CHECK(moved.id() == "usr_ada");
    user_array all_users = s.list_users(nullptr, 10);
    std::vector<std::string> ids;
    for (user_view u : all_users) ids.emplace_back(u.id());
    CHECK((ids == std::vector<std::string>{"usr_ada", "usr_bob", "usr_cy"}));
    CHECK(all_users[1].manager_id() == "usr_ada" && !all_users.empty() && all_users.size() == 3);
    bool threw = false;
    try {
        (void)all_users[3];
    } catch (const std::out_of_range &) {
        threw = true;
    }
    CHECK(threw);

    s.create_program(R"({"id":"crs_cpp","kind":"course","title":"C++","state":"active","self_enrollment":true,)"
                     R"("assessment":{"passing_score":70,"max_attempts":3}})");
    s.create_program(R"({"id":"wf_onboarding","kind":"track","title":"Onboarding","state":"active","steps":[)"
                     R"({"id":"welcome","step_type":"message","title":"Welcome","learner_completable":false},)"
                     R"({"id":"survey","step_type":"survey","title":"Survey","learner_completable":true}]})");
    s.create_program(R"({"id":"crt_sec","kind":"certification","title":"Security","state":"active"})");
    s.update_program(R"({"id":"crt_sec","kind":"certification","title":"Security 101","state":"active"})");
    expect_error(ENROLLKIT_RESULT_CONFLICT,
                 [&] { s.create_program(R"({"id":"crs_cpp","kind":"course","title":"X","state":"active"})"); });
    program course = s.get_program("crs_cpp");
    CHECK(course.id() == "crs_cpp" && course.kind() == "course" && course.title() == "C++");
    CHECK(course.state() == "active" && course.self_enrollment() && !course.description());
    CHECK(course.passing_score() == 70.0 && course.max_attempts() == 3u && course.step_count() == 0);
    CHECK(course.created_at() == t0 && course.updated_at() == t0);
    program track = s.get_program("wf_onboarding");
    step second = track.step(1);
    CHECK(second.id == "survey" && second.type == "survey" && second.title == "Survey" && second.learner_completable);
    CHECK(!track.step(0).learner_completable && !track.passing_score() && !track.max_attempts());
    program_array programs = s.list_programs(nullptr, "active", nullptr, 10);
    CHECK(programs.size() == 3 && programs[0].id() == "crs_cpp" && programs[1].title() == "Security 101");
    std::size_t n = 0;
    for (program_view p : programs) n += p.kind().size() > 0;
    CHECK(n == 3);

    // Enroll, progress, attempts: records read without JSON.
    enrollment e = s.enroll("learner:usr_ada", "usr_ada", "crs_cpp");
    const std::string course_id(e.id());
    CHECK(e.status() == "active" && e.kind() == "course" && e.trigger() == "self_join");
    CHECK(e.user_id() == "usr_ada" && e.program_id() == "crs_cpp" && e.enrolled_at() == t0);
    CHECK(!e.completed_at() && !e.best_score() && !e.passed() && e.attempt_number() == 1);
    std::string details = expect_error(ENROLLKIT_RESULT_ALREADY_ENROLLED, [&] { s.enroll("admin", "usr_ada", "crs_cpp"); });
    CHECK(details.find("\"existing_id\":\"" + course_id + "\"") != std::string::npos);
    try {
        s.transition("admin", course_id, command::cancel);
        CHECK(false);
    } catch (const error &err) {
        CHECK(err.code() == ENROLLKIT_RESULT_INVALID_TRANSITION);
        CHECK(err.name() == "ENROLLKIT_RESULT_INVALID_TRANSITION");
        CHECK(std::string(err.what()).size() > 0);
    }
    s.advance_time(milliseconds(1000));
    e = s.set_progress("learner:usr_ada", course_id, 40);
    CHECK(e.progress() == 40 && e.updated_at() == t0 + milliseconds(1000));
    e = s.submit_attempt("learner:usr_ada", course_id, 60);
    CHECK(e.attempts() == 1 && e.best_score() == 60.0 && e.passed() == false);
    e = s.transition("learner:usr_ada", course_id, command::drop);
    CHECK(e.status() == "dropped" && e.dropped_at());
    e = s.transition("learner:usr_ada", course_id, command::reactivate);
    e = s.submit_attempt("learner:usr_ada", course_id, 90);
    e = s.add_progress("learner:usr_ada", course_id, 60);
    CHECK(e.status() == "completed" && e.progress() == 100 && e.completed_at() == t0 + milliseconds(1000));
    enrollment again = s.get_enrollment("admin", course_id);
    enrollment_view view = again;  // an owner is also a view
    CHECK(view.id() == course_id && view.passed() == true);

    // A batch, every outcome.
    enroll_batch rows;
    rows.add(user_by::email, "ada@example.com", "wf_onboarding")
        .set(enroll_option::trigger, "user_join")
        .set(enroll_option::added_by_program_id, "wf_hr")
        .set(enroll_option::added_by_user_id, "usr_cy")
        .set(enroll_option::partnership_id, "prt_1")
        .set(enroll_option::timezone, "Europe/London")
        .set(enroll_option::id, "enr_cpp_track");
    rows.add("usr_bob", "wf_onboarding").set(enroll_option::start_at, "2999-01-01T00:00:00Z").set_flag(enroll_flag::as_batch, false);
    rows.add("ghost", "wf_onboarding");
    rows.add("usr_ada", "crs_cpp").set_flag(enroll_flag::allow_reenroll);
    rows.add(user_by::id, "usr_ada", "wf_onboarding");
    CHECK(rows.size() == 5);
    enroll_outcomes out = s.enroll_many("system", rows, batch_mode::best_effort);
    CHECK(out.size() == 5);
    CHECK(out.kind(0) == outcome::created && out.created(0)->id() == "enr_cpp_track");
    CHECK(out.created(0)->added_by_program_id() == "wf_hr" && out.created(0)->added_by_user_id() == "usr_cy");
    CHECK(out.created(0)->partnership_id() == "prt_1" && out.created(0)->timezone() == "Europe/London");
    CHECK(out.kind(1) == outcome::created && out.created(1)->status() == "new" && out.created(1)->start_at());
    CHECK(out.kind(2) == outcome::failed && out.error_code(2) == ENROLLKIT_RESULT_NOT_FOUND);
    CHECK(out.error_message(2) && out.error_details(2)->find("not_found") != std::string_view::npos);
    CHECK(out.kind(3) == outcome::created && out.created(3)->previous_id() == course_id);
    CHECK(out.kind(4) == outcome::already_enrolled && out.existing_id(4) == "enr_cpp_track");
    CHECK(out.kind(5) == outcome::none && !out.created(5) && out.error_code(5) == ENROLLKIT_RESULT_OK);
    CHECK(!out.user_id(0) && !out.user_id(5));  // a batch's rows name their users as the requests did
    rows.clear();
    rows.add("usr_cy", "wf_onboarding").set_flag(enroll_flag::as_batch);
    rows.add("ghost", "wf_onboarding");
    enroll_outcomes rolled_back = s.enroll_many("system", rows);
    CHECK(rolled_back.kind(0) == outcome::not_applied && rolled_back.kind(1) == outcome::failed);

    // Steps on the track.
    const std::string track_id = "enr_cpp_track";
    e = s.start_step("system", track_id, "welcome");
    e = s.deliver_step("system", track_id, "welcome", "user");
    e = s.deliver_step("system", track_id, "survey");
    CHECK(e.steps_delivered() == 2 && e.delivery_percent() == 100 && e.status() == "delivered" && e.delivered_at());
    e = s.fail_step("system", track_id, "survey", "bounced", "Mailbox full");
    e = s.assign_mentor("admin", track_id, "usr_cy");
    CHECK(e.mentor_id() == "usr_cy" && e.mentor_assigned_at());
    e = s.assign_mentor("admin", track_id, nullptr);
    CHECK(!e.mentor_id());
    e = s.set_next_step_at("system", track_id, t0 + std::chrono::hours(24));
    CHECK(e.next_step_at() == t0 + std::chrono::hours(24));
    e = s.set_next_step_at("system", track_id, std::nullopt);
    CHECK(!e.next_step_at());
    e = s.complete_step("learner:usr_ada", track_id, "survey", R"({"answers":[{"value":9}]})");
    CHECK(e.status() == "completed" && e.steps_completed() == 1 && e.completion_percent() == 50 && e.started_at());
    CHECK(!e.resume_status() && e.steps_skipped() == 0 && e.steps_total() == 2);
    enrollment scheduled = s.transition("admin", std::string(out.created(1)->id()), command::start);
    scheduled = s.transition("admin", std::string(scheduled.id()), command::pause);
    CHECK(scheduled.resume_status() == "active");
    scheduled = s.transition("admin", std::string(scheduled.id()), command::resume);
    scheduled = s.skip_step("system", std::string(scheduled.id()), "welcome");
    CHECK(scheduled.steps_skipped() == 1);
    scheduled = s.transition("admin", std::string(scheduled.id()), command::cancel);
    CHECK(scheduled.status() == "canceled" && scheduled.canceled_at());
    enrollment cert = s.enroll("admin", "usr_bob", "crt_sec");
    cert = s.fail("admin", std::string(cert.id()), "workflow_not_active", "Closed");
    CHECK(cert.status() == "failed" && cert.failure_reason() == "workflow_not_active");
    CHECK(cert.failure_message() == "Closed" && cert.failed_at());

    // Listing with a query, following cursors.
    list_query q;
    q.set(query_field::program_id, "wf_onboarding").order_by(order::oldest_first).cursor(nullptr, 1);
    std::vector<std::string> seen;
    for (;;) {
        enrollment_page page = s.list("admin", q);
        for (enrollment_view item : page) seen.emplace_back(item.id());
        if (!page.has_more()) break;
        q.cursor(std::string(*page.next_cursor()), 1);
    }
    CHECK(seen.size() == 2 && seen[0] == track_id);
    q.set(query_field::program_id, nullptr).set(query_field::status, "completed").page(1, 50);
    q.completed(t0, std::nullopt).enrolled(std::nullopt, t0 + std::chrono::hours(1));
    enrollment_page completed = s.list("admin", q);
    CHECK(completed.size() == 2 && !completed.has_more() && !completed.next_cursor());
    q.set(query_field::user_id, "usr_bob").set(query_field::trigger, "manual_user_trigger");
    expect_error(ENROLLKIT_RESULT_PERMISSION_DENIED, [&] { (void)s.list("learner:usr_ada", q); });
    expect_error(ENROLLKIT_RESULT_VALIDATION, [&] { q.order_by(static_cast<order>(7)); });
    enrollment_page lineage = s.lineage("learner:usr_ada", "usr_ada", "crs_cpp");
    CHECK(lineage.size() == 2 && lineage[1].attempt_number() == 2 && lineage[1].previous_id() == course_id);

    // History and the feed.
    event_array history = s.history("learner:usr_ada", course_id);
    CHECK(history.size() >= 5 && history[0].action() == "enrolled" && !history[0].from_status());
    CHECK(history[0].to_status() == "active" && history[0].actor() == "learner:usr_ada" && history[0].at() == t0);
    CHECK(history[0].enrollment_id() == course_id && history[0].user_id() == "usr_ada");
    CHECK(history[0].program_id() == "crs_cpp" && history[0].seq() >= 1);
    bool with_reason = false;
    for (event_view ev : s.history("admin", track_id)) with_reason = with_reason || ev.reason().has_value();
    CHECK(with_reason);
    event_array feed = s.events_after("admin", 0, 3);
    CHECK(feed.size() == 3 && feed[0].seq() < feed[2].seq());
    CHECK(s.status_at("admin", course_id, "2000-01-01T00:00:00Z") == std::nullopt);
    CHECK(s.status_at("admin", course_id, "9999-01-01T00:00:00Z") == std::string("completed"));

    // JSON where JSON is wanted: a reference shape, a report, files.
    const std::string rendered = s.render("admin", course_id, view::course);
    CHECK(rendered.find("\"status\":\"completed\"") != std::string::npos);
    CHECK(s.report("admin", "wf_onboarding").find("\"program_id\":\"wf_onboarding\"") != std::string::npos);
    CHECK(s.check() == "[]");
    s.delete_enrollment("admin", std::string(cert.id()));
    expect_error(ENROLLKIT_RESULT_NOT_FOUND, [&] { (void)s.get_enrollment("admin", std::string(cert.id())); });
    expect_error(ENROLLKIT_RESULT_VALIDATION, [&] { (void)store::open_in_memory(0x80); });
    expect_error(ENROLLKIT_RESULT_NULL_PARAMETER, [&] { (void)store::open(nullptr); });
}

// Step schedules: read back as step::schedule; next_step_at in the enrollee's zone; a pause.
void schedules() {
    using namespace enrollkit;
    store s = store::open_in_memory(ENROLLKIT_OPEN_MANUAL_CLOCK);
    s.create_program(R"({"id":"drip","kind":"track","title":"Drip","state":"active","steps":[)"
                     R"({"id":"welcome","step_type":"message","title":"Welcome","learner_completable":false},)"
                     R"({"id":"tip","step_type":"message","title":"Tip","learner_completable":false,)"
                     R"("schedule":{"after":"previous_step","delay":1,"unit":"business_days","at":"09:00"}},)"
                     R"({"id":"nudge","step_type":"message","title":"Nudge","learner_completable":false,)"
                     R"("schedule":{"after":"previous_step","delay":2,"unit":"hours"}}]})");
    program drip = s.get_program("drip");
    CHECK(!drip.step(0).schedule);
    std::optional<step_schedule> tip = drip.step(1).schedule;
    CHECK(tip && tip->after == "previous_step" && tip->delay == 1 && tip->unit == "business_days" && tip->at == "09:00");
    std::optional<step_schedule> nudge = drip.step(2).schedule;
    CHECK(nudge && nudge->after == "previous_step" && nudge->delay == 2 && nudge->unit == "hours" && !nudge->at);
    expect_error(ENROLLKIT_RESULT_VALIDATION, [&] {
        s.create_program(R"({"id":"c","kind":"course","title":"C","state":"active","steps":[)"
                         R"({"id":"a","step_type":"lesson","title":"A","learner_completable":true,)"
                         R"("schedule":{"after":"start","delay":1,"unit":"days"}}]})");
    });
    expect_error(ENROLLKIT_RESULT_VALIDATION, [&] { s.upsert_user(R"({"id":"m","timezone":"Mars/Olympus"})"); });

    // Friday 2027-03-12 16:00 in New York: the tip runs on Monday the 15th at 09:00 EDT.
    s.upsert_user(R"({"id":"ny","timezone":"America/New_York"})");
    s.set_time("2027-03-12T21:00:00Z");
    const time_point friday{std::chrono::milliseconds(1804885200000LL)};
    const time_point monday_nine{std::chrono::milliseconds(1805115600000LL)};
    enrollment e = s.enroll("system", "ny", "drip");
    const std::string id(e.id());
    CHECK(e.next_step_at() == friday && !e.paused_at());
    e = s.deliver_step("system", id, "welcome");
    CHECK(e.next_step_at() == monday_nine);
    e = s.transition("admin", id, command::pause);
    CHECK(e.paused_at() == friday && e.next_step_at() == monday_nine);
    s.advance_time(std::chrono::hours(1));
    e = s.transition("admin", id, command::resume);
    CHECK(!e.paused_at() && e.next_step_at() == monday_nine + std::chrono::hours(1));
}

// The due-work queue: claims with leases (a late worker is refused), every way to end a claim,
// iteration, workers of one program, the queue read without claiming, leases renewed, work the
// host timed with no step left; work anniversaries through the typed outcomes, naming their
// users; hire dates on users.
void queue() {
    using namespace enrollkit;
    store s = store::open_in_memory(ENROLLKIT_OPEN_MANUAL_CLOCK);
    s.set_time("2026-06-01T08:00:00Z");
    const time_point jun1{std::chrono::milliseconds(1780300800000LL)};
    s.create_program(R"({"id":"q","kind":"track","title":"Queue","state":"active","steps":[)"
                     R"({"id":"one","step_type":"message","title":"One","learner_completable":false},)"
                     R"({"id":"two","step_type":"message","title":"Two","learner_completable":false,)"
                     R"("schedule":{"after":"previous_step","delay":0,"unit":"minutes"}}]})");
    user_batch users;
    users.add("a").set(user_field::hire_date, "2020-03-10").set(user_field::timezone, "Asia/Tokyo");
    users.add("b").set(user_field::hire_date, "2025-03-10");
    CHECK(s.upsert_users(users) == 2);
    CHECK(s.get_user("a").hire_date() == "2020-03-10");
    const std::string a(s.enroll("system", "a", "q").id());
    const std::string b(s.enroll("system", "b", "q").id());

    claim_array claims = s.claim_due("w1", 10, std::chrono::seconds(1));
    CHECK(claims.size() == 2 && !claims.empty());
    std::vector<std::string> ids;
    for (claim c : claims) {
        ids.emplace_back(c.enrollment.id());
        CHECK(c.step_id == "one" && c.enrollment.status() == "processing");
        CHECK(c.enrollment.claimed_by() == "w1" && c.enrollment.lease_until() == jun1 + std::chrono::seconds(1));
    }
    CHECK(ids == (std::vector<std::string>{a, b}));
    bool threw = false;
    try {
        (void)claims[2];
    } catch (const std::out_of_range &) {
        threw = true;
    }
    CHECK(threw);
    CHECK(s.claim_due("w2", 10, std::chrono::minutes(1)).empty());

    // The lease ends: w2 takes a over, and w1's late delivery is refused.
    s.advance_time(std::chrono::seconds(1));
    CHECK(s.claim_due("w2", 10, max_lease).size() == 2);
    std::string details = expect_error(ENROLLKIT_RESULT_CONFLICT, [&] { (void)s.deliver_claim("w1", a); });
    CHECK(details.find("\"code\":\"conflict\"") != std::string::npos);
    enrollment e = s.deliver_claim("w2", a, "user");
    CHECK(e.status() == "active" && !e.claimed_by() && !e.lease_until() && e.steps_delivered() == 1);
    e = s.release_claim("w2", b);
    CHECK(e.status() == "active" && e.next_step_at() == jun1);
    CHECK(s.claim_due("w2", 10, std::chrono::minutes(1)).size() == 2);
    e = s.complete_claim("w2", a, R"({"ok":true})");
    CHECK(e.steps_completed() == 1);
    e = s.fail_claim("w2", b, "bounced", "Mailbox full");
    CHECK(e.status() == "active");
    CHECK(s.claim_due("w2", 10, std::chrono::minutes(1))[0].step_id == "two");
    e = s.skip_claim("w2", b);
    // Every step of the scheduled track has run, one failed: the enrollment fails.
    CHECK(e.steps_skipped() == 1 && e.status() == "failed");
    expect_error(ENROLLKIT_RESULT_CONFLICT, [&] { (void)s.skip_claim("w2", b); });
    expect_error(ENROLLKIT_RESULT_VALIDATION, [&] { (void)s.claim_due("w2", 10, std::chrono::milliseconds(0)); });
    expect_error(ENROLLKIT_RESULT_VALIDATION, [&] { (void)s.claim_due("w2", 10, std::chrono::milliseconds(-5)); });
    expect_error(ENROLLKIT_RESULT_VALIDATION,
                 [&] { (void)s.claim_due("w2", 10, max_lease + std::chrono::milliseconds(1)); });

    // q2: x due now, y a second later; z, in q, due then too.
    s.create_program(R"({"id":"q2","kind":"track","title":"Queue 2","state":"active","steps":[)"
                     R"({"id":"one","step_type":"message","title":"One","learner_completable":false},)"
                     R"({"id":"two","step_type":"message","title":"Two","learner_completable":false,)"
                     R"("schedule":{"after":"previous_step","delay":1,"unit":"days"}}]})");
    const time_point now = jun1 + std::chrono::seconds(1);
    const std::string x(s.enroll("system", "a", "q2").id());
    s.advance_time(std::chrono::seconds(1));
    const time_point later = now + std::chrono::seconds(1);
    const std::string y(s.enroll("system", "b", "q2").id());
    s.upsert_user(R"({"id":"d"})");
    const std::string z(s.enroll("system", "d", "q").id());

    // The queue read without claiming, soonest first.
    claim_array due = s.due("admin", "q2", std::nullopt, 10);
    CHECK(due.size() == 2 && due[0].enrollment.id() == x && due[1].enrollment.id() == y);
    CHECK(due[0].step_id == "one" && !due[0].enrollment.claimed_by() && due[0].enrollment.next_step_at() == now);
    due = s.due("system", "q2", now, 10);
    CHECK(due.size() == 1 && due[0].enrollment.id() == x);
    CHECK(s.due("admin", nullptr, std::nullopt, 1).size() == 1);
    CHECK(s.due("admin", nullptr, std::nullopt, 100).size() == 3);
    expect_error(ENROLLKIT_RESULT_PERMISSION_DENIED, [&] { (void)s.due("learner:a", nullptr, std::nullopt, 10); });
    expect_error(ENROLLKIT_RESULT_NOT_FOUND, [&] { (void)s.due("admin", "nope", std::nullopt, 10); });
    expect_error(ENROLLKIT_RESULT_VALIDATION, [&] { (void)s.due("admin", nullptr, std::nullopt, 0); });

    // A worker of q2 claims x and y only; a worker of every program gets z.
    claim_array mine = s.claim_due("w3", 10, std::chrono::minutes(1), "q2");
    CHECK(mine.size() == 2);
    for (claim c : mine) CHECK(c.enrollment.program_id() == "q2" && c.enrollment.claimed_by() == "w3");
    claim_array rest = s.claim_due("w4", 10, std::chrono::minutes(1), nullptr);
    CHECK(rest.size() == 1 && rest[0].enrollment.id() == z);
    expect_error(ENROLLKIT_RESULT_NOT_FOUND, [&] { (void)s.claim_due("w3", 10, std::chrono::minutes(1), "nope"); });
    due = s.due("admin", "q2", std::nullopt, 10);  // claimed work is listed too
    CHECK(due.size() == 2 && due[0].enrollment.claimed_by() == "w3");

    // The holder renews its lease; another worker is refused.
    e = s.renew_claim("w3", x, std::chrono::minutes(5));
    CHECK(e.status() == "processing" && e.claimed_by() == "w3" && e.lease_until() == later + std::chrono::minutes(5));
    details = expect_error(ENROLLKIT_RESULT_CONFLICT, [&] { (void)s.renew_claim("w4", x, std::chrono::minutes(1)); });
    CHECK(details.find("\"code\":\"conflict\"") != std::string::npos);
    expect_error(ENROLLKIT_RESULT_VALIDATION, [&] { (void)s.renew_claim("w3", x, std::chrono::milliseconds(-1)); });
    expect_error(ENROLLKIT_RESULT_VALIDATION, [&] { (void)s.renew_claim("w3", x, max_lease + std::chrono::milliseconds(1)); });
    CHECK(s.due("admin", "q2", std::nullopt, 10)[0].enrollment.lease_until() == later + std::chrono::minutes(5));
    (void)s.deliver_claim("w3", x);
    (void)s.deliver_claim("w3", y);
    (void)s.release_claim("w4", z);

    // Work the host timed, with no step left to run: delivering ends the claim, failing is refused.
    s.create_program(R"({"id":"hosted","kind":"track","title":"Hosted","state":"active","steps":[)"
                     R"({"id":"only","step_type":"message","title":"Only","learner_completable":false}]})");
    const std::string h(s.enroll("system", "a", "hosted").id());
    (void)s.fail_step("system", h, "only", "bounced");
    (void)s.set_next_step_at("system", h, later);
    claim_array hosted = s.claim_due("w5", 10, std::chrono::minutes(1), "hosted");
    CHECK(hosted.size() == 1 && !hosted[0].step_id);
    expect_error(ENROLLKIT_RESULT_VALIDATION, [&] { (void)s.fail_claim("w5", h, "bounced"); });
    e = s.deliver_claim("w5", h);
    CHECK(e.status() == "active" && !e.claimed_by() && !e.next_step_at());

    // Anniversaries on 2026-03-10: a (hired 2020) and b (hired 2025), once each.
    s.upsert_user(R"({"id":"c","hire_date":"2026-03-10"})");
    // In q, a's enrollment is completed and b's failed: a new one is made for each.
    enroll_outcomes in_q = s.enroll_anniversaries("system", "q", "2026-03-10");
    CHECK(in_q.size() == 2 && in_q.kind(0) == outcome::created && in_q.kind(1) == outcome::created);
    CHECK(in_q.created(0)->previous_id() == a && in_q.created(1)->previous_id() == b && !in_q.existing_id(1));
    CHECK(in_q.user_id(0) == "a" && in_q.user_id(1) == "b" && !in_q.user_id(2));
    s.create_program(R"({"id":"anniv","kind":"course","title":"Anniversary","state":"active"})");
    enroll_outcomes out = s.enroll_anniversaries("system", "anniv", "2026-03-10");
    CHECK(out.size() == 2 && out.kind(0) == outcome::created && out.kind(1) == outcome::created);
    CHECK(out.created(0)->user_id() == "a" && out.created(0)->trigger() == "work_anniversary");
    const std::string first(out.created(0)->id());
    out = s.enroll_anniversaries("admin", "anniv", "2026-03-10");
    CHECK(out.kind(0) == outcome::already_enrolled && out.existing_id(0) == first);
    CHECK(out.user_id(0) == "a" && out.user_id(1) == "b");
    expect_error(ENROLLKIT_RESULT_PERMISSION_DENIED, [&] { (void)s.enroll_anniversaries("learner:a", "q", "2026-03-10"); });
    expect_error(ENROLLKIT_RESULT_VALIDATION, [&] { (void)s.enroll_anniversaries("admin", "q", "2026-02-30"); });
}

// Policies: windows and prerequisites refused with their codes and details, an admin's override
// (enroll_option::override_prerequisites), program_view::policy, partner users, deadline_at,
// expire_due and the statuses it leaves.
void policies() {
    using namespace enrollkit;
    using std::chrono::milliseconds;
    const time_point apr1{milliseconds(1775001600000LL)}, may1{milliseconds(1777593600000LL)};
    const time_point may15{milliseconds(1778803200000LL)}, may31{milliseconds(1780185600000LL)};
    store s = store::open_in_memory(ENROLLKIT_OPEN_MANUAL_CLOCK);
    s.set_time("2026-03-01T00:00:00Z");

    user_batch users;
    users.add("u1");
    users.add("u2");
    users.add("partner").add_partnership("prt_a").add_partnership(std::string("prt_b")).add_group("Partners");
    CHECK(s.upsert_users(users) == 3);
    s.upsert_user(R"({"id":"partner2","partnerships":["prt_c"]})");
    user partner = s.get_user("partner");
    CHECK(partner.partnership_count() == 2 && partner.partnership(1) == "prt_b");
    CHECK((partner.partnerships() == std::vector<std::string_view>{"prt_a", "prt_b"}));
    CHECK(s.get_user("partner2").partnerships() == std::vector<std::string_view>{"prt_c"});
    CHECK(s.get_user("u1").partnerships().empty() && s.get_user("u1").partnership_count() == 0);
    bool threw = false;
    try {
        (void)partner.partnership(2);
    } catch (const std::out_of_range &) {
        threw = true;
    }
    CHECK(threw);
    users.clear();
    users.add("bad").add_partnership("");
    std::string details = expect_error(ENROLLKIT_RESULT_VALIDATION, [&] { (void)s.upsert_users(users); });
    CHECK(details.find("\"field\":\"partnerships\"") != std::string::npos);

    s.create_program(R"({"id":"window","kind":"course","title":"Window","state":"active","self_enrollment":true,)"
                     R"("policy":{"enroll_opens_at":"2026-04-01T00:00:00Z","enroll_closes_at":"2026-05-01T00:00:00Z"}})");
    s.create_program(R"({"id":"intro","kind":"course","title":"Intro","state":"active","self_enrollment":true})");
    s.create_program(R"({"id":"adv","kind":"course","title":"Advanced","state":"active","self_enrollment":true,)"
                     R"("policy":{"prerequisites":["intro"],"deadline":{"after_days":30}}})");
    s.create_program(R"({"id":"cert","kind":"certification","title":"Cert","state":"active",)"
                     R"("policy":{"deadline":{"at":"2026-05-15T00:00:00Z"},"capacity":5,"waitlist":true}})");
    program_policy window = s.get_program("window").policy();
    CHECK(window.enroll_opens_at == apr1 && window.enroll_closes_at == may1 && !window.deadline);
    CHECK(!window.capacity && !window.waitlist && window.prerequisites.empty());
    program adv_program = s.get_program("adv");
    program_policy adv = adv_program.policy();
    CHECK(!adv.enroll_opens_at && !adv.enroll_closes_at);
    CHECK(adv.deadline && !adv.deadline->at && adv.deadline->after_days == 30u);
    CHECK(adv.prerequisites == std::vector<std::string_view>{"intro"});
    program_policy cert = s.get_program("cert").policy();
    CHECK(cert.deadline && cert.deadline->at == may15 && !cert.deadline->after_days);
    CHECK(cert.capacity == 5u && cert.waitlist);
    program_policy none = s.get_program("intro").policy();
    CHECK(!none.enroll_opens_at && !none.deadline && !none.capacity && !none.waitlist && none.prerequisites.empty());
    expect_error(ENROLLKIT_RESULT_VALIDATION, [&] {
        s.create_program(R"({"id":"x","kind":"course","title":"X","state":"active","policy":{"waitlist":true}})");
    });

    // The window.
    details = expect_error(ENROLLKIT_RESULT_ENROLLMENT_CLOSED, [&] { (void)s.enroll("learner:u1", "u1", "window"); });
    CHECK(details.find("\"opens_at\":\"2026-04-01T00:00:00.000Z\"") != std::string::npos);
    CHECK(details.find("\"closed_at\":null") != std::string::npos);
    s.set_time("2026-04-01T00:00:00Z");
    enrollment e = s.enroll("learner:u1", "u1", "window");
    CHECK(e.status() == "active" && !e.deadline_at());
    s.set_time("2026-05-01T00:00:00Z");
    details = expect_error(ENROLLKIT_RESULT_ENROLLMENT_CLOSED, [&] { (void)s.enroll("admin", "u2", "window"); });
    CHECK(details.find("\"closed_at\":\"2026-05-01T00:00:00.000Z\"") != std::string::npos);

    // Prerequisites, and an admin's override (a row of a batch).
    details = expect_error(ENROLLKIT_RESULT_PREREQUISITES_NOT_MET, [&] { (void)s.enroll("learner:u1", "u1", "adv"); });
    CHECK(details.find("\"missing\":[\"intro\"]") != std::string::npos);
    e = s.enroll("learner:u1", "u1", "intro");
    e = s.set_progress("learner:u1", std::string(e.id()), 100);
    enrollment adv1 = s.enroll("learner:u1", "u1", "adv");
    CHECK(adv1.deadline_at() == may31);
    enroll_batch rows;
    rows.add("u2", "adv").set(enroll_option::override_prerequisites, "transfer credit");
    rows.add("partner", "adv");
    enroll_outcomes refused = s.enroll_many("system", rows, batch_mode::best_effort);
    CHECK(refused.kind(0) == outcome::failed && refused.error_code(0) == ENROLLKIT_RESULT_PERMISSION_DENIED);
    CHECK(refused.error_code(1) == ENROLLKIT_RESULT_PREREQUISITES_NOT_MET);
    CHECK(refused.error_details(1)->find("\"missing\":[\"intro\"]") != std::string_view::npos);
    enroll_outcomes overridden = s.enroll_many("admin", rows, batch_mode::best_effort);
    CHECK(overridden.kind(0) == outcome::created && overridden.created(0)->deadline_at() == may31);
    const std::string adv2(overridden.created(0)->id());
    CHECK(s.history("admin", adv2)[0].reason() == "manual_user_trigger; prerequisites overridden: transfer credit");

    // A partner user names one of their partnerships; another user need not.
    rows.clear();
    rows.add("partner", "cert");
    rows.add("partner", "cert").set(enroll_option::partnership_id, "prt_b");
    rows.add("u1", "cert");
    enroll_outcomes certs = s.enroll_many("admin", rows, batch_mode::best_effort);
    CHECK(certs.kind(0) == outcome::failed && certs.error_code(0) == ENROLLKIT_RESULT_VALIDATION);
    CHECK(certs.error_details(0)->find("\"field\":\"partnership_id\"") != std::string_view::npos);
    CHECK(certs.kind(1) == outcome::created && certs.created(1)->partnership_id() == "prt_b");
    CHECK(certs.created(1)->deadline_at() == may15 && certs.created(2)->deadline_at() == may15);
    const std::string cert1(certs.created(1)->id()), cert2(certs.created(2)->id());
    // An id the caller chose, with characters JSON escapes: expire_due returns it as it is.
    rows.clear();
    rows.add("partner2", "cert").set(enroll_option::partnership_id, "prt_c").set(enroll_option::id, "enr_\"q\\/\xc3\xa9");
    CHECK(s.enroll_many("admin", rows).kind(0) == outcome::created);

    // expire_due.
    expect_error(ENROLLKIT_RESULT_PERMISSION_DENIED, [&] { (void)s.expire_due("learner:u1", 10); });
    expect_error(ENROLLKIT_RESULT_VALIDATION, [&] { (void)s.expire_due("system", 0); });
    CHECK(s.expire_due("system", 100).empty());
    s.set_time("2026-05-15T00:00:00Z");
    std::vector<std::string> expired = s.expire_due("system", 2);
    CHECK(expired.size() == 2);
    for (const std::string &id : s.expire_due("admin", 100)) expired.push_back(id);
    std::sort(expired.begin(), expired.end());
    std::vector<std::string> want{cert1, cert2, "enr_\"q\\/\xc3\xa9"};
    std::sort(want.begin(), want.end());
    CHECK(expired == want);
    e = s.get_enrollment("admin", cert1);
    CHECK(e.status() == "failed" && e.failure_reason() == "deadline_passed" && e.failed_at() == may15);
    e = s.set_progress("learner:u1", std::string(adv1.id()), 100);  // u1 finishes in time
    CHECK(e.status() == "completed");
    s.set_time("2026-05-31T00:00:00Z");
    CHECK(s.expire_due("system", 100) == std::vector<std::string>{adv2});
    e = s.get_enrollment("admin", adv2);
    CHECK(e.status() == "expired" && e.deadline_at() == may31 && !e.failure_reason());
    event_array history = s.history("admin", adv2);
    CHECK(history[history.size() - 1].action() == "expire" && history[history.size() - 1].to_status() == "expired");
    list_query q;
    q.set(query_field::program_id, "adv").set(query_field::status, "expired");
    CHECK(s.list("admin", q).size() == 1 && s.list("admin", q)[0].id() == adv2);
    q.set(query_field::status, "waitlisted");
    CHECK(s.list("admin", q).empty());
    CHECK(s.check() == "[]");

    // Detail: string_array reads every JSON string escape.
    CHECK((detail::string_array(R"( [ "a\"b" , "\\\/\b\f\n\r\t", "\u00e9\ud83d\ude00" ] )") ==
           std::vector<std::string>{"a\"b", "\\/\b\f\n\r\t", "\xc3\xa9\xf0\x9f\x98\x80"}));
    CHECK(detail::string_array("[]").empty());
    for (const char *bad : {"", "[", "[1]", "[\"a\"", "[\"a\",]", "{}", "[\"\\x\"]", "[\"a\"] x"}) {
        threw = false;
        try {
            (void)detail::string_array(bad);
        } catch (const std::runtime_error &) {
            threw = true;
        }
        CHECK(threw);
    }
}

// Capacity with a waitlist: store::waitlist (an enrollment_page, in order) and
// store::waitlist_position (std::nullopt when not waitlisted); promotion when a seat frees; a
// capacity without a waitlist refuses.
void waitlist() {
    using namespace enrollkit;
    store s = store::open_in_memory(ENROLLKIT_OPEN_MANUAL_CLOCK);
    s.set_time("2026-03-01T00:00:00Z");
    user_batch users;
    users.add("u1");
    users.add("u2");
    users.add("u3");
    CHECK(s.upsert_users(users) == 3);
    s.create_program(R"({"id":"one","kind":"course","title":"One seat","state":"active","self_enrollment":true,)"
                     R"("policy":{"capacity":1,"waitlist":true}})");
    CHECK(s.get_program("one").policy().capacity == 1u && s.get_program("one").policy().waitlist);

    enrollment first = s.enroll("learner:u1", "u1", "one");
    enrollment second = s.enroll("learner:u2", "u2", "one");
    enrollment third = s.enroll("admin", "u3", "one");
    CHECK(first.status() == "active");
    CHECK(second.status() == "waitlisted" && !second.started_at() && third.status() == "waitlisted");
    const std::string a(first.id()), b(second.id()), c(third.id());

    std::optional<std::uint32_t> place = s.waitlist_position("learner:u2", b);
    CHECK(place && *place == 1u);
    CHECK(s.waitlist_position("system", c) == 2u);
    CHECK(!s.waitlist_position("learner:u1", a));  // holds the seat
    std::string details =
        expect_error(ENROLLKIT_RESULT_PERMISSION_DENIED, [&] { (void)s.waitlist_position("learner:u3", b); });
    CHECK(details.find("\"code\":\"permission_denied\"") != std::string::npos);
    expect_error(ENROLLKIT_RESULT_NOT_FOUND, [&] { (void)s.waitlist_position("admin", "enr_nope"); });

    enrollment_page waiting = s.waitlist("admin", "one", 100);
    CHECK(waiting.size() == 2 && !waiting.has_more() && !waiting.next_cursor());
    std::vector<std::string> ids;
    for (enrollment_view e : waiting) ids.emplace_back(e.id());
    CHECK((ids == std::vector<std::string>{b, c}));
    CHECK(waiting[0].status() == "waitlisted");
    enrollment_page head = s.waitlist("system", "one", 1);
    CHECK(head.size() == 1 && head[0].id() == b && !head.has_more());
    expect_error(ENROLLKIT_RESULT_PERMISSION_DENIED, [&] { (void)s.waitlist("learner:u2", "one", 100); });
    expect_error(ENROLLKIT_RESULT_NOT_FOUND, [&] { (void)s.waitlist("admin", "nope", 100); });
    expect_error(ENROLLKIT_RESULT_VALIDATION, [&] { (void)s.waitlist("admin", "one", 0); });

    // The seat frees: the head is promoted, the rest move up.
    s.advance_time(std::chrono::hours(24));
    CHECK(s.transition("learner:u1", a, command::drop).status() == "dropped");
    CHECK(s.get_enrollment("learner:u2", b).status() == "active");
    CHECK(!s.waitlist_position("learner:u2", b));
    CHECK(s.waitlist_position("learner:u3", c) == 1u);
    event_array history = s.history("admin", b);
    CHECK(history.size() == 2 && history[1].action() == "promote" && history[1].actor() == "system");
    CHECK(history[1].from_status() == "waitlisted" && history[1].to_status() == "active");
    CHECK(history[1].reason() == "seat_freed");
    waiting = s.waitlist("admin", "one", 100);
    CHECK(waiting.size() == 1 && waiting[0].id() == c);
    details = expect_error(ENROLLKIT_RESULT_PROGRAM_FULL, [&] { (void)s.transition("learner:u1", a, command::reactivate); });
    CHECK(details.find("\"capacity\":1") != std::string::npos);
    (void)s.transition("learner:u3", c, command::drop);
    CHECK(s.waitlist("admin", "one", 100).empty());

    // A capacity without a waitlist refuses.
    s.create_program(R"({"id":"strict","kind":"certification","title":"Strict","state":"active","policy":{"capacity":1}})");
    enrollment seated = s.enroll("admin", "u1", "strict");
    details = expect_error(ENROLLKIT_RESULT_PROGRAM_FULL, [&] { (void)s.enroll("admin", "u2", "strict"); });
    CHECK(details.find("\"code\":\"program_full\"") != std::string::npos);
    CHECK(details.find("\"capacity\":1") != std::string::npos);
    CHECK(details.find("\"program_id\":\"strict\"") != std::string::npos);
    CHECK(s.waitlist("admin", "strict", 100).empty() && !s.waitlist_position("admin", std::string(seated.id())));
    CHECK(s.check() == "[]");
}

// Erasure on request: store::erase_user returns an enrollkit::erasure (tombstone and counts);
// admin only; store::compact.
void erasure_test(const std::string &dir) {
    using namespace enrollkit;
    store s = store::open_in_memory(ENROLLKIT_OPEN_MANUAL_CLOCK);
    s.set_time("2026-03-01T00:00:00Z");
    user_batch users;
    users.add("gone_user").set(user_field::email, "gone@example.com").set(user_field::display_name, "Gone Person");
    users.add("stay").set(user_field::manager_id, "gone_user");
    users.add("lone");
    CHECK(s.upsert_users(users) == 3);
    s.create_program(R"({"id":"seat","kind":"course","title":"One seat","state":"active","self_enrollment":true,)"
                     R"("policy":{"capacity":1,"waitlist":true}})");
    s.create_program(R"({"id":"cert","kind":"certification","title":"Cert","state":"active",)"
                     R"("assessment":{"passing_score":80,"max_attempts":3}})");
    const std::string seat(s.enroll("learner:gone_user", "gone_user", "seat").id());
    (void)s.set_progress("learner:gone_user", seat, 30);
    const std::string cert(s.enroll("admin", "gone_user", "cert").id());
    (void)s.submit_attempt("learner:gone_user", cert, 55);
    enrollment waiting = s.enroll("admin", "stay", "seat");
    CHECK(waiting.status() == "waitlisted");
    const std::string waiting_id(waiting.id());

    std::string details = expect_error(ENROLLKIT_RESULT_PERMISSION_DENIED, [&] { (void)s.erase_user("system", "gone_user"); });
    CHECK(details.find("\"code\":\"permission_denied\"") != std::string::npos);
    expect_error(ENROLLKIT_RESULT_PERMISSION_DENIED, [&] { (void)s.erase_user("learner:gone_user", "gone_user"); });
    expect_error(ENROLLKIT_RESULT_NOT_FOUND, [&] { (void)s.erase_user("admin", "nobody"); });
    expect_error(ENROLLKIT_RESULT_VALIDATION, [&] { (void)s.erase_user("admin", " "); });
    CHECK(s.get_user("gone_user").email() == "gone@example.com");  // refusals change nothing

    const erasure erased = s.erase_user("admin", "gone_user");
    CHECK(erased.tombstone.size() == 33 && erased.tombstone.rfind("erased_", 0) == 0);
    CHECK(erased.enrollments == 2 && erased.events == 4);
    expect_error(ENROLLKIT_RESULT_NOT_FOUND, [&] { (void)s.get_user("gone_user"); });
    expect_error(ENROLLKIT_RESULT_NOT_FOUND, [&] { (void)s.get_enrollment("admin", seat); });
    event_array history = s.history("admin", seat);
    CHECK(history.size() == 2);
    for (event_view e : history) CHECK(e.user_id() == erased.tombstone && !e.reason());
    CHECK(s.get_enrollment("admin", waiting_id).status() == "active");  // the freed seat
    CHECK(!s.get_user("stay").manager_id());
    expect_error(ENROLLKIT_RESULT_NOT_FOUND, [&] { (void)s.erase_user("admin", "gone_user"); });
    const erasure none = s.erase_user("admin", "lone");
    CHECK(none.enrollments == 0 && none.events == 0 && none.tombstone != erased.tombstone);
    s.compact();
    CHECK(s.check() == "[]");

    // On file: compact leaves nothing of the person in the file or its WAL.
    store f = store::open(dir + "/cpp-erase.db");
    f.upsert_user(R"({"id":"usr_zq81","email":"zq81@example.net","display_name":"Zed Quintavalle"})");
    f.create_program(R"({"id":"c","kind":"course","title":"C","state":"active","self_enrollment":true})");
    (void)f.enroll("learner:usr_zq81", "usr_zq81", "c");
    CHECK(f.erase_user("admin", "usr_zq81").enrollments == 1);
    f.compact();
    CHECK(f.check() == "[]");

    // Detail: erasure_of reads the keys in any order, and nothing else.
    const erasure parsed = detail::erasure_of(R"( {"events": 18446744073709551615, "tombstone":"a\u00e9", "enrollments":0} )");
    CHECK(parsed.tombstone == "a\xc3\xa9" && parsed.enrollments == 0 && parsed.events == 18446744073709551615ULL);
    for (const char *bad :
         {"", "{}", "[]", R"({"tombstone":"t","enrollments":1})", R"({"tombstone":"t","enrollments":1,"events":-1})",
          R"({"tombstone":"t","enrollments":1,"events":1.5})", R"({"tombstone":"t","enrollments":1,"events":18446744073709551616})",
          R"({"tombstone":"t","enrollments":01,"events":1})", R"({"tombstone":1,"enrollments":1,"events":1})",
          R"({"tombstone":"t","enrollments":1,"events":1,"other":1})", R"({"tombstone":"t","tombstone":"u","enrollments":1,"events":1})",
          R"({"tombstone":"t","enrollments":1,"events":1,})", R"({"tombstone":"t","enrollments":1,"events":1} x)"}) {
        bool threw = false;
        try {
            (void)detail::erasure_of(bad);
        } catch (const std::runtime_error &) {
            threw = true;
        }
        CHECK(threw);
    }
}

void files(const std::string &dir) {
    using namespace enrollkit;
    store s = store::open(dir + "/cpp.db");
    s.upsert_user(R"({"id":"usr_1"})");
    const std::string exported = dir + "/cpp.jsonl";
    CHECK(s.export_to(exported).find("\"users\":1") != std::string::npos);
    store copy = store::open(dir + "/cpp-copy.db");
    CHECK(copy.import_from(exported).find("\"committed\":true") != std::string::npos);
    CHECK(copy.get_user("usr_1").id() == "usr_1");
    s.backup(dir + "/cpp-backup.db");
    expect_error(ENROLLKIT_RESULT_CONFLICT, [&] { s.backup(dir + "/cpp-backup.db"); });
    store moved = std::move(s);
    CHECK(moved.schema_version() >= 1);
}

}  // namespace

int main(int argc, char **argv) {
    try {
        run();
        schedules();
        queue();
        policies();
        waitlist();
        erasure_test(argc > 1 ? argv[1] : ".");
        files(argc > 1 ? argv[1] : ".");
    } catch (const enrollkit::error &e) {
        std::fprintf(stderr, "test_cpp: unexpected %s: %s\n", std::string(e.name()).c_str(), e.what());
        return 1;
    }
    std::printf("test_cpp: %d checks, %d failures (%s)\n", checks, failures, enrollkit_version());
    return failures == 0 ? 0 : 1;
}
