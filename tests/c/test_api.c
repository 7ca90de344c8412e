/*
 * Exercises every function of include/enrollkit.h: results, every error code, NULL for every
 * pointer argument, invalid UTF-8, outputs untouched on failure, and ownership (every string
 * freed; run under ASan/UBSan and Valgrind by scripts/test-c).
 *
 * Usage: test_api SCRATCH_DIR
 */
#define _POSIX_C_SOURCE 200809L
#include "enrollkit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int checks = 0, failures = 0;

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        checks++;                                                                            \
        if (!(cond)) {                                                                       \
            failures++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, \
                    #cond, enrollkit_last_error_message());                                  \
        }                                                                                    \
    } while (0)

#define EXPECT(call, code)                                                                   \
    do {                                                                                     \
        enrollkit_result r_ = (call);                                                        \
        checks++;                                                                            \
        if (r_ != (code)) {                                                                  \
            failures++;                                                                      \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s: %s\n", __FILE__, __LINE__,  \
                    #call, enrollkit_result_name((int)r_), enrollkit_result_name((int)(code)), \
                    enrollkit_last_error_message());                                         \
        }                                                                                    \
    } while (0)

#define OK(call) EXPECT(call, ENROLLKIT_RESULT_OK)
#define NUL(call) EXPECT(call, ENROLLKIT_RESULT_NULL_PARAMETER)
#define UTF(call) EXPECT(call, ENROLLKIT_RESULT_INVALID_UTF8)

/* Not UTF-8. */
static const char BAD[] = {(char)0xff, (char)0xfe, 'x', 0};
/* A pointer value that must survive a failed call untouched. */
#define SENTINEL ((char *)0x1)

/* Whether `json` contains `needle`; frees `json`. */
static int has(char *json, const char *needle) {
    int found = json != NULL && strstr(json, needle) != NULL;
    if (!found) fprintf(stderr, "  %s does not contain %s\n", json ? json : "(null)", needle);
    enrollkit_string_free(json);
    return found;
}

/* The value of "key":"..." in `json` (first occurrence), copied into `buf`. */
static void field(const char *json, const char *key, char *buf, size_t size) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    const char *p = strstr(json, pattern);
    buf[0] = 0;
    if (!p) return;
    p += strlen(pattern);
    size_t n = 0;
    while (p[n] && p[n] != '"' && n + 1 < size) n++;
    memcpy(buf, p, n);
    buf[n] = 0;
}

static int last_details_have(const char *needle) {
    int found = strstr(enrollkit_last_error_details(), needle) != NULL;
    if (!found) fprintf(stderr, "  details %s lack %s\n", enrollkit_last_error_details(), needle);
    return found;
}

static void test_library(void) {
    CHECK(strcmp(enrollkit_version(), ENROLLKIT_VERSION) == 0);
    CHECK(ENROLLKIT_VERSION_MAJOR == 0 && ENROLLKIT_VERSION_MINOR == 1);
    CHECK(strcmp(enrollkit_result_name(ENROLLKIT_RESULT_OK), "ENROLLKIT_RESULT_OK") == 0);
    CHECK(strcmp(enrollkit_result_name(ENROLLKIT_RESULT_PANIC), "ENROLLKIT_RESULT_PANIC") == 0);
    CHECK(strcmp(enrollkit_result_name(ENROLLKIT_RESULT_STORAGE), "ENROLLKIT_RESULT_STORAGE") == 0);
    CHECK(strcmp(enrollkit_result_name(-1), "ENROLLKIT_RESULT_UNKNOWN") == 0);
    CHECK(strcmp(enrollkit_result_name(12345), "ENROLLKIT_RESULT_UNKNOWN") == 0);
    const enrollkit_result all[] = {
        ENROLLKIT_RESULT_NULL_PARAMETER, ENROLLKIT_RESULT_INVALID_UTF8, ENROLLKIT_RESULT_PANIC,
        ENROLLKIT_RESULT_NOT_FOUND, ENROLLKIT_RESULT_ALREADY_ENROLLED,
        ENROLLKIT_RESULT_INVALID_TRANSITION, ENROLLKIT_RESULT_PERMISSION_DENIED,
        ENROLLKIT_RESULT_VALIDATION, ENROLLKIT_RESULT_CONFLICT,
        ENROLLKIT_RESULT_PROGRAM_NOT_ACTIVE, ENROLLKIT_RESULT_ATTEMPT_LIMIT_REACHED,
        ENROLLKIT_RESULT_BUSY, ENROLLKIT_RESULT_SCHEMA_TOO_NEW, ENROLLKIT_RESULT_CORRUPT,
        ENROLLKIT_RESULT_STORAGE};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        CHECK(strncmp(enrollkit_result_name(all[i]), "ENROLLKIT_RESULT_", 17) == 0);
        CHECK(strcmp(enrollkit_result_name(all[i]), "ENROLLKIT_RESULT_UNKNOWN") != 0);
    }
    enrollkit_string_free(NULL);
    enrollkit_store_free(NULL);
    /* A success clears the thread's last error. */
    NUL(enrollkit_store_open_in_memory(0, NULL));
    CHECK(strlen(enrollkit_last_error_message()) > 0);
    CHECK(last_details_have("\"code\":\"null_parameter\""));
    enrollkit_store *s = NULL;
    OK(enrollkit_store_open_in_memory(0, &s));
    CHECK(strcmp(enrollkit_last_error_message(), "") == 0);
    CHECK(strcmp(enrollkit_last_error_details(), "{}") == 0);
    enrollkit_store_free(s);
}

static void test_opening(const char *dir) {
    char path[512], bad[512];
    enrollkit_store *s = NULL;
    enrollkit_store *untouched = (enrollkit_store *)0x1;

    snprintf(path, sizeof path, "%s/missing.db", dir);
    EXPECT(enrollkit_store_open(path, ENROLLKIT_OPEN_NO_CREATE, &untouched), ENROLLKIT_RESULT_STORAGE);
    CHECK(untouched == (enrollkit_store *)0x1);
    EXPECT(enrollkit_store_open(path, 0x80, &untouched), ENROLLKIT_RESULT_VALIDATION);
    NUL(enrollkit_store_open(NULL, 0, &s));
    NUL(enrollkit_store_open(path, 0, NULL));
    UTF(enrollkit_store_open(BAD, 0, &s));
    NUL(enrollkit_store_open_with_timeout(NULL, 0, 10, &s));
    NUL(enrollkit_store_open_with_timeout(path, 0, 10, NULL));
    UTF(enrollkit_store_open_with_timeout(BAD, 0, 10, &s));
    NUL(enrollkit_store_open_in_memory(0, NULL));
    EXPECT(enrollkit_store_open_in_memory(0x80, &s), ENROLLKIT_RESULT_VALIDATION);

    /* Create, reopen, read the schema version. */
    snprintf(path, sizeof path, "%s/api.db", dir);
    OK(enrollkit_store_open(path, ENROLLKIT_OPEN_DURABILITY_FULL, &s));
    int64_t version = -1;
    OK(enrollkit_store_schema_version(s, &version));
    CHECK(version >= 1);
    NUL(enrollkit_store_schema_version(NULL, &version));
    NUL(enrollkit_store_schema_version(s, NULL));
    char *now = NULL;
    OK(enrollkit_store_now(s, &now));
    CHECK(now != NULL && strlen(now) == 24 && now[23] == 'Z');
    enrollkit_string_free(now);
    NUL(enrollkit_store_now(NULL, &now));
    NUL(enrollkit_store_now(s, NULL));
    /* Only manual clocks can be set. */
    EXPECT(enrollkit_store_set_time(s, "2026-01-01T00:00:00Z"), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_store_advance_time(s, 1000), ENROLLKIT_RESULT_VALIDATION);
    enrollkit_store_free(s);
    OK(enrollkit_store_open_with_timeout(path, ENROLLKIT_OPEN_NO_CREATE, 250, &s));
    enrollkit_store_free(s);
    /* Read only: reads work, writes are refused, nothing is created. */
    OK(enrollkit_store_open(path, ENROLLKIT_OPEN_READ_ONLY, &s));
    version = -1;
    OK(enrollkit_store_schema_version(s, &version));
    CHECK(version >= 1);
    EXPECT(enrollkit_user_upsert(s, "{\"id\":\"ro\"}", NULL), ENROLLKIT_RESULT_STORAGE);
    CHECK(strstr(enrollkit_last_error_message(), "read-only") != NULL);
    enrollkit_store_free(s);
    EXPECT(enrollkit_store_open_in_memory(ENROLLKIT_OPEN_READ_ONLY, &s), ENROLLKIT_RESULT_VALIDATION);
    snprintf(bad, sizeof bad, "%s/never.db", dir);
    EXPECT(enrollkit_store_open(bad, ENROLLKIT_OPEN_READ_ONLY, &s), ENROLLKIT_RESULT_STORAGE);
    CHECK(access(bad, F_OK) != 0);

    /* A file that is not a database: refused, left as it was. */
    snprintf(bad, sizeof bad, "%s/garbage.db", dir);
    FILE *f = fopen(bad, "wb");
    for (int i = 0; i < 4096; i++) fputc((i * 7) % 251, f);
    fclose(f);
    EXPECT(enrollkit_store_open(bad, 0, &s), ENROLLKIT_RESULT_CORRUPT);
    f = fopen(bad, "rb");
    fseek(f, 0, SEEK_END);
    CHECK(ftell(f) == 4096);
    fclose(f);

    /* A database from a newer enrollkit: user_version (bytes 60-63 of the header) raised. */
    f = fopen(path, "r+b");
    fseek(f, 60, SEEK_SET);
    unsigned char v[4] = {0, 0, 0, 99};
    fwrite(v, 1, 4, f);
    fclose(f);
    EXPECT(enrollkit_store_open(path, 0, &s), ENROLLKIT_RESULT_SCHEMA_TOO_NEW);
    CHECK(last_details_have("\"found\":99"));
}

static void setup(enrollkit_store *s) {
    OK(enrollkit_user_upsert(s, "{\"id\":\"u1\",\"email\":\"u1@example.com\",\"external_id\":\"X1\","
                                "\"display_name\":\"Una\",\"groups\":[\"Eng\"]}", NULL));
    OK(enrollkit_user_upsert(s, "{\"id\":\"u2\",\"email\":\"u2@example.com\"}", NULL));
    OK(enrollkit_user_upsert(s, "{\"id\":\"m1\",\"display_name\":\"Mentor\"}", NULL));
    OK(enrollkit_program_create(s, "{\"id\":\"crs\",\"kind\":\"course\",\"title\":\"Course\","
                                   "\"state\":\"active\",\"self_enrollment\":true,"
                                   "\"assessment\":{\"passing_score\":50,\"max_attempts\":1}}", NULL));
    OK(enrollkit_program_create(s, "{\"id\":\"draft\",\"kind\":\"course\",\"title\":\"Draft\","
                                   "\"state\":\"draft\"}", NULL));
    OK(enrollkit_program_create(s, "{\"id\":\"trk\",\"kind\":\"track\",\"title\":\"Track\","
                                   "\"state\":\"active\",\"steps\":["
                                   "{\"id\":\"hello\",\"step_type\":\"message\",\"title\":\"Hi\",\"learner_completable\":false},"
                                   "{\"id\":\"survey\",\"step_type\":\"survey\",\"title\":\"Survey\",\"learner_completable\":true},"
                                   "{\"id\":\"task\",\"step_type\":\"task\",\"title\":\"Task\",\"learner_completable\":true}]}", NULL));
    OK(enrollkit_program_create(s, "{\"id\":\"cert\",\"kind\":\"certification\",\"title\":\"Cert\","
                                   "\"state\":\"active\"}", NULL));
}

static void test_users_and_programs(enrollkit_store *s) {
    char *out = SENTINEL;
    OK(enrollkit_user_get(s, "u1", &out));
    CHECK(has(out, "\"display_name\":\"Una\""));
    OK(enrollkit_user_find(s, ENROLLKIT_USER_BY_EMAIL, "U1@EXAMPLE.COM", &out));
    CHECK(has(out, "\"id\":\"u1\""));
    OK(enrollkit_user_find(s, ENROLLKIT_USER_BY_EXTERNAL_ID, "X1", &out));
    CHECK(has(out, "\"id\":\"u1\""));
    OK(enrollkit_user_find(s, ENROLLKIT_USER_BY_ID, "u2", &out));
    CHECK(has(out, "\"email\":\"u2@example.com\""));
    out = SENTINEL;
    EXPECT(enrollkit_user_find(s, 9, "u2", &out), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_user_get(s, "nobody", &out), ENROLLKIT_RESULT_NOT_FOUND);
    CHECK(out == SENTINEL);
    CHECK(last_details_have("\"entity\":\"user\""));
    OK(enrollkit_user_list(s, NULL, 2, &out));
    CHECK(has(out, "\"id\":\"m1\""));
    OK(enrollkit_user_list(s, "u1", 10, &out));
    CHECK(has(out, "[{\"id\":\"u2\""));
    out = SENTINEL;
    EXPECT(enrollkit_user_list(s, NULL, 0, &out), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_user_upsert(s, "{\"id\":\"u3\",\"email\":\"U1@example.com\"}", &out), ENROLLKIT_RESULT_CONFLICT);
    EXPECT(enrollkit_user_upsert(s, "{\"id\":\"\"}", &out), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_user_upsert(s, "{not json", &out), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_user_upsert(s, "{\"id\":\"u9\",\"shoe_size\":44}", &out), ENROLLKIT_RESULT_VALIDATION);
    CHECK(out == SENTINEL);
    OK(enrollkit_user_upsert(s, "{\"id\":\"u3\",\"display_name\":\"Third\"}", &out));
    CHECK(has(out, "\"display_name\":\"Third\""));
    uint64_t written = 99;
    OK(enrollkit_users_upsert(s, "[{\"id\":\"b1\"},{\"id\":\"b2\",\"email\":\"b2@example.com\"}]", &written));
    CHECK(written == 2);
    OK(enrollkit_user_get(s, "b2", &out));
    CHECK(has(out, "\"email\":\"b2@example.com\""));
    OK(enrollkit_users_upsert(s, "[]", NULL));
    written = 99;
    /* b4 takes u1's email: the whole batch is refused and b3 is not written. */
    EXPECT(enrollkit_users_upsert(s, "[{\"id\":\"b3\"},{\"id\":\"b4\",\"email\":\"u1@example.com\"}]", &written),
           ENROLLKIT_RESULT_CONFLICT);
    CHECK(written == 99);
    CHECK(strstr(enrollkit_last_error_message(), "row 1") != NULL);
    EXPECT(enrollkit_user_get(s, "b3", &out), ENROLLKIT_RESULT_NOT_FOUND);
    EXPECT(enrollkit_users_upsert(s, "[{\"id\":\"b5\"},{\"idx\":1}]", &written), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_users_upsert(s, "{\"id\":\"b6\"}", &written), ENROLLKIT_RESULT_VALIDATION);

    OK(enrollkit_program_get(s, "trk", &out));
    CHECK(has(out, "\"steps\":[{\"id\":\"hello\""));
    out = SENTINEL;
    EXPECT(enrollkit_program_get(s, "nope", &out), ENROLLKIT_RESULT_NOT_FOUND);
    EXPECT(enrollkit_program_create(s, "{\"id\":\"crs\",\"kind\":\"course\",\"title\":\"Again\",\"state\":\"active\"}", &out),
           ENROLLKIT_RESULT_CONFLICT);
    EXPECT(enrollkit_program_create(s, "{\"id\":\"x\",\"kind\":\"webinar\",\"title\":\"X\",\"state\":\"active\"}", &out),
           ENROLLKIT_RESULT_VALIDATION);
    CHECK(out == SENTINEL);
    OK(enrollkit_program_update(s, "{\"id\":\"draft\",\"kind\":\"course\",\"title\":\"Still a draft\",\"state\":\"draft\"}", &out));
    CHECK(has(out, "\"title\":\"Still a draft\""));
    EXPECT(enrollkit_program_update(s, "{\"id\":\"draft\",\"kind\":\"track\",\"title\":\"T\",\"state\":\"draft\"}", NULL),
           ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_program_list(s, "course", NULL, NULL, 10, &out));
    CHECK(has(out, "\"id\":\"draft\""));
    OK(enrollkit_program_list(s, NULL, "draft", NULL, 10, &out));
    CHECK(has(out, "[{\"id\":\"draft\""));
    OK(enrollkit_program_list(s, NULL, NULL, "draft", 1, &out));
    CHECK(has(out, "[{\"id\":\"trk\""));
    EXPECT(enrollkit_program_list(s, "webinar", NULL, NULL, 10, &out), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_program_list(s, NULL, "published", NULL, 10, &out), ENROLLKIT_RESULT_VALIDATION);
}

static void test_enrollments(enrollkit_store *s) {
    const char *learner = "learner:u1";
    char *id = SENTINEL, *out = SENTINEL;
    char course_id[64], track_id[64], buf[64];

    EXPECT(enrollkit_enroll(s, "admin", "u1", "draft", &id), ENROLLKIT_RESULT_PROGRAM_NOT_ACTIVE);
    EXPECT(enrollkit_enroll(s, learner, "u2", "crs", &id), ENROLLKIT_RESULT_PERMISSION_DENIED);
    EXPECT(enrollkit_enroll(s, "root", "u1", "crs", &id), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_enroll(s, "admin", "ghost", "crs", &id), ENROLLKIT_RESULT_NOT_FOUND);
    CHECK(id == SENTINEL);
    OK(enrollkit_enroll(s, learner, "u1", "crs", &id));
    CHECK(id != SENTINEL && strncmp(id, "enr_", 4) == 0);
    snprintf(course_id, sizeof course_id, "%s", id);
    enrollkit_string_free(id);
    id = SENTINEL;
    EXPECT(enrollkit_enroll(s, "admin", "u1", "crs", &id), ENROLLKIT_RESULT_ALREADY_ENROLLED);
    CHECK(id == SENTINEL);
    char expect_existing[128];
    snprintf(expect_existing, sizeof expect_existing, "\"existing_id\":\"%s\"", course_id);
    CHECK(last_details_have(expect_existing));
    OK(enrollkit_enroll(s, "admin", "u2", "crs", NULL));

    /* Progress, attempts, transitions on the course. */
    OK(enrollkit_enrollment_get(s, learner, course_id, &out));
    CHECK(has(out, "\"status\":\"active\""));
    out = SENTINEL;
    EXPECT(enrollkit_enrollment_get(s, "learner:u2", course_id, &out), ENROLLKIT_RESULT_PERMISSION_DENIED);
    EXPECT(enrollkit_set_progress(s, learner, course_id, 100.5, &out), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_set_progress(s, learner, course_id, 0.0 / 0.0, &out), ENROLLKIT_RESULT_VALIDATION);
    CHECK(out == SENTINEL);
    OK(enrollkit_set_progress(s, learner, course_id, 40, &out));
    CHECK(has(out, "\"progress_percent\":40.0"));
    OK(enrollkit_attempt_submit(s, learner, course_id, 45, &out));
    CHECK(has(out, "\"attempt\":{\"number\":1,\"score\":45.0,\"passed\":false"));
    EXPECT(enrollkit_attempt_submit(s, learner, course_id, 99, &out), ENROLLKIT_RESULT_ATTEMPT_LIMIT_REACHED);
    CHECK(last_details_have("\"limit\":1"));
    EXPECT(enrollkit_attempt_submit(s, learner, course_id, 101, NULL), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_attempts(s, learner, course_id, &out));
    CHECK(has(out, "[{\"number\":1"));
    OK(enrollkit_transition(s, learner, course_id, ENROLLKIT_COMMAND_DROP, &out));
    CHECK(has(out, "\"status\":\"dropped\""));
    EXPECT(enrollkit_transition(s, learner, course_id, ENROLLKIT_COMMAND_DROP, NULL), ENROLLKIT_RESULT_INVALID_TRANSITION);
    CHECK(last_details_have("\"from\":\"dropped\""));
    CHECK(last_details_have("\"action\":\"drop\""));
    EXPECT(enrollkit_transition(s, learner, course_id, 99, NULL), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_transition(s, learner, course_id, ENROLLKIT_COMMAND_REACTIVATE, NULL));
    OK(enrollkit_add_progress(s, learner, course_id, 30, &out));
    CHECK(has(out, "\"progress_percent\":70.0"));
    EXPECT(enrollkit_add_progress(s, learner, course_id, 100.5, NULL), ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"delta\""));
    EXPECT(enrollkit_add_progress(s, learner, course_id, 0.0 / 0.0, NULL), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_add_progress(s, "learner:u2", course_id, 1, NULL), ENROLLKIT_RESULT_PERMISSION_DENIED);
    OK(enrollkit_add_progress(s, learner, course_id, 35, &out));
    CHECK(has(out, "\"status\":\"completed\"")); /* has() frees out; render below shows 100 */
    EXPECT(enrollkit_add_progress(s, learner, course_id, 1, NULL), ENROLLKIT_RESULT_INVALID_TRANSITION);
    OK(enrollkit_render(s, learner, course_id, ENROLLKIT_VIEW_COURSE, &out));
    CHECK(has(out, "\"progress_percent\":100,"));
    OK(enrollkit_render(s, "admin", course_id, ENROLLKIT_VIEW_CERTIFICATION, &out));
    CHECK(has(out, "\"user_email\":\"u1@example.com\""));
    EXPECT(enrollkit_render(s, "admin", course_id, 7, &out), ENROLLKIT_RESULT_VALIDATION);

    /* Options through JSON; batches. */
    EXPECT(enrollkit_enroll_json(s, "admin", "{\"user_id\":\"u1\",\"program_id\":\"crs\"}", &out),
           ENROLLKIT_RESULT_ALREADY_ENROLLED);
    OK(enrollkit_enroll_json(s, "admin", "{\"user_id\":\"u1\",\"program_id\":\"crs\",\"allow_reenroll\":true}", &out));
    CHECK(has(out, "\"attempt_number\":2"));
    OK(enrollkit_lineage(s, learner, "u1", "crs", &out));
    CHECK(has(out, "\"attempt_number\":2"));
    EXPECT(enrollkit_enroll_json(s, "admin", "{\"user_id\":\"u1\"}", &out), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_enroll_json(s, "system", "{\"email\":\"u1@example.com\",\"program_id\":\"trk\",\"trigger\":\"user_join\","
                                          "\"added_by_program_id\":\"wf_source\"}", &out));
    field(out, "id", track_id, sizeof track_id);
    CHECK(has(out, "\"status\":\"active\""));
    /* Rolled back: the second row, enrolled only by the first, is not applied either. */
    OK(enrollkit_enroll_many(s, "system", "[{\"user_id\":\"u2\",\"program_id\":\"trk\"},"
                                          "{\"user_id\":\"u2\",\"program_id\":\"trk\"},"
                                          "{\"user_id\":\"ghost\",\"program_id\":\"trk\"}]",
                             ENROLLKIT_BATCH_ALL_OR_NOTHING, &out));
    CHECK(has(out, "[{\"outcome\":\"not_applied\"},{\"outcome\":\"not_applied\"},{\"outcome\":\"failed\""));
    OK(enrollkit_enroll_many(s, "system", "[{\"user_id\":\"u2\",\"program_id\":\"trk\",\"batch\":true},"
                                          "{\"user_id\":\"ghost\",\"program_id\":\"trk\"}]",
                             ENROLLKIT_BATCH_BEST_EFFORT, &out));
    CHECK(has(out, "\"status\":\"active_batch\""));
    EXPECT(enrollkit_enroll_many(s, "system", "[]", 5, &out), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_enroll_many(s, "system", "[{\"user_id\":1}]", ENROLLKIT_BATCH_BEST_EFFORT, &out),
           ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("row 0"));

    /* Steps on the track. */
    OK(enrollkit_step_start(s, "system", track_id, "hello", NULL));
    OK(enrollkit_step_deliver(s, "system", track_id, "hello", "user", NULL));
    OK(enrollkit_step_deliver(s, "system", track_id, "survey", NULL, NULL));
    EXPECT(enrollkit_step_deliver(s, "system", track_id, "survey", NULL, NULL), ENROLLKIT_RESULT_INVALID_TRANSITION);
    EXPECT(enrollkit_step_deliver(s, "system", track_id, "nope", NULL, NULL), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_step_complete(s, learner, track_id, "hello", NULL, NULL), ENROLLKIT_RESULT_PERMISSION_DENIED);
    EXPECT(enrollkit_step_complete(s, learner, track_id, "survey", "{\"answers\":", NULL), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_step_complete(s, learner, track_id, "survey", "{\"answers\":[{\"value\":8}]}", &out));
    CHECK(has(out, "\"steps_completed\":1"));
    OK(enrollkit_step_fail(s, "system", track_id, "task", "bounced", "Mailbox full", &out));
    CHECK(has(out, "\"steps_delivered\":2"));
    EXPECT(enrollkit_step_fail(s, "system", track_id, "task", "not valid!", NULL, NULL), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_transition(s, "system", track_id, ENROLLKIT_COMMAND_BEGIN_PROCESSING, NULL));
    OK(enrollkit_transition(s, "admin", track_id, ENROLLKIT_COMMAND_PAUSE, &out));
    CHECK(has(out, "\"resume_status\":\"processing\""));
    OK(enrollkit_transition(s, "admin", track_id, ENROLLKIT_COMMAND_RESUME, NULL));
    OK(enrollkit_transition(s, "system", track_id, ENROLLKIT_COMMAND_END_PROCESSING, NULL));
    OK(enrollkit_assign_mentor(s, "admin", track_id, "m1", &out));
    CHECK(has(out, "\"mentor_id\":\"m1\""));
    EXPECT(enrollkit_assign_mentor(s, "admin", track_id, "nobody", NULL), ENROLLKIT_RESULT_NOT_FOUND);
    OK(enrollkit_assign_mentor(s, "admin", track_id, NULL, &out));
    CHECK(has(out, "\"mentor_id\":null"));
    OK(enrollkit_set_next_step_at(s, "system", track_id, "2026-05-01T09:00:00Z", &out));
    CHECK(has(out, "\"next_step_at\":\"2026-05-01T09:00:00.000Z\""));
    EXPECT(enrollkit_set_next_step_at(s, "system", track_id, "someday", NULL), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_set_next_step_at(s, "system", track_id, NULL, NULL));
    OK(enrollkit_step_skip(s, "system", track_id, "task", &out));
    CHECK(has(out, "\"status\":\"completed\""));
    OK(enrollkit_render(s, "admin", track_id, ENROLLKIT_VIEW_TRACK, &out));
    CHECK(has(out, "\"object\":\"track_enrollee\""));
    OK(enrollkit_report(s, "admin", "trk", &out));
    CHECK(has(out, "{\"program_id\":\"trk\",\"kind\":\"track\",\"total_enrollees\":2,\"active\":1,\"completed\":1,"));
    OK(enrollkit_report(s, "system", "trk", &out));
    CHECK(has(out, "{\"step_id\":\"task\",\"position\":3,\"delivered\":0,\"completed\":0,\"skipped\":1,"));
    EXPECT(enrollkit_report(s, learner, "trk", &out), ENROLLKIT_RESULT_PERMISSION_DENIED);
    EXPECT(enrollkit_report(s, "system", "nope", &out), ENROLLKIT_RESULT_NOT_FOUND);
    OK(enrollkit_step_progress(s, learner, track_id, &out));
    CHECK(has(out, "\"result\":{\"answers\":[{\"value\":8}]}"));
    OK(enrollkit_history(s, learner, track_id, &out));
    CHECK(has(out, "\"action\":\"enrolled\""));
    OK(enrollkit_status_at(s, "admin", track_id, "2000-01-01T00:00:00Z", &out));
    CHECK(out == NULL);
    OK(enrollkit_status_at(s, "admin", track_id, "9999-01-01T00:00:00Z", &out));
    CHECK(out != NULL && strcmp(out, "completed") == 0);
    enrollkit_string_free(out);
    EXPECT(enrollkit_status_at(s, "admin", track_id, "later", &out), ENROLLKIT_RESULT_VALIDATION);

    /* Certification: enrolled, fail with a reason. */
    OK(enrollkit_enroll_json(s, "admin", "{\"user_id\":\"u2\",\"program_id\":\"cert\",\"partnership_id\":\"prt\"}", &out));
    field(out, "id", buf, sizeof buf);
    CHECK(has(out, "\"status\":\"enrolled\""));
    EXPECT(enrollkit_fail(s, "admin", buf, "bored", NULL, NULL), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_fail(s, "admin", buf, "workflow_not_active", "Closed", &out));
    CHECK(has(out, "\"failure_message\":\"Closed\""));
    OK(enrollkit_render(s, "admin", buf, ENROLLKIT_VIEW_CERTIFICATION, &out));
    CHECK(has(out, "\"status\":\"failed\""));

    /* Scheduled start. */
    OK(enrollkit_enroll_json(s, "system", "{\"user_id\":\"m1\",\"program_id\":\"trk\",\"start_at\":\"2999-01-01T00:00:00Z\"}", &out));
    field(out, "id", buf, sizeof buf);
    CHECK(has(out, "\"status\":\"new\""));
    OK(enrollkit_start_due(s, "system", 10, &out));
    CHECK(has(out, "[]"));
    EXPECT(enrollkit_start_due(s, learner, 10, &out), ENROLLKIT_RESULT_PERMISSION_DENIED);
    OK(enrollkit_transition(s, "admin", buf, ENROLLKIT_COMMAND_START, NULL));
    OK(enrollkit_transition(s, "admin", buf, ENROLLKIT_COMMAND_CANCEL, &out));
    CHECK(has(out, "\"status\":\"canceled\""));

    /* Lists, feed, delete. */
    OK(enrollkit_list(s, learner, "{}", &out));
    CHECK(has(out, "\"has_more\":false"));
    OK(enrollkit_list(s, "admin", "{\"program_id\":\"trk\",\"limit\":1}", &out));
    CHECK(has(out, "\"has_more\":true,\"next_cursor\":\"enr_"));
    EXPECT(enrollkit_list(s, "admin", "{\"per_page\":500}", &out), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_list(s, learner, "{\"user_id\":\"u2\"}", &out), ENROLLKIT_RESULT_PERMISSION_DENIED);
    OK(enrollkit_events_after(s, "admin", 0, 2, &out));
    CHECK(has(out, "\"seq\":2"));
    OK(enrollkit_events_after(s, learner, 0, 1000, &out));
    CHECK(has(out, "\"user_id\":\"u1\""));
    EXPECT(enrollkit_enrollment_delete(s, learner, course_id), ENROLLKIT_RESULT_PERMISSION_DENIED);
    OK(enrollkit_enrollment_delete(s, "admin", course_id));
    EXPECT(enrollkit_enrollment_delete(s, "admin", course_id), ENROLLKIT_RESULT_NOT_FOUND);
    EXPECT(enrollkit_attempts(s, "admin", course_id, &out), ENROLLKIT_RESULT_NOT_FOUND);
    OK(enrollkit_history(s, "admin", course_id, &out));
    CHECK(has(out, "\"action\":\"deleted\""));
    OK(enrollkit_check(s, &out));
    CHECK(has(out, "[]"));
    OK(enrollkit_stats(s, &out));
    CHECK(has(out, "\"users\":"));
    NUL(enrollkit_stats(NULL, &out));
    NUL(enrollkit_stats(s, NULL));
}

/* NULL for every pointer argument and invalid UTF-8 for every string argument. */
static void test_null_and_utf8(enrollkit_store *s) {
    char *o = NULL;
    int64_t v = 0;
    const char *A = "admin", *I = "enr_x", *S = "step";
    NUL(enrollkit_store_set_time(NULL, "2026-01-01T00:00:00Z"));
    NUL(enrollkit_store_set_time(s, NULL));
    UTF(enrollkit_store_set_time(s, BAD));
    NUL(enrollkit_store_advance_time(NULL, 1));
    NUL(enrollkit_store_schema_version(NULL, &v));
    NUL(enrollkit_check(NULL, &o));
    NUL(enrollkit_check(s, NULL));
    NUL(enrollkit_user_upsert(NULL, "{}", &o));
    NUL(enrollkit_user_upsert(s, NULL, &o));
    UTF(enrollkit_user_upsert(s, BAD, &o));
    NUL(enrollkit_users_upsert(NULL, "[]", NULL));
    NUL(enrollkit_users_upsert(s, NULL, NULL));
    UTF(enrollkit_users_upsert(s, BAD, NULL));
    NUL(enrollkit_user_get(NULL, "u", &o));
    NUL(enrollkit_user_get(s, NULL, &o));
    NUL(enrollkit_user_get(s, "u", NULL));
    UTF(enrollkit_user_get(s, BAD, &o));
    NUL(enrollkit_user_find(NULL, 0, "u", &o));
    NUL(enrollkit_user_find(s, 0, NULL, &o));
    NUL(enrollkit_user_find(s, 0, "u", NULL));
    UTF(enrollkit_user_find(s, 0, BAD, &o));
    NUL(enrollkit_user_list(NULL, NULL, 1, &o));
    NUL(enrollkit_user_list(s, NULL, 1, NULL));
    UTF(enrollkit_user_list(s, BAD, 1, &o));
    NUL(enrollkit_program_create(NULL, "{}", &o));
    NUL(enrollkit_program_create(s, NULL, &o));
    UTF(enrollkit_program_create(s, BAD, &o));
    NUL(enrollkit_program_update(NULL, "{}", &o));
    NUL(enrollkit_program_update(s, NULL, &o));
    UTF(enrollkit_program_update(s, BAD, &o));
    NUL(enrollkit_program_get(NULL, "p", &o));
    NUL(enrollkit_program_get(s, NULL, &o));
    NUL(enrollkit_program_get(s, "p", NULL));
    UTF(enrollkit_program_get(s, BAD, &o));
    NUL(enrollkit_program_list(NULL, NULL, NULL, NULL, 1, &o));
    NUL(enrollkit_program_list(s, NULL, NULL, NULL, 1, NULL));
    UTF(enrollkit_program_list(s, BAD, NULL, NULL, 1, &o));
    UTF(enrollkit_program_list(s, NULL, BAD, NULL, 1, &o));
    UTF(enrollkit_program_list(s, NULL, NULL, BAD, 1, &o));
    NUL(enrollkit_enroll(NULL, A, "u", "p", &o));
    NUL(enrollkit_enroll(s, NULL, "u", "p", &o));
    NUL(enrollkit_enroll(s, A, NULL, "p", &o));
    NUL(enrollkit_enroll(s, A, "u", NULL, &o));
    UTF(enrollkit_enroll(s, BAD, "u", "p", &o));
    UTF(enrollkit_enroll(s, A, BAD, "p", &o));
    UTF(enrollkit_enroll(s, A, "u", BAD, &o));
    NUL(enrollkit_enroll_json(NULL, A, "{}", &o));
    NUL(enrollkit_enroll_json(s, NULL, "{}", &o));
    NUL(enrollkit_enroll_json(s, A, NULL, &o));
    UTF(enrollkit_enroll_json(s, BAD, "{}", &o));
    UTF(enrollkit_enroll_json(s, A, BAD, &o));
    NUL(enrollkit_enroll_many(NULL, A, "[]", 0, &o));
    NUL(enrollkit_enroll_many(s, NULL, "[]", 0, &o));
    NUL(enrollkit_enroll_many(s, A, NULL, 0, &o));
    UTF(enrollkit_enroll_many(s, BAD, "[]", 0, &o));
    UTF(enrollkit_enroll_many(s, A, BAD, 0, &o));
    NUL(enrollkit_enrollment_get(NULL, A, I, &o));
    NUL(enrollkit_enrollment_get(s, NULL, I, &o));
    NUL(enrollkit_enrollment_get(s, A, NULL, &o));
    NUL(enrollkit_enrollment_get(s, A, I, NULL));
    UTF(enrollkit_enrollment_get(s, BAD, I, &o));
    UTF(enrollkit_enrollment_get(s, A, BAD, &o));
    NUL(enrollkit_set_progress(NULL, A, I, 1, &o));
    NUL(enrollkit_set_progress(s, NULL, I, 1, &o));
    NUL(enrollkit_set_progress(s, A, NULL, 1, &o));
    UTF(enrollkit_set_progress(s, BAD, I, 1, &o));
    UTF(enrollkit_set_progress(s, A, BAD, 1, &o));
    NUL(enrollkit_add_progress(NULL, A, I, 1, &o));
    NUL(enrollkit_add_progress(s, NULL, I, 1, &o));
    NUL(enrollkit_add_progress(s, A, NULL, 1, &o));
    UTF(enrollkit_add_progress(s, BAD, I, 1, &o));
    UTF(enrollkit_add_progress(s, A, BAD, 1, &o));
    NUL(enrollkit_transition(NULL, A, I, 0, &o));
    NUL(enrollkit_transition(s, NULL, I, 0, &o));
    NUL(enrollkit_transition(s, A, NULL, 0, &o));
    UTF(enrollkit_transition(s, BAD, I, 0, &o));
    UTF(enrollkit_transition(s, A, BAD, 0, &o));
    NUL(enrollkit_fail(NULL, A, I, "unknown_error", NULL, &o));
    NUL(enrollkit_fail(s, NULL, I, "unknown_error", NULL, &o));
    NUL(enrollkit_fail(s, A, NULL, "unknown_error", NULL, &o));
    NUL(enrollkit_fail(s, A, I, NULL, NULL, &o));
    UTF(enrollkit_fail(s, BAD, I, "unknown_error", NULL, &o));
    UTF(enrollkit_fail(s, A, BAD, "unknown_error", NULL, &o));
    UTF(enrollkit_fail(s, A, I, BAD, NULL, &o));
    UTF(enrollkit_fail(s, A, I, "unknown_error", BAD, &o));
    NUL(enrollkit_step_start(NULL, A, I, S, &o));
    NUL(enrollkit_step_start(s, NULL, I, S, &o));
    NUL(enrollkit_step_start(s, A, NULL, S, &o));
    NUL(enrollkit_step_start(s, A, I, NULL, &o));
    UTF(enrollkit_step_start(s, BAD, I, S, &o));
    UTF(enrollkit_step_start(s, A, BAD, S, &o));
    UTF(enrollkit_step_start(s, A, I, BAD, &o));
    NUL(enrollkit_step_deliver(NULL, A, I, S, NULL, &o));
    NUL(enrollkit_step_deliver(s, NULL, I, S, NULL, &o));
    NUL(enrollkit_step_deliver(s, A, NULL, S, NULL, &o));
    NUL(enrollkit_step_deliver(s, A, I, NULL, NULL, &o));
    UTF(enrollkit_step_deliver(s, BAD, I, S, NULL, &o));
    UTF(enrollkit_step_deliver(s, A, BAD, S, NULL, &o));
    UTF(enrollkit_step_deliver(s, A, I, BAD, NULL, &o));
    UTF(enrollkit_step_deliver(s, A, I, S, BAD, &o));
    NUL(enrollkit_step_complete(NULL, A, I, S, NULL, &o));
    NUL(enrollkit_step_complete(s, NULL, I, S, NULL, &o));
    NUL(enrollkit_step_complete(s, A, NULL, S, NULL, &o));
    NUL(enrollkit_step_complete(s, A, I, NULL, NULL, &o));
    UTF(enrollkit_step_complete(s, BAD, I, S, NULL, &o));
    UTF(enrollkit_step_complete(s, A, BAD, S, NULL, &o));
    UTF(enrollkit_step_complete(s, A, I, BAD, NULL, &o));
    UTF(enrollkit_step_complete(s, A, I, S, BAD, &o));
    NUL(enrollkit_step_fail(NULL, A, I, S, "r", NULL, &o));
    NUL(enrollkit_step_fail(s, NULL, I, S, "r", NULL, &o));
    NUL(enrollkit_step_fail(s, A, NULL, S, "r", NULL, &o));
    NUL(enrollkit_step_fail(s, A, I, NULL, "r", NULL, &o));
    NUL(enrollkit_step_fail(s, A, I, S, NULL, NULL, &o));
    UTF(enrollkit_step_fail(s, BAD, I, S, "r", NULL, &o));
    UTF(enrollkit_step_fail(s, A, BAD, S, "r", NULL, &o));
    UTF(enrollkit_step_fail(s, A, I, BAD, "r", NULL, &o));
    UTF(enrollkit_step_fail(s, A, I, S, BAD, NULL, &o));
    UTF(enrollkit_step_fail(s, A, I, S, "r", BAD, &o));
    NUL(enrollkit_step_skip(NULL, A, I, S, &o));
    NUL(enrollkit_step_skip(s, NULL, I, S, &o));
    NUL(enrollkit_step_skip(s, A, NULL, S, &o));
    NUL(enrollkit_step_skip(s, A, I, NULL, &o));
    UTF(enrollkit_step_skip(s, BAD, I, S, &o));
    UTF(enrollkit_step_skip(s, A, BAD, S, &o));
    UTF(enrollkit_step_skip(s, A, I, BAD, &o));
    NUL(enrollkit_attempt_submit(NULL, A, I, 1, &o));
    NUL(enrollkit_attempt_submit(s, NULL, I, 1, &o));
    NUL(enrollkit_attempt_submit(s, A, NULL, 1, &o));
    UTF(enrollkit_attempt_submit(s, BAD, I, 1, &o));
    UTF(enrollkit_attempt_submit(s, A, BAD, 1, &o));
    NUL(enrollkit_assign_mentor(NULL, A, I, NULL, &o));
    NUL(enrollkit_assign_mentor(s, NULL, I, NULL, &o));
    NUL(enrollkit_assign_mentor(s, A, NULL, NULL, &o));
    UTF(enrollkit_assign_mentor(s, BAD, I, NULL, &o));
    UTF(enrollkit_assign_mentor(s, A, BAD, NULL, &o));
    UTF(enrollkit_assign_mentor(s, A, I, BAD, &o));
    NUL(enrollkit_set_next_step_at(NULL, A, I, NULL, &o));
    NUL(enrollkit_set_next_step_at(s, NULL, I, NULL, &o));
    NUL(enrollkit_set_next_step_at(s, A, NULL, NULL, &o));
    UTF(enrollkit_set_next_step_at(s, BAD, I, NULL, &o));
    UTF(enrollkit_set_next_step_at(s, A, BAD, NULL, &o));
    UTF(enrollkit_set_next_step_at(s, A, I, BAD, &o));
    NUL(enrollkit_start_due(NULL, A, 1, &o));
    NUL(enrollkit_start_due(s, NULL, 1, &o));
    UTF(enrollkit_start_due(s, BAD, 1, &o));
    NUL(enrollkit_enrollment_delete(NULL, A, I));
    NUL(enrollkit_enrollment_delete(s, NULL, I));
    NUL(enrollkit_enrollment_delete(s, A, NULL));
    UTF(enrollkit_enrollment_delete(s, BAD, I));
    UTF(enrollkit_enrollment_delete(s, A, BAD));
    NUL(enrollkit_step_progress(NULL, A, I, &o));
    NUL(enrollkit_step_progress(s, NULL, I, &o));
    NUL(enrollkit_step_progress(s, A, NULL, &o));
    NUL(enrollkit_step_progress(s, A, I, NULL));
    UTF(enrollkit_step_progress(s, BAD, I, &o));
    UTF(enrollkit_step_progress(s, A, BAD, &o));
    NUL(enrollkit_attempts(NULL, A, I, &o));
    NUL(enrollkit_attempts(s, NULL, I, &o));
    NUL(enrollkit_attempts(s, A, NULL, &o));
    NUL(enrollkit_attempts(s, A, I, NULL));
    UTF(enrollkit_attempts(s, BAD, I, &o));
    UTF(enrollkit_attempts(s, A, BAD, &o));
    NUL(enrollkit_history(NULL, A, I, &o));
    NUL(enrollkit_history(s, NULL, I, &o));
    NUL(enrollkit_history(s, A, NULL, &o));
    NUL(enrollkit_history(s, A, I, NULL));
    UTF(enrollkit_history(s, BAD, I, &o));
    UTF(enrollkit_history(s, A, BAD, &o));
    NUL(enrollkit_status_at(NULL, A, I, "2026-01-01T00:00:00Z", &o));
    NUL(enrollkit_status_at(s, NULL, I, "2026-01-01T00:00:00Z", &o));
    NUL(enrollkit_status_at(s, A, NULL, "2026-01-01T00:00:00Z", &o));
    NUL(enrollkit_status_at(s, A, I, NULL, &o));
    NUL(enrollkit_status_at(s, A, I, "2026-01-01T00:00:00Z", NULL));
    UTF(enrollkit_status_at(s, BAD, I, "2026-01-01T00:00:00Z", &o));
    UTF(enrollkit_status_at(s, A, BAD, "2026-01-01T00:00:00Z", &o));
    UTF(enrollkit_status_at(s, A, I, BAD, &o));
    NUL(enrollkit_events_after(NULL, A, 0, 1, &o));
    NUL(enrollkit_events_after(s, NULL, 0, 1, &o));
    NUL(enrollkit_events_after(s, A, 0, 1, NULL));
    UTF(enrollkit_events_after(s, BAD, 0, 1, &o));
    NUL(enrollkit_lineage(NULL, A, "u", "p", &o));
    NUL(enrollkit_lineage(s, NULL, "u", "p", &o));
    NUL(enrollkit_lineage(s, A, NULL, "p", &o));
    NUL(enrollkit_lineage(s, A, "u", NULL, &o));
    NUL(enrollkit_lineage(s, A, "u", "p", NULL));
    UTF(enrollkit_lineage(s, BAD, "u", "p", &o));
    UTF(enrollkit_lineage(s, A, BAD, "p", &o));
    UTF(enrollkit_lineage(s, A, "u", BAD, &o));
    NUL(enrollkit_list(NULL, A, "{}", &o));
    NUL(enrollkit_list(s, NULL, "{}", &o));
    NUL(enrollkit_list(s, A, NULL, &o));
    NUL(enrollkit_list(s, A, "{}", NULL));
    UTF(enrollkit_list(s, BAD, "{}", &o));
    UTF(enrollkit_list(s, A, BAD, &o));
    NUL(enrollkit_report(NULL, A, "p", &o));
    NUL(enrollkit_report(s, NULL, "p", &o));
    NUL(enrollkit_report(s, A, NULL, &o));
    NUL(enrollkit_report(s, A, "p", NULL));
    UTF(enrollkit_report(s, BAD, "p", &o));
    UTF(enrollkit_report(s, A, BAD, &o));
    NUL(enrollkit_render(NULL, A, I, 0, &o));
    NUL(enrollkit_render(s, NULL, I, 0, &o));
    NUL(enrollkit_render(s, A, NULL, 0, &o));
    NUL(enrollkit_render(s, A, I, 0, NULL));
    UTF(enrollkit_render(s, BAD, I, 0, &o));
    UTF(enrollkit_render(s, A, BAD, 0, &o));
    CHECK(o == NULL); /* nothing was ever written */
    CHECK(last_details_have("\"code\":\"invalid_utf8\""));
    /* Oversized and hostile strings are refused or stored exactly. */
    char big[70000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    EXPECT(enrollkit_user_get(s, big, &o), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_enroll(s, A, big, "crs", &o), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_user_upsert(s, "{\"id\":\"x'); DROP TABLE users;--\"}", NULL));
    OK(enrollkit_user_get(s, "x'); DROP TABLE users;--", &o));
    CHECK(has(o, "DROP TABLE"));
}

/* Export, import into an empty store, export again: same bytes. CSV and backup. */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = 0;
    fclose(f);
    return buf;
}

static void test_files(enrollkit_store *s, const char *dir) {
    char first[512], second[512], csv[512], bad[512], dest[512];
    char *out = NULL;
    uint64_t rows = 0;
    snprintf(first, sizeof first, "%s/first.jsonl", dir);
    snprintf(second, sizeof second, "%s/second.jsonl", dir);
    snprintf(csv, sizeof csv, "%s/enrollments.csv", dir);
    snprintf(bad, sizeof bad, "%s/bad.jsonl", dir);
    snprintf(dest, sizeof dest, "%s/backup.db", dir);
    OK(enrollkit_export(s, first, &out));
    CHECK(has(out, "\"users\":"));
    enrollkit_store *copy = NULL;
    OK(enrollkit_store_open_in_memory(0, &copy));
    OK(enrollkit_import(copy, first, ENROLLKIT_BATCH_ALL_OR_NOTHING, &out));
    CHECK(has(out, "\"committed\":true"));
    OK(enrollkit_export(copy, second, NULL));
    char *a = slurp(first), *b = slurp(second);
    CHECK(a && b && strcmp(a, b) == 0);
    free(a);
    free(b);
    FILE *f = fopen(bad, "w");
    fputs("{\"type\":\"header\",\"format\":\"enrollkit-export\",\"version\":1,\"schema_version\":1}\nnot json\n", f);
    fclose(f);
    OK(enrollkit_import(copy, bad, ENROLLKIT_BATCH_ALL_OR_NOTHING, &out));
    CHECK(has(out, "\"line\":2"));
    EXPECT(enrollkit_import(copy, bad, 9, NULL), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_import(copy, "/nonexistent/x.jsonl", 0, NULL), ENROLLKIT_RESULT_STORAGE);

    /* Into an empty file (written through a rollback journal): the same export, and the file is
     * back in WAL mode afterwards (the next write creates the -wal file). */
    char loaded[512], loaded_wal[600];
    snprintf(loaded, sizeof loaded, "%s/loaded.db", dir);
    snprintf(loaded_wal, sizeof loaded_wal, "%s-wal", loaded);
    enrollkit_store *file_copy = NULL;
    OK(enrollkit_store_open(loaded, 0, &file_copy));
    OK(enrollkit_import(file_copy, first, ENROLLKIT_BATCH_ALL_OR_NOTHING, &out));
    CHECK(has(out, "\"committed\":true"));
    OK(enrollkit_export(file_copy, second, NULL));
    a = slurp(first), b = slurp(second);
    CHECK(a && b && strcmp(a, b) == 0);
    free(a);
    free(b);
    OK(enrollkit_user_upsert(file_copy, "{\"id\":\"after_import\"}", NULL));
    CHECK(access(loaded_wal, F_OK) == 0);
    /* Past 1,000 WAL pages (40,000 users with 100-character names in one write, about 1,600
     * pages): the handle's own thread is asked to checkpoint. Freeing the handle stops the
     * thread first, so the writer closes last and removes the WAL. */
    char name[101];
    memset(name, 'n', 100);
    name[100] = 0;
    size_t cap = 40000 * 200 + 16, len = 0;
    char *users = malloc(cap);
    CHECK(users != NULL);
    len += (size_t)snprintf(users + len, cap - len, "[");
    for (int i = 0; i < 40000; i++)
        len += (size_t)snprintf(users + len, cap - len,
                                "%s{\"id\":\"bulk%d\",\"email\":\"bulk%d@bulk.example\","
                                "\"display_name\":\"%s\"}",
                                i ? "," : "", i, i, name);
    snprintf(users + len, cap - len, "]");
    uint64_t upserted = 0;
    OK(enrollkit_users_upsert(file_copy, users, &upserted));
    CHECK(upserted == 40000);
    free(users);
    struct stat wal;
    CHECK(stat(loaded_wal, &wal) == 0 && wal.st_size > 1000 * 4120);
    enrollkit_store_free(file_copy);
    CHECK(access(loaded_wal, F_OK) != 0);
    OK(enrollkit_store_open(loaded, 0, &file_copy));
    out = NULL;
    OK(enrollkit_user_get(file_copy, "bulk39999", &out));
    CHECK(has(out, "bulk39999@bulk.example"));
    enrollkit_store_free(file_copy);
    EXPECT(enrollkit_export(copy, "/nonexistent/dir/x.jsonl", NULL), ENROLLKIT_RESULT_STORAGE);
    enrollkit_store_free(copy);
    /* A CSV roster: one row enrolled, one refused (line 3), all or nothing, then best effort. */
    char roster[512];
    snprintf(roster, sizeof roster, "%s/roster.csv", dir);
    f = fopen(roster, "wb");
    fputs("email,program_id,trigger\r\nu1@example.com,cert,schedule\r\nnobody@example.com,cert,\r\n", f);
    fclose(f);
    OK(enrollkit_store_open_in_memory(0, &copy));
    OK(enrollkit_user_upsert(copy, "{\"id\":\"u1\",\"email\":\"u1@example.com\"}", NULL));
    OK(enrollkit_program_create(copy, "{\"id\":\"cert\",\"kind\":\"certification\",\"title\":\"C\","
                                      "\"state\":\"active\"}", NULL));
    OK(enrollkit_enroll_csv(copy, "admin", roster, ENROLLKIT_BATCH_ALL_OR_NOTHING, &out));
    CHECK(has(out, "\"line\":3,\"error\":{\"code\":\"not_found\""));
    OK(enrollkit_enroll_csv(copy, "admin", roster, ENROLLKIT_BATCH_ALL_OR_NOTHING, &out));
    CHECK(has(out, "\"enrollments\":0,\"events\":0},\"errors\""));
    OK(enrollkit_enroll_csv(copy, "admin", roster, ENROLLKIT_BATCH_BEST_EFFORT, &out));
    CHECK(has(out, "\"enrollments\":1,"));
    OK(enrollkit_enroll_csv(copy, "admin", roster, ENROLLKIT_BATCH_BEST_EFFORT, NULL));
    EXPECT(enrollkit_enroll_csv(copy, "admin", bad, 0, NULL), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_enroll_csv(copy, "admin", roster, 9, NULL), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_enroll_csv(copy, "root", roster, 0, NULL), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_enroll_csv(copy, "admin", "/nonexistent/r.csv", 0, NULL), ENROLLKIT_RESULT_STORAGE);
    NUL(enrollkit_enroll_csv(NULL, "admin", roster, 0, NULL));
    NUL(enrollkit_enroll_csv(copy, NULL, roster, 0, NULL));
    NUL(enrollkit_enroll_csv(copy, "admin", NULL, 0, NULL));
    UTF(enrollkit_enroll_csv(copy, BAD, roster, 0, NULL));
    UTF(enrollkit_enroll_csv(copy, "admin", BAD, 0, NULL));
    enrollkit_store_free(copy);
    OK(enrollkit_export_csv(s, csv, "trk", &rows));
    CHECK(rows >= 1);
    OK(enrollkit_export_csv(s, csv, NULL, NULL));
    OK(enrollkit_backup(s, dest));
    EXPECT(enrollkit_backup(s, dest), ENROLLKIT_RESULT_CONFLICT);
    NUL(enrollkit_export(NULL, first, NULL));
    NUL(enrollkit_export(s, NULL, NULL));
    UTF(enrollkit_export(s, BAD, NULL));
    NUL(enrollkit_import(NULL, first, 0, NULL));
    NUL(enrollkit_import(s, NULL, 0, NULL));
    UTF(enrollkit_import(s, BAD, 0, NULL));
    NUL(enrollkit_export_csv(NULL, csv, NULL, NULL));
    NUL(enrollkit_export_csv(s, NULL, NULL, NULL));
    UTF(enrollkit_export_csv(s, BAD, NULL, NULL));
    UTF(enrollkit_export_csv(s, csv, BAD, NULL));
    NUL(enrollkit_backup(NULL, dest));
    NUL(enrollkit_backup(s, NULL));
    UTF(enrollkit_backup(s, BAD));
}

static void test_manual_clock(void) {
    enrollkit_store *s = NULL;
    char *o = NULL;
    OK(enrollkit_store_open_in_memory(ENROLLKIT_OPEN_MANUAL_CLOCK, &s));
    OK(enrollkit_store_set_time(s, "2026-01-15T10:30:00+02:00"));
    OK(enrollkit_store_advance_time(s, 1500));
    OK(enrollkit_store_now(s, &o));
    CHECK(o && strcmp(o, "2026-01-15T08:30:01.500Z") == 0);
    enrollkit_string_free(o);
    EXPECT(enrollkit_store_set_time(s, "noon"), ENROLLKIT_RESULT_VALIDATION);
    enrollkit_store_free(s);
}

/* Another process holds the write lock longer than our timeout: BUSY, then fine. */
static void test_busy(const char *dir) {
    char path[512], cmd[1024], line[64];
    snprintf(path, sizeof path, "%s/busy.db", dir);
    enrollkit_store *s = NULL;
    OK(enrollkit_store_open_with_timeout(path, 0, 100, &s));
    setup(s);
    snprintf(cmd, sizeof cmd,
             "python3 -c \"import sqlite3,sys,time; c=sqlite3.connect('%s', isolation_level=None); "
             "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(1.5); c.execute('ROLLBACK')\"",
             path);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    if (p && fgets(line, sizeof line, p) && strncmp(line, "locked", 6) == 0) {
        char *id = SENTINEL;
        EXPECT(enrollkit_enroll(s, "admin", "u1", "crs", &id), ENROLLKIT_RESULT_BUSY);
        CHECK(id == SENTINEL);
        char *o = NULL;
        OK(enrollkit_program_get(s, "crs", &o)); /* readers are not blocked */
        enrollkit_string_free(o);
    } else {
        CHECK(!"the lock holder did not start");
    }
    if (p) pclose(p);
    OK(enrollkit_enroll(s, "admin", "u1", "crs", NULL));
    enrollkit_store_free(s);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    test_library();
    test_opening(dir);
    enrollkit_store *s = NULL;
    OK(enrollkit_store_open_in_memory(0, &s));
    setup(s);
    test_users_and_programs(s);
    test_enrollments(s);
    test_null_and_utf8(s);
    test_files(s, dir);
    enrollkit_store_free(s);
    test_manual_clock();
    test_busy(dir);
    printf("test_api: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
