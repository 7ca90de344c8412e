/*
 * Exercises every function of include/enrollkit.h: results, every error code, NULL for every
 * pointer argument, invalid UTF-8, outputs untouched on failure, and ownership (every string
 * freed; run under ASan/UBSan and Valgrind by scripts/test-c).
 *
 * Usage: test_api SCRATCH_DIR
 */
#define _POSIX_C_SOURCE 200809L
#include "enrollkit.h"

#include <stdbool.h>
#include <stdint.h>
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
        ENROLLKIT_RESULT_STORAGE, ENROLLKIT_RESULT_ENROLLMENT_CLOSED,
        ENROLLKIT_RESULT_PREREQUISITES_NOT_MET, ENROLLKIT_RESULT_PROGRAM_FULL};
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

    /* New files are the owner's alone (0600) whatever the umask; with
     * ENROLLKIT_OPEN_UMASK_MODE they get SQLite's 0644 less the umask, as other files do. A file
     * that exists keeps its mode. */
    {
        char private_db[512], shared_db[512];
        struct stat st;
        mode_t before = umask(022);
        snprintf(private_db, sizeof private_db, "%s/private.db", dir);
        snprintf(shared_db, sizeof shared_db, "%s/shared.db", dir);
        OK(enrollkit_store_open(private_db, 0, &s));
        enrollkit_store_free(s);
        CHECK(stat(private_db, &st) == 0 && (st.st_mode & 0777) == 0600);
        OK(enrollkit_store_open(shared_db, ENROLLKIT_OPEN_UMASK_MODE, &s));
        OK(enrollkit_user_upsert(s, "{\"id\":\"umask\"}", NULL));
        enrollkit_store_free(s);
        CHECK(stat(shared_db, &st) == 0 && (st.st_mode & 0777) == 0644);
        OK(enrollkit_store_open(private_db, ENROLLKIT_OPEN_UMASK_MODE | ENROLLKIT_OPEN_NO_CREATE, &s));
        enrollkit_store_free(s);
        CHECK(stat(private_db, &st) == 0 && (st.st_mode & 0777) == 0600);
        umask(077);
        snprintf(shared_db, sizeof shared_db, "%s/shared077.db", dir);
        OK(enrollkit_store_open(shared_db, ENROLLKIT_OPEN_UMASK_MODE, &s));
        enrollkit_store_free(s);
        CHECK(stat(shared_db, &st) == 0 && (st.st_mode & 0777) == 0600);
        umask(before);
        OK(enrollkit_store_open_in_memory(ENROLLKIT_OPEN_UMASK_MODE, &s)); /* nothing to create */
        enrollkit_store_free(s);
    }

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

/* How many times `needle` occurs in `json`. */
static int count_of(const char *json, const char *needle) {
    int n = 0;
    for (const char *p = json; p && (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

/* The due-work queue and work anniversaries through the JSON functions (the store's real
 * clock: a step without a schedule in a scheduled track is due when the enrollment starts). */
static void test_queue(enrollkit_store *s) {
    char *out = SENTINEL;
    char a[64], b[64], expect[128];
    OK(enrollkit_program_create(s, "{\"id\":\"q\",\"kind\":\"track\",\"title\":\"Queue\",\"state\":\"active\",\"steps\":["
                                   "{\"id\":\"one\",\"step_type\":\"message\",\"title\":\"One\",\"learner_completable\":false},"
                                   "{\"id\":\"two\",\"step_type\":\"message\",\"title\":\"Two\",\"learner_completable\":false,"
                                   "\"schedule\":{\"after\":\"previous_step\",\"delay\":0,\"unit\":\"minutes\"}}]}", NULL));
    OK(enrollkit_enroll_json(s, "system", "{\"user_id\":\"u1\",\"program_id\":\"q\"}", &out));
    field(out, "id", a, sizeof a);
    CHECK(has(out, "\"next_step_at\":\"20"));
    OK(enrollkit_enroll_json(s, "system", "{\"user_id\":\"u2\",\"program_id\":\"q\",\"batch\":true}", &out));
    field(out, "id", b, sizeof b);
    enrollkit_string_free(out);

    /* w1 claims both, oldest due first; nothing is left for w2. */
    OK(enrollkit_claim_due(s, "w1", NULL, 10, 60000, &out));
    snprintf(expect, sizeof expect, "[{\"enrollment\":{\"id\":\"%s\"", a);
    CHECK(out != NULL && strncmp(out, expect, strlen(expect)) == 0);
    CHECK(count_of(out, "\"step_id\":\"one\"") == 2 && count_of(out, "\"claimed_by\":\"w1\"") == 2);
    CHECK(has(out, "\"status\":\"processing_batch\""));
    OK(enrollkit_claim_due(s, "w2", NULL, 10, 60000, &out));
    CHECK(has(out, "[]"));

    /* Only the holder ends a claim; a refused call writes nothing. */
    out = SENTINEL;
    EXPECT(enrollkit_claim_deliver(s, "w2", a, NULL, &out), ENROLLKIT_RESULT_CONFLICT);
    CHECK(out == SENTINEL);
    CHECK(last_details_have("\"code\":\"conflict\""));
    OK(enrollkit_claim_deliver(s, "w1", a, "user", &out));
    CHECK(count_of(out, "\"status\":\"active\"") == 1 && count_of(out, "\"claimed_by\":null") == 1);
    CHECK(has(out, "\"steps_delivered\":1"));
    /* Step two runs 0 minutes after step one: due at once, claimed again. */
    OK(enrollkit_claim_due(s, "w1", NULL, 1, 60000, &out));
    CHECK(has(out, "\"step_id\":\"two\""));
    EXPECT(enrollkit_claim_complete(s, "w1", a, "{\"answers\":", NULL), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_claim_complete(s, "w1", a, "{\"ok\":true}", &out));
    CHECK(has(out, "\"steps_completed\":1"));
    OK(enrollkit_step_progress(s, "admin", a, &out));
    CHECK(has(out, "\"result\":{\"ok\":true}"));
    OK(enrollkit_history(s, "admin", a, &out));
    CHECK(has(out, "\"action\":\"claim\""));

    /* A batch ended at once: b's claim (w1 holds it) and an unknown id, each on its own. */
    {
        char ids[256];
        snprintf(ids, sizeof ids, "[\"%s\",\"enr_nope\"]", b);
        OK(enrollkit_claims_deliver(s, "w2", ids, NULL, &out));
        CHECK(count_of(out, "\"outcome\":\"failed\"") == 2 && has(out, "\"code\":\"conflict\""));
        EXPECT(enrollkit_claims_deliver(s, "w1", "[1,2]", NULL, NULL), ENROLLKIT_RESULT_VALIDATION);
        EXPECT(enrollkit_claims_deliver(s, "w1", "not json", NULL, NULL), ENROLLKIT_RESULT_VALIDATION);
        OK(enrollkit_claims_deliver(s, "w1", "[]", NULL, &out));
        CHECK(has(out, "[]"));
    }

    /* b: released (still due), then failed, then skipped. */
    OK(enrollkit_claim_release(s, "w1", b, &out));
    CHECK(count_of(out, "\"status\":\"active_batch\"") == 1);
    CHECK(has(out, "\"lease_until\":null"));
    EXPECT(enrollkit_claim_release(s, "w1", b, NULL), ENROLLKIT_RESULT_CONFLICT);
    OK(enrollkit_claim_due(s, "w1", NULL, 10, 60000, NULL));
    EXPECT(enrollkit_claim_fail(s, "w1", b, "not valid!", NULL, NULL), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_claim_fail(s, "w1", b, "bounced", "Mailbox full", &out));
    CHECK(has(out, "\"status\":\"active_batch\""));
    OK(enrollkit_claim_due(s, "w1", NULL, 10, 60000, NULL));
    OK(enrollkit_claim_skip(s, "w1", b, &out));
    CHECK(has(out, "\"steps_skipped\":1"));
    EXPECT(enrollkit_claim_skip(s, "w1", b, NULL), ENROLLKIT_RESULT_CONFLICT);

    /* Arguments the core refuses. */
    out = SENTINEL;
    EXPECT(enrollkit_claim_due(s, "w1", NULL, 0, 60000, &out), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_claim_due(s, "w1", NULL, 10, 0, &out), ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"lease\""));
    EXPECT(enrollkit_claim_due(s, "w1", NULL, 10, ENROLLKIT_MAX_LEASE_MS + 1, &out), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_claim_due(s, "", NULL, 10, 60000, &out), ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"worker_id\""));
    EXPECT(enrollkit_claim_release(s, "w1", "enr_nope", &out), ENROLLKIT_RESULT_NOT_FOUND);
    CHECK(out == SENTINEL);

    /* The queue read without claiming (admin or system), soonest first, claimed or not. */
    char c[64], d[64], lease_before[64], lease_after[64];
    OK(enrollkit_program_create(s, "{\"id\":\"q2\",\"kind\":\"track\",\"title\":\"Queue 2\",\"state\":\"active\",\"steps\":["
                                   "{\"id\":\"one\",\"step_type\":\"message\",\"title\":\"One\",\"learner_completable\":false},"
                                   "{\"id\":\"two\",\"step_type\":\"message\",\"title\":\"Two\",\"learner_completable\":false,"
                                   "\"schedule\":{\"after\":\"previous_step\",\"delay\":1,\"unit\":\"days\"}}]}", NULL));
    OK(enrollkit_enroll_json(s, "system", "{\"user_id\":\"u1\",\"program_id\":\"q2\"}", &out));
    field(out, "id", c, sizeof c);
    enrollkit_string_free(out);
    OK(enrollkit_enroll_json(s, "system", "{\"user_id\":\"u2\",\"program_id\":\"q2\"}", &out));
    field(out, "id", d, sizeof d);
    enrollkit_string_free(out);
    OK(enrollkit_due(s, "admin", "q2", NULL, 10, &out));
    snprintf(expect, sizeof expect, "[{\"enrollment\":{\"id\":\"%s\"", c);
    CHECK(out != NULL && strncmp(out, expect, strlen(expect)) == 0);
    CHECK(count_of(out, "\"step_id\":\"one\"") == 2 && count_of(out, "\"claimed_by\":null") == 2);
    CHECK(has(out, d));
    OK(enrollkit_due(s, "system", "q2", NULL, 1, &out));
    CHECK(count_of(out, "\"step_id\"") == 1);
    CHECK(has(out, c));
    OK(enrollkit_due(s, "admin", "q2", "2000-01-01T00:00:00Z", 10, &out)); /* not due that early */
    CHECK(has(out, "[]"));
    OK(enrollkit_due(s, "admin", NULL, NULL, 1000, &out)); /* every program's */
    CHECK(out != NULL && strstr(out, c) != NULL && strstr(out, c) < strstr(out, d));
    enrollkit_string_free(out);
    out = SENTINEL;
    EXPECT(enrollkit_due(s, "learner:u1", NULL, NULL, 10, &out), ENROLLKIT_RESULT_PERMISSION_DENIED);
    EXPECT(enrollkit_due(s, "admin", "nope", NULL, 10, &out), ENROLLKIT_RESULT_NOT_FOUND);
    EXPECT(enrollkit_due(s, "admin", NULL, "tomorrow", 10, &out), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_due(s, "admin", NULL, NULL, 0, &out), ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"limit\""));
    CHECK(out == SENTINEL);

    /* A worker of one program claims only that program's work. */
    OK(enrollkit_claim_due(s, "w4", "q2", 10, 60000, &out));
    CHECK(count_of(out, "\"program_id\":\"q2\"") == 2 && count_of(out, "\"claimed_by\":\"w4\"") == 2);
    field(out, "lease_until", lease_before, sizeof lease_before);
    CHECK(has(out, expect)); /* c first */
    OK(enrollkit_claim_due(s, "w5", "q2", 10, 60000, &out));
    CHECK(has(out, "[]"));
    out = SENTINEL;
    EXPECT(enrollkit_claim_due(s, "w5", "nope", 10, 60000, &out), ENROLLKIT_RESULT_NOT_FOUND);
    EXPECT(enrollkit_claim_due(s, "w5", " q2", 10, 60000, &out), ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"program_id\""));
    CHECK(out == SENTINEL);
    OK(enrollkit_due(s, "admin", "q2", NULL, 10, &out)); /* still listed, claimed */
    CHECK(count_of(out, "\"claimed_by\":\"w4\"") == 2 && count_of(out, "\"status\":\"processing\"") == 2);
    enrollkit_string_free(out);

    /* The holder renews its lease; anyone else is refused, changing nothing. */
    OK(enrollkit_claim_renew(s, "w4", c, 120000, &out));
    field(out, "lease_until", lease_after, sizeof lease_after);
    CHECK(strcmp(lease_after, lease_before) > 0); /* RFC 3339 in one form: ordered as text */
    CHECK(has(out, "\"claimed_by\":\"w4\""));
    out = SENTINEL;
    EXPECT(enrollkit_claim_renew(s, "w5", c, 60000, &out), ENROLLKIT_RESULT_CONFLICT);
    CHECK(last_details_have("\"code\":\"conflict\""));
    EXPECT(enrollkit_claim_renew(s, "w4", c, 0, &out), ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"lease\""));
    EXPECT(enrollkit_claim_renew(s, "w4", c, ENROLLKIT_MAX_LEASE_MS + 1, &out), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_claim_renew(s, "", c, 60000, &out), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_claim_renew(s, "w4", "enr_nope", 60000, &out), ENROLLKIT_RESULT_NOT_FOUND);
    CHECK(out == SENTINEL);
    OK(enrollkit_enrollment_get(s, "admin", c, &out));
    snprintf(expect, sizeof expect, "\"lease_until\":\"%s\"", lease_after);
    CHECK(has(out, expect));
    OK(enrollkit_claim_renew(s, "w4", d, ENROLLKIT_MAX_LEASE_MS, NULL));
    OK(enrollkit_history(s, "admin", c, &out));
    CHECK(has(out, "\"action\":\"renew\""));
    OK(enrollkit_claim_deliver(s, "w4", c, NULL, NULL));
    OK(enrollkit_claim_release(s, "w4", d, NULL));

    /* Work anniversaries: hired a year or more before the date, the 29th of February on the
     * 28th in other years; a second run enrolls nobody twice. */
    OK(enrollkit_user_upsert(s, "{\"id\":\"h1\",\"hire_date\":\"2020-03-10\",\"timezone\":\"Asia/Tokyo\"}", &out));
    CHECK(has(out, "\"hire_date\":\"2020-03-10\""));
    OK(enrollkit_user_upsert(s, "{\"id\":\"h2\",\"hire_date\":\"2025-03-10\"}", NULL));
    OK(enrollkit_user_upsert(s, "{\"id\":\"h3\",\"hire_date\":\"2026-03-10\"}", NULL));
    OK(enrollkit_user_upsert(s, "{\"id\":\"h4\",\"hire_date\":\"2024-02-29\"}", NULL));
    EXPECT(enrollkit_user_upsert(s, "{\"id\":\"h5\",\"hire_date\":\"2026-02-30\"}", NULL), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_enroll_anniversaries(s, "system", "crs", "2026-03-10", &out));
    CHECK(count_of(out, "\"outcome\":\"created\"") == 2 && count_of(out, "\"trigger\":\"work_anniversary\"") == 2);
    CHECK(count_of(out, "\"user_id\":\"h1\"") == 2); /* the outcome's and its enrollment's */
    CHECK(has(out, "\"user_id\":\"h2\""));
    OK(enrollkit_enroll_anniversaries(s, "admin", "crs", "2026-03-10", &out));
    CHECK(count_of(out, "\"outcome\":\"already_enrolled\"") == 2);
    CHECK(strstr(out, "\"user_id\":\"h1\"") != NULL && strstr(out, "\"user_id\":\"h2\"") != NULL);
    CHECK(strstr(out, "\"user_id\":\"h1\"") < strstr(out, "\"user_id\":\"h2\"")); /* by user id */
    CHECK(has(out, "\"existing_id\":\"enr_"));
    OK(enrollkit_enroll_anniversaries(s, "admin", "crs", "2027-02-28", &out));
    CHECK(count_of(out, "\"outcome\":\"created\"") == 1);
    CHECK(has(out, "\"user_id\":\"h4\""));
    OK(enrollkit_enroll_anniversaries(s, "admin", "crs", "2026-07-01", NULL));
    OK(enrollkit_enroll_anniversaries(s, "admin", "crs", "2026-07-01", &out));
    CHECK(has(out, "[]"));
    out = SENTINEL;
    EXPECT(enrollkit_enroll_anniversaries(s, "learner:h1", "crs", "2026-03-10", &out), ENROLLKIT_RESULT_PERMISSION_DENIED);
    EXPECT(enrollkit_enroll_anniversaries(s, "admin", "crs", "2026-13-01", &out), ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"on_date\""));
    EXPECT(enrollkit_enroll_anniversaries(s, "admin", "nope", "2026-03-10", &out), ENROLLKIT_RESULT_NOT_FOUND);
    CHECK(out == SENTINEL);
}

/* NULL for every pointer argument and invalid UTF-8 for every string argument. */
static void test_null_and_utf8(enrollkit_store *s) {
    char *o = NULL;
    int64_t v = 0;
    uint32_t place = 7;
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
    NUL(enrollkit_expire_due(NULL, A, 1, &o));
    NUL(enrollkit_expire_due(s, NULL, 1, &o));
    UTF(enrollkit_expire_due(s, BAD, 1, &o));
    NUL(enrollkit_waitlist(NULL, A, "p", 1, &o));
    NUL(enrollkit_waitlist(s, NULL, "p", 1, &o));
    NUL(enrollkit_waitlist(s, A, NULL, 1, &o));
    NUL(enrollkit_waitlist(s, A, "p", 1, NULL));
    UTF(enrollkit_waitlist(s, BAD, "p", 1, &o));
    UTF(enrollkit_waitlist(s, A, BAD, 1, &o));
    NUL(enrollkit_waitlist_position(NULL, A, I, &place));
    NUL(enrollkit_waitlist_position(s, NULL, I, &place));
    NUL(enrollkit_waitlist_position(s, A, NULL, &place));
    NUL(enrollkit_waitlist_position(s, A, I, NULL));
    UTF(enrollkit_waitlist_position(s, BAD, I, &place));
    UTF(enrollkit_waitlist_position(s, A, BAD, &place));
    CHECK(place == 7); /* never written */
    NUL(enrollkit_claim_due(NULL, "w", NULL, 1, 1000, &o));
    NUL(enrollkit_claim_due(s, NULL, NULL, 1, 1000, &o));
    UTF(enrollkit_claim_due(s, BAD, NULL, 1, 1000, &o));
    UTF(enrollkit_claim_due(s, "w", BAD, 1, 1000, &o));
    NUL(enrollkit_due(NULL, A, NULL, NULL, 1, &o));
    NUL(enrollkit_due(s, NULL, NULL, NULL, 1, &o));
    NUL(enrollkit_due(s, A, NULL, NULL, 1, NULL));
    UTF(enrollkit_due(s, BAD, NULL, NULL, 1, &o));
    UTF(enrollkit_due(s, A, BAD, NULL, 1, &o));
    UTF(enrollkit_due(s, A, NULL, BAD, 1, &o));
    NUL(enrollkit_claim_renew(NULL, "w", I, 1000, &o));
    NUL(enrollkit_claim_renew(s, NULL, I, 1000, &o));
    NUL(enrollkit_claim_renew(s, "w", NULL, 1000, &o));
    UTF(enrollkit_claim_renew(s, BAD, I, 1000, &o));
    UTF(enrollkit_claim_renew(s, "w", BAD, 1000, &o));
    NUL(enrollkit_claim_deliver(NULL, "w", I, NULL, &o));
    NUL(enrollkit_claim_deliver(s, NULL, I, NULL, &o));
    NUL(enrollkit_claim_deliver(s, "w", NULL, NULL, &o));
    UTF(enrollkit_claim_deliver(s, BAD, I, NULL, &o));
    UTF(enrollkit_claim_deliver(s, "w", BAD, NULL, &o));
    UTF(enrollkit_claim_deliver(s, "w", I, BAD, &o));
    NUL(enrollkit_claims_deliver(NULL, "w", "[]", NULL, &o));
    NUL(enrollkit_claims_deliver(s, NULL, "[]", NULL, &o));
    NUL(enrollkit_claims_deliver(s, "w", NULL, NULL, &o));
    UTF(enrollkit_claims_deliver(s, BAD, "[]", NULL, &o));
    UTF(enrollkit_claims_deliver(s, "w", BAD, NULL, &o));
    UTF(enrollkit_claims_deliver(s, "w", "[]", BAD, &o));
    NUL(enrollkit_claim_complete(NULL, "w", I, NULL, &o));
    NUL(enrollkit_claim_complete(s, NULL, I, NULL, &o));
    NUL(enrollkit_claim_complete(s, "w", NULL, NULL, &o));
    UTF(enrollkit_claim_complete(s, BAD, I, NULL, &o));
    UTF(enrollkit_claim_complete(s, "w", BAD, NULL, &o));
    UTF(enrollkit_claim_complete(s, "w", I, BAD, &o));
    NUL(enrollkit_claim_fail(NULL, "w", I, "r", NULL, &o));
    NUL(enrollkit_claim_fail(s, NULL, I, "r", NULL, &o));
    NUL(enrollkit_claim_fail(s, "w", NULL, "r", NULL, &o));
    NUL(enrollkit_claim_fail(s, "w", I, NULL, NULL, &o));
    UTF(enrollkit_claim_fail(s, BAD, I, "r", NULL, &o));
    UTF(enrollkit_claim_fail(s, "w", BAD, "r", NULL, &o));
    UTF(enrollkit_claim_fail(s, "w", I, BAD, NULL, &o));
    UTF(enrollkit_claim_fail(s, "w", I, "r", BAD, &o));
    NUL(enrollkit_claim_skip(NULL, "w", I, &o));
    NUL(enrollkit_claim_skip(s, NULL, I, &o));
    NUL(enrollkit_claim_skip(s, "w", NULL, &o));
    UTF(enrollkit_claim_skip(s, BAD, I, &o));
    UTF(enrollkit_claim_skip(s, "w", BAD, &o));
    NUL(enrollkit_claim_release(NULL, "w", I, &o));
    NUL(enrollkit_claim_release(s, NULL, I, &o));
    NUL(enrollkit_claim_release(s, "w", NULL, &o));
    UTF(enrollkit_claim_release(s, BAD, I, &o));
    UTF(enrollkit_claim_release(s, "w", BAD, &o));
    NUL(enrollkit_enroll_anniversaries(NULL, A, "p", "2026-03-10", &o));
    NUL(enrollkit_enroll_anniversaries(s, NULL, "p", "2026-03-10", &o));
    NUL(enrollkit_enroll_anniversaries(s, A, NULL, "2026-03-10", &o));
    NUL(enrollkit_enroll_anniversaries(s, A, "p", NULL, &o));
    UTF(enrollkit_enroll_anniversaries(s, BAD, "p", "2026-03-10", &o));
    UTF(enrollkit_enroll_anniversaries(s, A, BAD, "2026-03-10", &o));
    UTF(enrollkit_enroll_anniversaries(s, A, "p", BAD, &o));
    NUL(enrollkit_erase_user(NULL, A, "u", &o));
    NUL(enrollkit_erase_user(s, NULL, "u", &o));
    NUL(enrollkit_erase_user(s, A, NULL, &o));
    UTF(enrollkit_erase_user(s, BAD, "u", &o));
    UTF(enrollkit_erase_user(s, A, BAD, &o));
    NUL(enrollkit_compact(NULL));
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

/* ---- Typed handles: records read without JSON, batches and queries built without it. ---- */

#define STREQ(got, want) streq_((got), (want), __LINE__)
static int streq_(const char *got, const char *want, int line) {
    int same = got != NULL && strcmp(got, want) == 0;
    if (!same) fprintf(stderr, "  line %d: got %s, expected %s\n", line, got ? got : "(NULL)", want);
    return same;
}

/* 2026-01-15T10:00:00Z and 2999-01-01T00:00:00Z in milliseconds since the epoch. */
static const int64_t T0 = 1768471200000LL;
static const int64_t Y2999 = 32472144000000LL;

static void test_typed_users_and_programs(enrollkit_store *s) {
    enrollkit_user_batch *ub = NULL;
    OK(enrollkit_user_batch_new(&ub));
    CHECK(enrollkit_user_batch_count(ub) == 0);
    /* Nothing to set before a user is added. */
    EXPECT(enrollkit_user_batch_set(ub, ENROLLKIT_USER_FIELD_EMAIL, "x@example.com"), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_user_batch_add_group(ub, "Eng"), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_user_batch_add(ub, "t1"));
    OK(enrollkit_user_batch_set(ub, ENROLLKIT_USER_FIELD_EMAIL, "t1@example.com"));
    OK(enrollkit_user_batch_set(ub, ENROLLKIT_USER_FIELD_DISPLAY_NAME, "Tess"));
    OK(enrollkit_user_batch_set(ub, ENROLLKIT_USER_FIELD_EXTERNAL_ID, "XT1"));
    OK(enrollkit_user_batch_set(ub, ENROLLKIT_USER_FIELD_DEPARTMENT, "Engineering"));
    OK(enrollkit_user_batch_set(ub, ENROLLKIT_USER_FIELD_LOCATION, "Lyon"));
    OK(enrollkit_user_batch_set(ub, ENROLLKIT_USER_FIELD_MANAGER_ID, "m1"));
    OK(enrollkit_user_batch_set(ub, ENROLLKIT_USER_FIELD_TIMEZONE, "Europe/Paris"));
    OK(enrollkit_user_batch_add_group(ub, "Eng"));
    OK(enrollkit_user_batch_add_group(ub, "Ops"));
    EXPECT(enrollkit_user_batch_set(ub, 99, "x"), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_user_batch_add(ub, "t2"));
    OK(enrollkit_user_batch_set(ub, ENROLLKIT_USER_FIELD_LOCATION, "Oslo"));
    OK(enrollkit_user_batch_set(ub, ENROLLKIT_USER_FIELD_LOCATION, NULL)); /* absent again */
    CHECK(enrollkit_user_batch_count(ub) == 2);
    uint64_t written = 0;
    OK(enrollkit_users_upsert_typed(s, ub, &written));
    CHECK(written == 2);
    OK(enrollkit_users_upsert_typed(s, ub, NULL)); /* replaces them: same users */
    enrollkit_user_batch_clear(ub);
    CHECK(enrollkit_user_batch_count(ub) == 0);
    OK(enrollkit_user_batch_add(ub, "t3"));
    OK(enrollkit_user_batch_set(ub, ENROLLKIT_USER_FIELD_EMAIL, "T1@example.com"));
    written = 99;
    EXPECT(enrollkit_users_upsert_typed(s, ub, &written), ENROLLKIT_RESULT_CONFLICT);
    CHECK(written == 99);
    enrollkit_user_batch_free(ub);

    enrollkit_user *u = NULL, *untouched_u = (enrollkit_user *)0x1;
    OK(enrollkit_user_get_typed(s, "t1", &u));
    CHECK(STREQ(enrollkit_user_id(u), "t1"));
    CHECK(STREQ(enrollkit_user_email(u), "t1@example.com"));
    CHECK(STREQ(enrollkit_user_display_name(u), "Tess"));
    CHECK(STREQ(enrollkit_user_external_id(u), "XT1"));
    CHECK(STREQ(enrollkit_user_department(u), "Engineering"));
    CHECK(STREQ(enrollkit_user_location(u), "Lyon"));
    CHECK(STREQ(enrollkit_user_manager_id(u), "m1"));
    CHECK(STREQ(enrollkit_user_timezone(u), "Europe/Paris"));
    CHECK(enrollkit_user_group_count(u) == 2);
    CHECK(STREQ(enrollkit_user_group(u, 0), "Eng"));
    CHECK(STREQ(enrollkit_user_group(u, 1), "Ops"));
    CHECK(enrollkit_user_group(u, 2) == NULL);
    CHECK(enrollkit_user_id(u) == enrollkit_user_id(u)); /* converted once, then lent again */
    enrollkit_user_free(u);
    OK(enrollkit_user_find_typed(s, ENROLLKIT_USER_BY_EXTERNAL_ID, "XT1", &u));
    CHECK(STREQ(enrollkit_user_id(u), "t1"));
    enrollkit_user_free(u);
    OK(enrollkit_user_find_typed(s, ENROLLKIT_USER_BY_EMAIL, "T1@EXAMPLE.COM", &u));
    CHECK(STREQ(enrollkit_user_display_name(u), "Tess"));
    enrollkit_user_free(u);
    OK(enrollkit_user_find_typed(s, ENROLLKIT_USER_BY_ID, "t2", &u));
    CHECK(enrollkit_user_email(u) == NULL && enrollkit_user_location(u) == NULL);
    CHECK(enrollkit_user_group_count(u) == 0 && enrollkit_user_group(u, 0) == NULL);
    enrollkit_user_free(u);
    EXPECT(enrollkit_user_get_typed(s, "nobody", &untouched_u), ENROLLKIT_RESULT_NOT_FOUND);
    EXPECT(enrollkit_user_find_typed(s, 9, "t1", &untouched_u), ENROLLKIT_RESULT_VALIDATION);
    CHECK(untouched_u == (enrollkit_user *)0x1);
    enrollkit_user_array *ua = NULL;
    OK(enrollkit_user_list_typed(s, "t1", 10, &ua)); /* ordered by id: t2, u1, u2 */
    CHECK(enrollkit_user_array_count(ua) == 3);
    CHECK(STREQ(enrollkit_user_id(enrollkit_user_array_item(ua, 0)), "t2"));
    CHECK(STREQ(enrollkit_user_id(enrollkit_user_array_item(ua, 2)), "u2"));
    CHECK(enrollkit_user_array_item(ua, 3) == NULL);
    enrollkit_user_array_free(ua);
    OK(enrollkit_user_list_typed(s, NULL, 1, &ua));
    CHECK(STREQ(enrollkit_user_id(enrollkit_user_array_item(ua, 0)), "m1"));
    enrollkit_user_array_free(ua);
    EXPECT(enrollkit_user_list_typed(s, NULL, 0, &ua), ENROLLKIT_RESULT_VALIDATION);

    enrollkit_program *p = NULL;
    OK(enrollkit_program_get_typed(s, "trk", &p));
    CHECK(STREQ(enrollkit_program_id(p), "trk"));
    CHECK(STREQ(enrollkit_program_kind(p), "track"));
    CHECK(STREQ(enrollkit_program_title(p), "Track"));
    CHECK(enrollkit_program_description(p) == NULL);
    CHECK(STREQ(enrollkit_program_state(p), "active"));
    CHECK(!enrollkit_program_self_enrollment(p));
    double score = -1;
    uint32_t limit = 0;
    CHECK(!enrollkit_program_passing_score(p, &score) && score == -1);
    CHECK(!enrollkit_program_max_attempts(p, &limit) && limit == 0);
    CHECK(enrollkit_program_step_count(p) == 3);
    CHECK(STREQ(enrollkit_program_step_id(p, 0), "hello"));
    CHECK(STREQ(enrollkit_program_step_type(p, 1), "survey"));
    CHECK(STREQ(enrollkit_program_step_title(p, 2), "Task"));
    CHECK(!enrollkit_program_step_learner_completable(p, 0));
    CHECK(enrollkit_program_step_learner_completable(p, 1));
    CHECK(enrollkit_program_step_id(p, 3) == NULL && enrollkit_program_step_type(p, 3) == NULL);
    CHECK(enrollkit_program_step_title(p, 3) == NULL && !enrollkit_program_step_learner_completable(p, 3));
    CHECK(enrollkit_program_created_at(p) == T0 && enrollkit_program_updated_at(p) == T0);
    enrollkit_program_free(p);
    OK(enrollkit_program_get_typed(s, "crs", &p));
    CHECK(enrollkit_program_self_enrollment(p));
    CHECK(enrollkit_program_passing_score(p, &score) && score == 50);
    CHECK(enrollkit_program_passing_score(p, NULL));
    CHECK(enrollkit_program_max_attempts(p, &limit) && limit == 1);
    CHECK(enrollkit_program_step_count(p) == 0);
    enrollkit_program_free(p);
    enrollkit_program *untouched_p = (enrollkit_program *)0x1;
    EXPECT(enrollkit_program_get_typed(s, "nope", &untouched_p), ENROLLKIT_RESULT_NOT_FOUND);
    CHECK(untouched_p == (enrollkit_program *)0x1);
    enrollkit_program_array *pa = NULL;
    OK(enrollkit_program_list_typed(s, "course", NULL, NULL, 10, &pa));
    CHECK(enrollkit_program_array_count(pa) == 2);
    CHECK(STREQ(enrollkit_program_id(enrollkit_program_array_item(pa, 0)), "crs"));
    CHECK(STREQ(enrollkit_program_state(enrollkit_program_array_item(pa, 1)), "draft"));
    CHECK(enrollkit_program_array_item(pa, 2) == NULL);
    enrollkit_program_array_free(pa);
    OK(enrollkit_program_list_typed(s, NULL, "active", "cert", 10, &pa));
    CHECK(enrollkit_program_array_count(pa) == 2); /* crs, trk */
    enrollkit_program_array_free(pa);
    EXPECT(enrollkit_program_list_typed(s, "webinar", NULL, NULL, 10, &pa), ENROLLKIT_RESULT_VALIDATION);
}

static void test_typed_enrollments(enrollkit_store *s) {
    const char *learner = "learner:u1";
    char course[64], track[64], scheduled[64], cert[64], second[64];
    enrollkit_enrollment *e = NULL, *untouched = (enrollkit_enrollment *)0x1;
    double score = -1;
    bool passed = true;

    /* A course, enrolled with plain arguments. */
    OK(enrollkit_enroll_typed(s, learner, "u1", "crs", &e));
    snprintf(course, sizeof course, "%s", enrollkit_enrollment_id(e));
    CHECK(strncmp(course, "enr_", 4) == 0);
    CHECK(STREQ(enrollkit_enrollment_user_id(e), "u1"));
    CHECK(STREQ(enrollkit_enrollment_program_id(e), "crs"));
    CHECK(STREQ(enrollkit_enrollment_kind(e), "course"));
    CHECK(STREQ(enrollkit_enrollment_status(e), "active"));
    CHECK(enrollkit_enrollment_resume_status(e) == NULL);
    CHECK(STREQ(enrollkit_enrollment_trigger(e), "self_join"));
    CHECK(enrollkit_enrollment_added_by_user_id(e) == NULL && enrollkit_enrollment_added_by_program_id(e) == NULL);
    CHECK(enrollkit_enrollment_partnership_id(e) == NULL && enrollkit_enrollment_mentor_id(e) == NULL);
    CHECK(enrollkit_enrollment_timezone(e) == NULL && enrollkit_enrollment_previous_id(e) == NULL);
    CHECK(enrollkit_enrollment_failure_reason(e) == NULL && enrollkit_enrollment_failure_message(e) == NULL);
    CHECK(enrollkit_enrollment_enrolled_at(e) == T0 && enrollkit_enrollment_updated_at(e) == T0);
    CHECK(enrollkit_enrollment_completed_at(e) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_enrollment_start_at(e) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_enrollment_mentor_assigned_at(e) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_enrollment_progress(e) == 0 && enrollkit_enrollment_attempts(e) == 0);
    CHECK(enrollkit_enrollment_attempt_number(e) == 1 && enrollkit_enrollment_steps_total(e) == 0);
    CHECK(!enrollkit_enrollment_best_score(e, &score) && score == -1);
    CHECK(!enrollkit_enrollment_passed(e, &passed) && passed);
    CHECK(enrollkit_enrollment_status(e) == enrollkit_enrollment_status(e));
    enrollkit_enrollment_free(e);
    /* The typed record says what the JSON says. */
    char *json = NULL;
    OK(enrollkit_enrollment_get(s, "admin", course, &json));
    OK(enrollkit_enrollment_get_typed(s, "admin", course, &e));
    CHECK((strstr(json, "\"started_at\":null") != NULL) == (enrollkit_enrollment_started_at(e) == ENROLLKIT_TIME_ABSENT));
    enrollkit_string_free(json);
    enrollkit_enrollment_free(e);
    EXPECT(enrollkit_enroll_typed(s, "admin", "u1", "crs", &untouched), ENROLLKIT_RESULT_ALREADY_ENROLLED);
    EXPECT(enrollkit_enrollment_get_typed(s, "learner:u2", course, &untouched), ENROLLKIT_RESULT_PERMISSION_DENIED);
    CHECK(untouched == (enrollkit_enrollment *)0x1);
    OK(enrollkit_enroll_typed(s, "admin", "u2", "crs", NULL));

    OK(enrollkit_store_advance_time(s, 1000));
    OK(enrollkit_set_progress_typed(s, learner, course, 40, &e));
    CHECK(enrollkit_enrollment_progress(e) == 40 && enrollkit_enrollment_updated_at(e) == T0 + 1000);
    enrollkit_enrollment_free(e);
    OK(enrollkit_attempt_submit_typed(s, learner, course, 45, &e));
    CHECK(enrollkit_enrollment_attempts(e) == 1);
    CHECK(enrollkit_enrollment_best_score(e, &score) && score == 45 && enrollkit_enrollment_best_score(e, NULL));
    CHECK(enrollkit_enrollment_passed(e, &passed) && !passed && enrollkit_enrollment_passed(e, NULL));
    enrollkit_enrollment_free(e);
    EXPECT(enrollkit_attempt_submit_typed(s, learner, course, 99, NULL), ENROLLKIT_RESULT_ATTEMPT_LIMIT_REACHED);
    OK(enrollkit_transition_typed(s, learner, course, ENROLLKIT_COMMAND_DROP, &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "dropped") && enrollkit_enrollment_dropped_at(e) == T0 + 1000);
    enrollkit_enrollment_free(e);
    EXPECT(enrollkit_transition_typed(s, learner, course, 99, &untouched), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_transition_typed(s, learner, course, ENROLLKIT_COMMAND_REACTIVATE, NULL));
    OK(enrollkit_add_progress_typed(s, learner, course, 60, &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "completed") && enrollkit_enrollment_progress(e) == 100);
    CHECK(enrollkit_enrollment_completed_at(e) == T0 + 1000);
    enrollkit_enrollment_free(e);
    EXPECT(enrollkit_add_progress_typed(s, learner, course, 1, NULL), ENROLLKIT_RESULT_INVALID_TRANSITION);

    /* A batch: every option, every outcome. */
    enrollkit_enroll_batch *eb = NULL;
    OK(enrollkit_enroll_batch_new(&eb));
    CHECK(enrollkit_enroll_batch_count(eb) == 0);
    EXPECT(enrollkit_enroll_batch_set(eb, ENROLLKIT_ENROLL_TRIGGER, "user_join"), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_enroll_batch_set_flag(eb, ENROLLKIT_ENROLL_ALLOW_REENROLL, true), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_enroll_batch_add(eb, ENROLLKIT_USER_BY_EMAIL, "u1@example.com", "trk"));
    OK(enrollkit_enroll_batch_set(eb, ENROLLKIT_ENROLL_ID, "enr_track_u1"));
    OK(enrollkit_enroll_batch_set(eb, ENROLLKIT_ENROLL_TRIGGER, "user_join"));
    OK(enrollkit_enroll_batch_set(eb, ENROLLKIT_ENROLL_ADDED_BY_USER_ID, "m1"));
    OK(enrollkit_enroll_batch_set(eb, ENROLLKIT_ENROLL_ADDED_BY_PROGRAM_ID, "wf_source"));
    OK(enrollkit_enroll_batch_set(eb, ENROLLKIT_ENROLL_PARTNERSHIP_ID, "prt"));
    OK(enrollkit_enroll_batch_set(eb, ENROLLKIT_ENROLL_TIMEZONE, "Europe/Oslo"));
    EXPECT(enrollkit_enroll_batch_set(eb, ENROLLKIT_ENROLL_TRIGGER, "whim"), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_enroll_batch_set(eb, ENROLLKIT_ENROLL_START_AT, "soon"), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_enroll_batch_set(eb, 99, "x"), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_enroll_batch_set_flag(eb, 9, true), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_enroll_batch_add(eb, ENROLLKIT_USER_BY_EXTERNAL_ID, "X1", "trk")); /* u1 again */
    OK(enrollkit_enroll_batch_add(eb, ENROLLKIT_USER_BY_ID, "ghost", "trk"));
    OK(enrollkit_enroll_batch_add(eb, ENROLLKIT_USER_BY_ID, "m1", "trk"));
    OK(enrollkit_enroll_batch_set(eb, ENROLLKIT_ENROLL_START_AT, "2999-01-01T00:00:00Z"));
    OK(enrollkit_enroll_batch_set_flag(eb, ENROLLKIT_ENROLL_AS_BATCH, false));
    EXPECT(enrollkit_enroll_batch_add(eb, 7, "u1", "trk"), ENROLLKIT_RESULT_VALIDATION);
    CHECK(enrollkit_enroll_batch_count(eb) == 4);
    enrollkit_enroll_outcomes *o = NULL;
    OK(enrollkit_enroll_many_typed(s, "system", eb, ENROLLKIT_BATCH_BEST_EFFORT, &o));
    CHECK(enrollkit_enroll_outcomes_count(o) == 4);
    CHECK(enrollkit_enroll_outcomes_kind(o, 0) == ENROLLKIT_OUTCOME_CREATED);
    const enrollkit_enrollment *row = enrollkit_enroll_outcomes_enrollment(o, 0);
    CHECK(STREQ(enrollkit_enrollment_id(row), "enr_track_u1"));
    snprintf(track, sizeof track, "%s", enrollkit_enrollment_id(row));
    CHECK(STREQ(enrollkit_enrollment_status(row), "active") && enrollkit_enrollment_steps_total(row) == 3);
    CHECK(STREQ(enrollkit_enrollment_trigger(row), "user_join"));
    CHECK(STREQ(enrollkit_enrollment_added_by_user_id(row), "m1"));
    CHECK(STREQ(enrollkit_enrollment_added_by_program_id(row), "wf_source"));
    CHECK(STREQ(enrollkit_enrollment_partnership_id(row), "prt"));
    CHECK(STREQ(enrollkit_enrollment_timezone(row), "Europe/Oslo"));
    CHECK(enrollkit_enroll_outcomes_existing_id(o, 0) == NULL && enrollkit_enroll_outcomes_error(o, 0) == ENROLLKIT_RESULT_OK);
    CHECK(enrollkit_enroll_outcomes_error_message(o, 0) == NULL && enrollkit_enroll_outcomes_error_details(o, 0) == NULL);
    CHECK(enrollkit_enroll_outcomes_kind(o, 1) == ENROLLKIT_OUTCOME_ALREADY_ENROLLED);
    CHECK(STREQ(enrollkit_enroll_outcomes_existing_id(o, 1), track));
    CHECK(enrollkit_enroll_outcomes_enrollment(o, 1) == NULL);
    CHECK(enrollkit_enroll_outcomes_kind(o, 2) == ENROLLKIT_OUTCOME_FAILED);
    CHECK(enrollkit_enroll_outcomes_error(o, 2) == ENROLLKIT_RESULT_NOT_FOUND);
    CHECK(enrollkit_enroll_outcomes_error_message(o, 2) != NULL);
    CHECK(strstr(enrollkit_enroll_outcomes_error_details(o, 2), "\"code\":\"not_found\"") != NULL);
    CHECK(enrollkit_enroll_outcomes_kind(o, 3) == ENROLLKIT_OUTCOME_CREATED);
    row = enrollkit_enroll_outcomes_enrollment(o, 3);
    snprintf(scheduled, sizeof scheduled, "%s", enrollkit_enrollment_id(row));
    CHECK(STREQ(enrollkit_enrollment_status(row), "new") && enrollkit_enrollment_start_at(row) == Y2999);
    CHECK(enrollkit_enroll_outcomes_kind(o, 4) == ENROLLKIT_OUTCOME_NONE);
    CHECK(enrollkit_enroll_outcomes_enrollment(o, 4) == NULL && enrollkit_enroll_outcomes_existing_id(o, 4) == NULL);
    CHECK(enrollkit_enroll_outcomes_error(o, 4) == ENROLLKIT_RESULT_OK && enrollkit_enroll_outcomes_error_message(o, 4) == NULL);
    /* A batch's rows name their users as the requests did: no user id. */
    CHECK(enrollkit_enroll_outcomes_user_id(o, 0) == NULL && enrollkit_enroll_outcomes_user_id(o, 2) == NULL);
    enrollkit_enroll_outcomes_free(o);
    enrollkit_enroll_batch_clear(eb);
    CHECK(enrollkit_enroll_batch_count(eb) == 0);
    OK(enrollkit_enroll_batch_add(eb, ENROLLKIT_USER_BY_ID, "u2", "trk"));
    OK(enrollkit_enroll_batch_set_flag(eb, ENROLLKIT_ENROLL_AS_BATCH, true));
    OK(enrollkit_enroll_batch_add(eb, ENROLLKIT_USER_BY_ID, "ghost", "trk"));
    OK(enrollkit_enroll_many_typed(s, "system", eb, ENROLLKIT_BATCH_ALL_OR_NOTHING, &o));
    CHECK(enrollkit_enroll_outcomes_kind(o, 0) == ENROLLKIT_OUTCOME_NOT_APPLIED);
    CHECK(enrollkit_enroll_outcomes_kind(o, 1) == ENROLLKIT_OUTCOME_FAILED);
    enrollkit_enroll_outcomes_free(o);
    o = (enrollkit_enroll_outcomes *)0x1;
    EXPECT(enrollkit_enroll_many_typed(s, "system", eb, 5, &o), ENROLLKIT_RESULT_VALIDATION);
    CHECK(o == (enrollkit_enroll_outcomes *)0x1);
    OK(enrollkit_enroll_many_typed(s, "system", eb, ENROLLKIT_BATCH_ALL_OR_NOTHING, NULL));
    /* A new enrollment after a completed one: the lineage. */
    enrollkit_enroll_batch_clear(eb);
    OK(enrollkit_enroll_batch_add(eb, ENROLLKIT_USER_BY_ID, "u1", "crs"));
    OK(enrollkit_enroll_batch_set_flag(eb, ENROLLKIT_ENROLL_ALLOW_REENROLL, true));
    OK(enrollkit_enroll_many_typed(s, "admin", eb, ENROLLKIT_BATCH_ALL_OR_NOTHING, &o));
    row = enrollkit_enroll_outcomes_enrollment(o, 0);
    CHECK(enrollkit_enrollment_attempt_number(row) == 2 && STREQ(enrollkit_enrollment_previous_id(row), course));
    snprintf(second, sizeof second, "%s", enrollkit_enrollment_id(row));
    enrollkit_enroll_outcomes_free(o);
    enrollkit_enroll_batch_free(eb);
    OK(enrollkit_attempt_submit_typed(s, learner, second, 80, &e));
    CHECK(enrollkit_enrollment_passed(e, &passed) && passed);
    enrollkit_enrollment_free(e);
    enrollkit_enrollment_page *page = NULL;
    OK(enrollkit_lineage_typed(s, learner, "u1", "crs", &page));
    CHECK(enrollkit_enrollment_page_count(page) == 2 && !enrollkit_enrollment_page_has_more(page));
    CHECK(enrollkit_enrollment_page_next_cursor(page) == NULL);
    CHECK(STREQ(enrollkit_enrollment_id(enrollkit_enrollment_page_item(page, 0)), course));
    CHECK(STREQ(enrollkit_enrollment_id(enrollkit_enrollment_page_item(page, 1)), second));
    CHECK(enrollkit_enrollment_page_item(page, 2) == NULL);
    enrollkit_enrollment_page_free(page);

    /* Steps on the track. */
    OK(enrollkit_step_start_typed(s, "system", track, "hello", &e));
    CHECK(enrollkit_enrollment_steps_delivered(e) == 0);
    enrollkit_enrollment_free(e);
    OK(enrollkit_step_deliver_typed(s, "system", track, "hello", "user", &e));
    CHECK(enrollkit_enrollment_steps_delivered(e) == 1);
    enrollkit_enrollment_free(e);
    OK(enrollkit_step_deliver_typed(s, "system", track, "survey", NULL, NULL));
    EXPECT(enrollkit_step_deliver_typed(s, "system", track, "nope", NULL, &untouched), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_step_complete_typed(s, learner, track, "survey", "{\"answers\":[]}", &e));
    CHECK(enrollkit_enrollment_steps_completed(e) == 1 && enrollkit_enrollment_completion_percent(e) == 33.33);
    CHECK(enrollkit_enrollment_delivery_percent(e) == 66.67);
    enrollkit_enrollment_free(e);
    EXPECT(enrollkit_step_complete_typed(s, learner, track, "hello", NULL, NULL), ENROLLKIT_RESULT_PERMISSION_DENIED);
    OK(enrollkit_step_fail_typed(s, "system", track, "task", "bounced", "Mailbox full", &e));
    CHECK(enrollkit_enrollment_steps_delivered(e) == 2);
    enrollkit_enrollment_free(e);
    OK(enrollkit_transition_typed(s, "system", track, ENROLLKIT_COMMAND_BEGIN_PROCESSING, NULL));
    OK(enrollkit_transition_typed(s, "admin", track, ENROLLKIT_COMMAND_PAUSE, &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "paused") && STREQ(enrollkit_enrollment_resume_status(e), "processing"));
    enrollkit_enrollment_free(e);
    OK(enrollkit_transition_typed(s, "admin", track, ENROLLKIT_COMMAND_RESUME, NULL));
    OK(enrollkit_transition_typed(s, "system", track, ENROLLKIT_COMMAND_END_PROCESSING, NULL));
    OK(enrollkit_store_advance_time(s, 1000));
    OK(enrollkit_assign_mentor_typed(s, "admin", track, "m1", &e));
    CHECK(STREQ(enrollkit_enrollment_mentor_id(e), "m1") && enrollkit_enrollment_mentor_assigned_at(e) == T0 + 2000);
    enrollkit_enrollment_free(e);
    EXPECT(enrollkit_assign_mentor_typed(s, "admin", track, "nobody", NULL), ENROLLKIT_RESULT_NOT_FOUND);
    OK(enrollkit_assign_mentor_typed(s, "admin", track, NULL, &e));
    CHECK(enrollkit_enrollment_mentor_id(e) == NULL);
    enrollkit_enrollment_free(e);
    OK(enrollkit_set_next_step_at_typed(s, "system", track, T0 + 86400000, &e));
    CHECK(enrollkit_enrollment_next_step_at(e) == T0 + 86400000);
    enrollkit_enrollment_free(e);
    EXPECT(enrollkit_set_next_step_at_typed(s, "system", track, INT64_MAX, NULL), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_set_next_step_at_typed(s, "system", track, ENROLLKIT_TIME_ABSENT, &e));
    CHECK(enrollkit_enrollment_next_step_at(e) == ENROLLKIT_TIME_ABSENT);
    enrollkit_enrollment_free(e);
    OK(enrollkit_step_skip_typed(s, "system", track, "task", &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "completed") && enrollkit_enrollment_steps_skipped(e) == 1);
    CHECK(enrollkit_enrollment_delivered_at(e) == T0 + 2000 && enrollkit_enrollment_completed_at(e) == T0 + 2000);
    CHECK(enrollkit_enrollment_started_at(e) != ENROLLKIT_TIME_ABSENT);
    enrollkit_enrollment_free(e);

    /* A certification failed; the scheduled track canceled. */
    OK(enrollkit_enroll_typed(s, "admin", "u2", "cert", &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "enrolled"));
    snprintf(cert, sizeof cert, "%s", enrollkit_enrollment_id(e));
    enrollkit_enrollment_free(e);
    EXPECT(enrollkit_fail_typed(s, "admin", cert, "bored", NULL, NULL), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_fail_typed(s, "admin", cert, "workflow_not_active", "Closed", &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "failed") && enrollkit_enrollment_failed_at(e) == T0 + 2000);
    CHECK(STREQ(enrollkit_enrollment_failure_reason(e), "workflow_not_active"));
    CHECK(STREQ(enrollkit_enrollment_failure_message(e), "Closed"));
    enrollkit_enrollment_free(e);
    OK(enrollkit_transition_typed(s, "admin", scheduled, ENROLLKIT_COMMAND_START, NULL));
    OK(enrollkit_transition_typed(s, "admin", scheduled, ENROLLKIT_COMMAND_CANCEL, &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "canceled") && enrollkit_enrollment_canceled_at(e) == T0 + 2000);
    enrollkit_enrollment_free(e);

    /* Listing with a query. */
    enrollkit_list_query *q = NULL;
    OK(enrollkit_list_query_new(&q));
    OK(enrollkit_list_query_set(q, ENROLLKIT_QUERY_PROGRAM_ID, "trk"));
    OK(enrollkit_list_query_set_cursor(q, NULL, 1));
    OK(enrollkit_list_typed(s, "admin", q, &page));
    CHECK(enrollkit_enrollment_page_count(page) == 1 && enrollkit_enrollment_page_has_more(page));
    char cursor[64];
    snprintf(cursor, sizeof cursor, "%s", enrollkit_enrollment_page_next_cursor(page));
    CHECK(STREQ(enrollkit_enrollment_id(enrollkit_enrollment_page_item(page, 0)), cursor));
    enrollkit_enrollment_page_free(page);
    OK(enrollkit_list_query_set_cursor(q, cursor, 100));
    OK(enrollkit_list_typed(s, "admin", q, &page));
    CHECK(enrollkit_enrollment_page_count(page) == 1 && !enrollkit_enrollment_page_has_more(page));
    CHECK(enrollkit_enrollment_page_next_cursor(page) == NULL);
    CHECK(STREQ(enrollkit_enrollment_id(enrollkit_enrollment_page_item(page, 0)), scheduled));
    enrollkit_enrollment_page_free(page);
    OK(enrollkit_list_query_set_order(q, ENROLLKIT_ORDER_NEWEST_FIRST));
    OK(enrollkit_list_query_set_page(q, 1, 100));
    OK(enrollkit_list_query_set(q, ENROLLKIT_QUERY_STATUS, "completed"));
    OK(enrollkit_list_typed(s, "admin", q, &page));
    CHECK(enrollkit_enrollment_page_count(page) == 1);
    CHECK(STREQ(enrollkit_enrollment_id(enrollkit_enrollment_page_item(page, 0)), track));
    enrollkit_enrollment_page_free(page);
    OK(enrollkit_list_query_set(q, ENROLLKIT_QUERY_STATUS, NULL));
    OK(enrollkit_list_query_set(q, ENROLLKIT_QUERY_PROGRAM_ID, "crs"));
    OK(enrollkit_list_query_set(q, ENROLLKIT_QUERY_TRIGGER, "manual_user_trigger"));
    OK(enrollkit_list_typed(s, "admin", q, &page)); /* newest first: u1's second, then u2's */
    CHECK(enrollkit_enrollment_page_count(page) == 2);
    CHECK(STREQ(enrollkit_enrollment_id(enrollkit_enrollment_page_item(page, 0)), second));
    CHECK(STREQ(enrollkit_enrollment_user_id(enrollkit_enrollment_page_item(page, 1)), "u2"));
    enrollkit_enrollment_page_free(page);
    OK(enrollkit_list_query_set_order(q, ENROLLKIT_ORDER_OLDEST_FIRST));
    OK(enrollkit_list_query_set(q, ENROLLKIT_QUERY_TRIGGER, NULL));
    OK(enrollkit_list_query_set(q, ENROLLKIT_QUERY_USER_ID, "u1"));
    OK(enrollkit_list_query_set_enrolled(q, T0, T0 + 1)); /* u1's first course enrollment */
    OK(enrollkit_list_typed(s, "admin", q, &page));
    CHECK(enrollkit_enrollment_page_count(page) == 1);
    CHECK(STREQ(enrollkit_enrollment_id(enrollkit_enrollment_page_item(page, 0)), course));
    enrollkit_enrollment_page_free(page);
    OK(enrollkit_list_query_set_enrolled(q, ENROLLKIT_TIME_ABSENT, ENROLLKIT_TIME_ABSENT));
    OK(enrollkit_list_query_set_completed(q, T0 + 1000, ENROLLKIT_TIME_ABSENT));
    OK(enrollkit_list_typed(s, learner, q, &page));
    CHECK(enrollkit_enrollment_page_count(page) == 1);
    enrollkit_enrollment_page_free(page);
    OK(enrollkit_list_query_set_completed(q, ENROLLKIT_TIME_ABSENT, T0));
    OK(enrollkit_list_typed(s, learner, q, &page));
    CHECK(enrollkit_enrollment_page_count(page) == 0 && enrollkit_enrollment_page_item(page, 0) == NULL);
    enrollkit_enrollment_page_free(page);
    EXPECT(enrollkit_list_query_set(q, ENROLLKIT_QUERY_TRIGGER, "whim"), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_list_query_set(q, 9, "x"), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_list_query_set_order(q, 5), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_list_query_set_enrolled(q, INT64_MAX, ENROLLKIT_TIME_ABSENT), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_list_query_set_completed(q, ENROLLKIT_TIME_ABSENT, INT64_MAX), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_list_query_set(q, ENROLLKIT_QUERY_USER_ID, "u2"));
    enrollkit_enrollment_page *untouched_page = (enrollkit_enrollment_page *)0x1;
    EXPECT(enrollkit_list_typed(s, learner, q, &untouched_page), ENROLLKIT_RESULT_PERMISSION_DENIED);
    OK(enrollkit_list_query_set_page(q, 0, 20));
    EXPECT(enrollkit_list_typed(s, "admin", q, &untouched_page), ENROLLKIT_RESULT_VALIDATION);
    CHECK(untouched_page == (enrollkit_enrollment_page *)0x1);
    enrollkit_list_query_free(q);

    /* History and the change feed. */
    enrollkit_event_array *ev = NULL;
    OK(enrollkit_history_typed(s, learner, course, &ev));
    size_t n = enrollkit_event_array_count(ev);
    CHECK(n >= 5);
    const enrollkit_event *first = enrollkit_event_array_item(ev, 0);
    CHECK(STREQ(enrollkit_event_action(first), "enrolled") && enrollkit_event_from_status(first) == NULL);
    CHECK(STREQ(enrollkit_event_to_status(first), "active") && STREQ(enrollkit_event_actor(first), learner));
    CHECK(STREQ(enrollkit_event_enrollment_id(first), course) && STREQ(enrollkit_event_user_id(first), "u1"));
    CHECK(STREQ(enrollkit_event_program_id(first), "crs") && enrollkit_event_at(first) == T0);
    CHECK(enrollkit_event_seq(first) >= 1);
    CHECK(STREQ(enrollkit_event_to_status(enrollkit_event_array_item(ev, n - 1)), "completed"));
    CHECK(enrollkit_event_array_item(ev, n) == NULL);
    enrollkit_event_array_free(ev);
    OK(enrollkit_history_typed(s, "admin", track, &ev));
    int with_reason = 0;
    for (size_t i = 0; i < enrollkit_event_array_count(ev); i++)
        with_reason += enrollkit_event_reason(enrollkit_event_array_item(ev, i)) != NULL;
    CHECK(with_reason > 0);
    enrollkit_event_array_free(ev);
    OK(enrollkit_events_after_typed(s, "admin", 0, 2, &ev));
    CHECK(enrollkit_event_array_count(ev) == 2);
    CHECK(enrollkit_event_seq(enrollkit_event_array_item(ev, 0)) < enrollkit_event_seq(enrollkit_event_array_item(ev, 1)));
    enrollkit_event_array_free(ev);
    enrollkit_event_array *untouched_ev = (enrollkit_event_array *)0x1;
    EXPECT(enrollkit_events_after_typed(s, "admin", 0, 0, &untouched_ev), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_history_typed(s, "learner:u2", course, &untouched_ev), ENROLLKIT_RESULT_PERMISSION_DENIED);
    CHECK(untouched_ev == (enrollkit_event_array *)0x1);
}

/* Accessors of NULL handles read as absent; every pointer argument of the typed functions is
 * checked, and every string argument for UTF-8. */
static void test_typed_null_and_utf8(enrollkit_store *s) {
    double d = -1;
    uint32_t u32 = 7;
    bool b = true;
    CHECK(enrollkit_enrollment_id(NULL) == NULL && enrollkit_enrollment_user_id(NULL) == NULL);
    CHECK(enrollkit_enrollment_program_id(NULL) == NULL && enrollkit_enrollment_kind(NULL) == NULL);
    CHECK(enrollkit_enrollment_status(NULL) == NULL && enrollkit_enrollment_resume_status(NULL) == NULL);
    CHECK(enrollkit_enrollment_trigger(NULL) == NULL && enrollkit_enrollment_added_by_user_id(NULL) == NULL);
    CHECK(enrollkit_enrollment_added_by_program_id(NULL) == NULL && enrollkit_enrollment_partnership_id(NULL) == NULL);
    CHECK(enrollkit_enrollment_mentor_id(NULL) == NULL && enrollkit_enrollment_timezone(NULL) == NULL);
    CHECK(enrollkit_enrollment_failure_reason(NULL) == NULL && enrollkit_enrollment_failure_message(NULL) == NULL);
    CHECK(enrollkit_enrollment_previous_id(NULL) == NULL);
    CHECK(enrollkit_enrollment_mentor_assigned_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_enrollment_enrolled_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_enrollment_start_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_enrollment_started_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_enrollment_delivered_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_enrollment_completed_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_enrollment_failed_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_enrollment_dropped_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_enrollment_canceled_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_enrollment_next_step_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_enrollment_paused_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_enrollment_claimed_by(NULL) == NULL);
    CHECK(enrollkit_enrollment_lease_until(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_enrollment_deadline_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_enrollment_updated_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_enrollment_progress(NULL) == 0 && enrollkit_enrollment_steps_delivered(NULL) == 0);
    CHECK(enrollkit_enrollment_steps_completed(NULL) == 0 && enrollkit_enrollment_steps_skipped(NULL) == 0);
    CHECK(enrollkit_enrollment_steps_total(NULL) == 0 && enrollkit_enrollment_delivery_percent(NULL) == 0);
    CHECK(enrollkit_enrollment_completion_percent(NULL) == 0 && enrollkit_enrollment_attempts(NULL) == 0);
    CHECK(enrollkit_enrollment_attempt_number(NULL) == 0);
    CHECK(!enrollkit_enrollment_best_score(NULL, &d) && d == -1);
    CHECK(!enrollkit_enrollment_passed(NULL, &b) && b);
    enrollkit_enrollment_free(NULL);
    CHECK(enrollkit_enrollment_page_count(NULL) == 0 && enrollkit_enrollment_page_item(NULL, 0) == NULL);
    CHECK(!enrollkit_enrollment_page_has_more(NULL) && enrollkit_enrollment_page_next_cursor(NULL) == NULL);
    enrollkit_enrollment_page_free(NULL);
    CHECK(enrollkit_user_id(NULL) == NULL && enrollkit_user_email(NULL) == NULL);
    CHECK(enrollkit_user_display_name(NULL) == NULL && enrollkit_user_external_id(NULL) == NULL);
    CHECK(enrollkit_user_department(NULL) == NULL && enrollkit_user_location(NULL) == NULL);
    CHECK(enrollkit_user_manager_id(NULL) == NULL && enrollkit_user_timezone(NULL) == NULL);
    CHECK(enrollkit_user_group_count(NULL) == 0 && enrollkit_user_group(NULL, 0) == NULL);
    CHECK(enrollkit_user_hire_date(NULL) == NULL);
    CHECK(enrollkit_user_partnership_count(NULL) == 0 && enrollkit_user_partnership(NULL, 0) == NULL);
    CHECK(enrollkit_claim_array_count(NULL) == 0 && enrollkit_claim_array_enrollment(NULL, 0) == NULL);
    CHECK(enrollkit_claim_array_step_id(NULL, 0) == NULL);
    enrollkit_claim_array_free(NULL);
    enrollkit_user_free(NULL);
    CHECK(enrollkit_user_array_count(NULL) == 0 && enrollkit_user_array_item(NULL, 0) == NULL);
    enrollkit_user_array_free(NULL);
    CHECK(enrollkit_program_id(NULL) == NULL && enrollkit_program_kind(NULL) == NULL);
    CHECK(enrollkit_program_title(NULL) == NULL && enrollkit_program_description(NULL) == NULL);
    CHECK(enrollkit_program_state(NULL) == NULL && !enrollkit_program_self_enrollment(NULL));
    CHECK(!enrollkit_program_passing_score(NULL, &d) && !enrollkit_program_max_attempts(NULL, &u32) && u32 == 7);
    CHECK(enrollkit_program_created_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_program_updated_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_program_step_count(NULL) == 0 && enrollkit_program_step_id(NULL, 0) == NULL);
    CHECK(enrollkit_program_step_type(NULL, 0) == NULL && enrollkit_program_step_title(NULL, 0) == NULL);
    CHECK(!enrollkit_program_step_learner_completable(NULL, 0));
    CHECK(!enrollkit_program_step_has_schedule(NULL, 0) && enrollkit_program_step_schedule_after(NULL, 0) == NULL);
    CHECK(enrollkit_program_step_schedule_delay(NULL, 0) == 0 && enrollkit_program_step_schedule_unit(NULL, 0) == NULL);
    CHECK(enrollkit_program_step_schedule_at(NULL, 0) == NULL);
    CHECK(enrollkit_program_enroll_opens_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_program_enroll_closes_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_program_deadline_kind(NULL) == NULL && enrollkit_program_deadline_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_program_deadline_after_days(NULL) == 0);
    CHECK(!enrollkit_program_capacity(NULL, &u32) && u32 == 7 && !enrollkit_program_waitlist(NULL));
    CHECK(enrollkit_program_prerequisite_count(NULL) == 0 && enrollkit_program_prerequisite(NULL, 0) == NULL);
    enrollkit_program_free(NULL);
    CHECK(enrollkit_program_array_count(NULL) == 0 && enrollkit_program_array_item(NULL, 0) == NULL);
    enrollkit_program_array_free(NULL);
    CHECK(enrollkit_event_seq(NULL) == 0 && enrollkit_event_enrollment_id(NULL) == NULL);
    CHECK(enrollkit_event_user_id(NULL) == NULL && enrollkit_event_program_id(NULL) == NULL);
    CHECK(enrollkit_event_action(NULL) == NULL && enrollkit_event_from_status(NULL) == NULL);
    CHECK(enrollkit_event_to_status(NULL) == NULL && enrollkit_event_actor(NULL) == NULL);
    CHECK(enrollkit_event_reason(NULL) == NULL && enrollkit_event_at(NULL) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_event_array_count(NULL) == 0 && enrollkit_event_array_item(NULL, 0) == NULL);
    enrollkit_event_array_free(NULL);
    CHECK(enrollkit_enroll_outcomes_count(NULL) == 0 && enrollkit_enroll_outcomes_kind(NULL, 0) == ENROLLKIT_OUTCOME_NONE);
    CHECK(enrollkit_enroll_outcomes_enrollment(NULL, 0) == NULL && enrollkit_enroll_outcomes_existing_id(NULL, 0) == NULL);
    CHECK(enrollkit_enroll_outcomes_error(NULL, 0) == ENROLLKIT_RESULT_OK);
    CHECK(enrollkit_enroll_outcomes_error_message(NULL, 0) == NULL && enrollkit_enroll_outcomes_error_details(NULL, 0) == NULL);
    CHECK(enrollkit_enroll_outcomes_user_id(NULL, 0) == NULL);
    enrollkit_enroll_outcomes_free(NULL);
    /* Reading a NULL handle leaves the last error as it was. */
    NUL(enrollkit_user_batch_new(NULL));
    CHECK(enrollkit_enrollment_id(NULL) == NULL);
    CHECK(last_details_have("\"code\":\"null_parameter\""));

    /* Builders. */
    NUL(enrollkit_user_batch_new(NULL));
    NUL(enrollkit_user_batch_add(NULL, "u"));
    NUL(enrollkit_user_batch_set(NULL, ENROLLKIT_USER_FIELD_EMAIL, NULL));
    NUL(enrollkit_user_batch_add_group(NULL, "g"));
    NUL(enrollkit_user_batch_add_partnership(NULL, "p"));
    CHECK(enrollkit_user_batch_count(NULL) == 0);
    enrollkit_user_batch_clear(NULL);
    enrollkit_user_batch_free(NULL);
    enrollkit_user_batch *ub = NULL;
    OK(enrollkit_user_batch_new(&ub));
    NUL(enrollkit_user_batch_add(ub, NULL));
    UTF(enrollkit_user_batch_add(ub, BAD));
    OK(enrollkit_user_batch_add(ub, "nb"));
    UTF(enrollkit_user_batch_set(ub, ENROLLKIT_USER_FIELD_EMAIL, BAD));
    NUL(enrollkit_user_batch_add_group(ub, NULL));
    UTF(enrollkit_user_batch_add_group(ub, BAD));
    NUL(enrollkit_user_batch_add_partnership(ub, NULL));
    UTF(enrollkit_user_batch_add_partnership(ub, BAD));
    NUL(enrollkit_users_upsert_typed(NULL, ub, NULL));
    NUL(enrollkit_users_upsert_typed(s, NULL, NULL));
    enrollkit_user_batch_free(ub);
    NUL(enrollkit_enroll_batch_new(NULL));
    NUL(enrollkit_enroll_batch_add(NULL, ENROLLKIT_USER_BY_ID, "u", "p"));
    NUL(enrollkit_enroll_batch_set(NULL, ENROLLKIT_ENROLL_ID, NULL));
    NUL(enrollkit_enroll_batch_set_flag(NULL, ENROLLKIT_ENROLL_AS_BATCH, true));
    CHECK(enrollkit_enroll_batch_count(NULL) == 0);
    enrollkit_enroll_batch_clear(NULL);
    enrollkit_enroll_batch_free(NULL);
    enrollkit_enroll_batch *eb = NULL;
    OK(enrollkit_enroll_batch_new(&eb));
    NUL(enrollkit_enroll_batch_add(eb, ENROLLKIT_USER_BY_ID, NULL, "p"));
    NUL(enrollkit_enroll_batch_add(eb, ENROLLKIT_USER_BY_ID, "u", NULL));
    UTF(enrollkit_enroll_batch_add(eb, ENROLLKIT_USER_BY_ID, BAD, "p"));
    UTF(enrollkit_enroll_batch_add(eb, ENROLLKIT_USER_BY_ID, "u", BAD));
    OK(enrollkit_enroll_batch_add(eb, ENROLLKIT_USER_BY_ID, "u", "p"));
    UTF(enrollkit_enroll_batch_set(eb, ENROLLKIT_ENROLL_ID, BAD));
    UTF(enrollkit_enroll_batch_set(eb, ENROLLKIT_ENROLL_OVERRIDE_PREREQUISITES, BAD));
    enrollkit_enroll_outcomes *o = NULL;
    NUL(enrollkit_enroll_many_typed(NULL, "admin", eb, 0, &o));
    NUL(enrollkit_enroll_many_typed(s, NULL, eb, 0, &o));
    NUL(enrollkit_enroll_many_typed(s, "admin", NULL, 0, &o));
    UTF(enrollkit_enroll_many_typed(s, BAD, eb, 0, &o));
    enrollkit_enroll_batch_free(eb);
    NUL(enrollkit_list_query_new(NULL));
    NUL(enrollkit_list_query_set(NULL, ENROLLKIT_QUERY_STATUS, NULL));
    NUL(enrollkit_list_query_set_enrolled(NULL, 0, 0));
    NUL(enrollkit_list_query_set_completed(NULL, 0, 0));
    NUL(enrollkit_list_query_set_order(NULL, 0));
    NUL(enrollkit_list_query_set_page(NULL, 1, 20));
    NUL(enrollkit_list_query_set_cursor(NULL, NULL, 20));
    enrollkit_list_query_free(NULL);
    enrollkit_list_query *q = NULL;
    OK(enrollkit_list_query_new(&q));
    UTF(enrollkit_list_query_set(q, ENROLLKIT_QUERY_STATUS, BAD));
    UTF(enrollkit_list_query_set_cursor(q, BAD, 20));
    enrollkit_enrollment_page *page = NULL;
    NUL(enrollkit_list_typed(NULL, "admin", q, &page));
    NUL(enrollkit_list_typed(s, NULL, q, &page));
    NUL(enrollkit_list_typed(s, "admin", NULL, &page));
    NUL(enrollkit_list_typed(s, "admin", q, NULL));
    UTF(enrollkit_list_typed(s, BAD, q, &page));
    enrollkit_list_query_free(q);

    /* Operations. */
    const char *A = "admin", *I = "enr_x", *S = "step";
    enrollkit_enrollment *e = NULL;
    NUL(enrollkit_enroll_typed(NULL, A, "u", "p", &e));
    NUL(enrollkit_enroll_typed(s, NULL, "u", "p", &e));
    NUL(enrollkit_enroll_typed(s, A, NULL, "p", &e));
    NUL(enrollkit_enroll_typed(s, A, "u", NULL, &e));
    UTF(enrollkit_enroll_typed(s, BAD, "u", "p", &e));
    UTF(enrollkit_enroll_typed(s, A, BAD, "p", &e));
    UTF(enrollkit_enroll_typed(s, A, "u", BAD, &e));
    NUL(enrollkit_enrollment_get_typed(NULL, A, I, &e));
    NUL(enrollkit_enrollment_get_typed(s, NULL, I, &e));
    NUL(enrollkit_enrollment_get_typed(s, A, NULL, &e));
    NUL(enrollkit_enrollment_get_typed(s, A, I, NULL));
    UTF(enrollkit_enrollment_get_typed(s, BAD, I, &e));
    UTF(enrollkit_enrollment_get_typed(s, A, BAD, &e));
    NUL(enrollkit_set_progress_typed(NULL, A, I, 1, &e));
    NUL(enrollkit_set_progress_typed(s, NULL, I, 1, &e));
    NUL(enrollkit_set_progress_typed(s, A, NULL, 1, &e));
    UTF(enrollkit_set_progress_typed(s, BAD, I, 1, &e));
    UTF(enrollkit_set_progress_typed(s, A, BAD, 1, &e));
    NUL(enrollkit_add_progress_typed(NULL, A, I, 1, &e));
    NUL(enrollkit_add_progress_typed(s, NULL, I, 1, &e));
    NUL(enrollkit_add_progress_typed(s, A, NULL, 1, &e));
    UTF(enrollkit_add_progress_typed(s, BAD, I, 1, &e));
    UTF(enrollkit_add_progress_typed(s, A, BAD, 1, &e));
    NUL(enrollkit_transition_typed(NULL, A, I, 0, &e));
    NUL(enrollkit_transition_typed(s, NULL, I, 0, &e));
    NUL(enrollkit_transition_typed(s, A, NULL, 0, &e));
    UTF(enrollkit_transition_typed(s, BAD, I, 0, &e));
    UTF(enrollkit_transition_typed(s, A, BAD, 0, &e));
    NUL(enrollkit_fail_typed(NULL, A, I, "unknown_error", NULL, &e));
    NUL(enrollkit_fail_typed(s, NULL, I, "unknown_error", NULL, &e));
    NUL(enrollkit_fail_typed(s, A, NULL, "unknown_error", NULL, &e));
    NUL(enrollkit_fail_typed(s, A, I, NULL, NULL, &e));
    UTF(enrollkit_fail_typed(s, BAD, I, "unknown_error", NULL, &e));
    UTF(enrollkit_fail_typed(s, A, BAD, "unknown_error", NULL, &e));
    UTF(enrollkit_fail_typed(s, A, I, BAD, NULL, &e));
    UTF(enrollkit_fail_typed(s, A, I, "unknown_error", BAD, &e));
    NUL(enrollkit_step_start_typed(NULL, A, I, S, &e));
    NUL(enrollkit_step_start_typed(s, NULL, I, S, &e));
    NUL(enrollkit_step_start_typed(s, A, NULL, S, &e));
    NUL(enrollkit_step_start_typed(s, A, I, NULL, &e));
    UTF(enrollkit_step_start_typed(s, BAD, I, S, &e));
    UTF(enrollkit_step_start_typed(s, A, BAD, S, &e));
    UTF(enrollkit_step_start_typed(s, A, I, BAD, &e));
    NUL(enrollkit_step_deliver_typed(NULL, A, I, S, NULL, &e));
    NUL(enrollkit_step_deliver_typed(s, NULL, I, S, NULL, &e));
    NUL(enrollkit_step_deliver_typed(s, A, NULL, S, NULL, &e));
    NUL(enrollkit_step_deliver_typed(s, A, I, NULL, NULL, &e));
    UTF(enrollkit_step_deliver_typed(s, BAD, I, S, NULL, &e));
    UTF(enrollkit_step_deliver_typed(s, A, BAD, S, NULL, &e));
    UTF(enrollkit_step_deliver_typed(s, A, I, BAD, NULL, &e));
    UTF(enrollkit_step_deliver_typed(s, A, I, S, BAD, &e));
    NUL(enrollkit_step_complete_typed(NULL, A, I, S, NULL, &e));
    NUL(enrollkit_step_complete_typed(s, NULL, I, S, NULL, &e));
    NUL(enrollkit_step_complete_typed(s, A, NULL, S, NULL, &e));
    NUL(enrollkit_step_complete_typed(s, A, I, NULL, NULL, &e));
    UTF(enrollkit_step_complete_typed(s, BAD, I, S, NULL, &e));
    UTF(enrollkit_step_complete_typed(s, A, BAD, S, NULL, &e));
    UTF(enrollkit_step_complete_typed(s, A, I, BAD, NULL, &e));
    UTF(enrollkit_step_complete_typed(s, A, I, S, BAD, &e));
    NUL(enrollkit_step_fail_typed(NULL, A, I, S, "r", NULL, &e));
    NUL(enrollkit_step_fail_typed(s, NULL, I, S, "r", NULL, &e));
    NUL(enrollkit_step_fail_typed(s, A, NULL, S, "r", NULL, &e));
    NUL(enrollkit_step_fail_typed(s, A, I, NULL, "r", NULL, &e));
    NUL(enrollkit_step_fail_typed(s, A, I, S, NULL, NULL, &e));
    UTF(enrollkit_step_fail_typed(s, BAD, I, S, "r", NULL, &e));
    UTF(enrollkit_step_fail_typed(s, A, BAD, S, "r", NULL, &e));
    UTF(enrollkit_step_fail_typed(s, A, I, BAD, "r", NULL, &e));
    UTF(enrollkit_step_fail_typed(s, A, I, S, BAD, NULL, &e));
    UTF(enrollkit_step_fail_typed(s, A, I, S, "r", BAD, &e));
    NUL(enrollkit_step_skip_typed(NULL, A, I, S, &e));
    NUL(enrollkit_step_skip_typed(s, NULL, I, S, &e));
    NUL(enrollkit_step_skip_typed(s, A, NULL, S, &e));
    NUL(enrollkit_step_skip_typed(s, A, I, NULL, &e));
    UTF(enrollkit_step_skip_typed(s, BAD, I, S, &e));
    UTF(enrollkit_step_skip_typed(s, A, BAD, S, &e));
    UTF(enrollkit_step_skip_typed(s, A, I, BAD, &e));
    NUL(enrollkit_attempt_submit_typed(NULL, A, I, 1, &e));
    NUL(enrollkit_attempt_submit_typed(s, NULL, I, 1, &e));
    NUL(enrollkit_attempt_submit_typed(s, A, NULL, 1, &e));
    UTF(enrollkit_attempt_submit_typed(s, BAD, I, 1, &e));
    UTF(enrollkit_attempt_submit_typed(s, A, BAD, 1, &e));
    NUL(enrollkit_assign_mentor_typed(NULL, A, I, NULL, &e));
    NUL(enrollkit_assign_mentor_typed(s, NULL, I, NULL, &e));
    NUL(enrollkit_assign_mentor_typed(s, A, NULL, NULL, &e));
    UTF(enrollkit_assign_mentor_typed(s, BAD, I, NULL, &e));
    UTF(enrollkit_assign_mentor_typed(s, A, BAD, NULL, &e));
    UTF(enrollkit_assign_mentor_typed(s, A, I, BAD, &e));
    NUL(enrollkit_set_next_step_at_typed(NULL, A, I, 0, &e));
    NUL(enrollkit_set_next_step_at_typed(s, NULL, I, 0, &e));
    NUL(enrollkit_set_next_step_at_typed(s, A, NULL, 0, &e));
    UTF(enrollkit_set_next_step_at_typed(s, BAD, I, 0, &e));
    UTF(enrollkit_set_next_step_at_typed(s, A, BAD, 0, &e));
    CHECK(e == NULL); /* nothing was ever written */
    NUL(enrollkit_lineage_typed(NULL, A, "u", "p", &page));
    NUL(enrollkit_lineage_typed(s, NULL, "u", "p", &page));
    NUL(enrollkit_lineage_typed(s, A, NULL, "p", &page));
    NUL(enrollkit_lineage_typed(s, A, "u", NULL, &page));
    NUL(enrollkit_lineage_typed(s, A, "u", "p", NULL));
    UTF(enrollkit_lineage_typed(s, BAD, "u", "p", &page));
    UTF(enrollkit_lineage_typed(s, A, BAD, "p", &page));
    UTF(enrollkit_lineage_typed(s, A, "u", BAD, &page));
    NUL(enrollkit_waitlist_typed(NULL, A, "p", 1, &page));
    NUL(enrollkit_waitlist_typed(s, NULL, "p", 1, &page));
    NUL(enrollkit_waitlist_typed(s, A, NULL, 1, &page));
    NUL(enrollkit_waitlist_typed(s, A, "p", 1, NULL));
    UTF(enrollkit_waitlist_typed(s, BAD, "p", 1, &page));
    UTF(enrollkit_waitlist_typed(s, A, BAD, 1, &page));
    enrollkit_user *u = NULL;
    NUL(enrollkit_user_get_typed(NULL, "u", &u));
    NUL(enrollkit_user_get_typed(s, NULL, &u));
    NUL(enrollkit_user_get_typed(s, "u", NULL));
    UTF(enrollkit_user_get_typed(s, BAD, &u));
    NUL(enrollkit_user_find_typed(NULL, 0, "u", &u));
    NUL(enrollkit_user_find_typed(s, 0, NULL, &u));
    NUL(enrollkit_user_find_typed(s, 0, "u", NULL));
    UTF(enrollkit_user_find_typed(s, 0, BAD, &u));
    enrollkit_user_array *ua = NULL;
    NUL(enrollkit_user_list_typed(NULL, NULL, 1, &ua));
    NUL(enrollkit_user_list_typed(s, NULL, 1, NULL));
    UTF(enrollkit_user_list_typed(s, BAD, 1, &ua));
    enrollkit_program *p = NULL;
    NUL(enrollkit_program_get_typed(NULL, "p", &p));
    NUL(enrollkit_program_get_typed(s, NULL, &p));
    NUL(enrollkit_program_get_typed(s, "p", NULL));
    UTF(enrollkit_program_get_typed(s, BAD, &p));
    enrollkit_program_array *pa = NULL;
    NUL(enrollkit_program_list_typed(NULL, NULL, NULL, NULL, 1, &pa));
    NUL(enrollkit_program_list_typed(s, NULL, NULL, NULL, 1, NULL));
    UTF(enrollkit_program_list_typed(s, BAD, NULL, NULL, 1, &pa));
    UTF(enrollkit_program_list_typed(s, NULL, BAD, NULL, 1, &pa));
    UTF(enrollkit_program_list_typed(s, NULL, NULL, BAD, 1, &pa));
    enrollkit_event_array *ev = NULL;
    NUL(enrollkit_history_typed(NULL, A, I, &ev));
    NUL(enrollkit_history_typed(s, NULL, I, &ev));
    NUL(enrollkit_history_typed(s, A, NULL, &ev));
    NUL(enrollkit_history_typed(s, A, I, NULL));
    UTF(enrollkit_history_typed(s, BAD, I, &ev));
    UTF(enrollkit_history_typed(s, A, BAD, &ev));
    enrollkit_claim_array *ca = NULL;
    NUL(enrollkit_claim_due_typed(NULL, "w", NULL, 1, 1000, &ca));
    NUL(enrollkit_claim_due_typed(s, NULL, NULL, 1, 1000, &ca));
    UTF(enrollkit_claim_due_typed(s, BAD, NULL, 1, 1000, &ca));
    UTF(enrollkit_claim_due_typed(s, "w", BAD, 1, 1000, &ca));
    NUL(enrollkit_due_typed(NULL, A, NULL, ENROLLKIT_TIME_ABSENT, 1, &ca));
    NUL(enrollkit_due_typed(s, NULL, NULL, ENROLLKIT_TIME_ABSENT, 1, &ca));
    NUL(enrollkit_due_typed(s, A, NULL, ENROLLKIT_TIME_ABSENT, 1, NULL));
    UTF(enrollkit_due_typed(s, BAD, NULL, ENROLLKIT_TIME_ABSENT, 1, &ca));
    UTF(enrollkit_due_typed(s, A, BAD, ENROLLKIT_TIME_ABSENT, 1, &ca));
    NUL(enrollkit_claim_renew_typed(NULL, "w", I, 1000, &e));
    NUL(enrollkit_claim_renew_typed(s, NULL, I, 1000, &e));
    NUL(enrollkit_claim_renew_typed(s, "w", NULL, 1000, &e));
    UTF(enrollkit_claim_renew_typed(s, BAD, I, 1000, &e));
    UTF(enrollkit_claim_renew_typed(s, "w", BAD, 1000, &e));
    NUL(enrollkit_claim_deliver_typed(NULL, "w", I, NULL, &e));
    NUL(enrollkit_claim_deliver_typed(s, NULL, I, NULL, &e));
    NUL(enrollkit_claim_deliver_typed(s, "w", NULL, NULL, &e));
    UTF(enrollkit_claim_deliver_typed(s, BAD, I, NULL, &e));
    UTF(enrollkit_claim_deliver_typed(s, "w", BAD, NULL, &e));
    UTF(enrollkit_claim_deliver_typed(s, "w", I, BAD, &e));
    NUL(enrollkit_claim_complete_typed(NULL, "w", I, NULL, &e));
    NUL(enrollkit_claim_complete_typed(s, NULL, I, NULL, &e));
    NUL(enrollkit_claim_complete_typed(s, "w", NULL, NULL, &e));
    UTF(enrollkit_claim_complete_typed(s, BAD, I, NULL, &e));
    UTF(enrollkit_claim_complete_typed(s, "w", BAD, NULL, &e));
    UTF(enrollkit_claim_complete_typed(s, "w", I, BAD, &e));
    NUL(enrollkit_claim_fail_typed(NULL, "w", I, "r", NULL, &e));
    NUL(enrollkit_claim_fail_typed(s, NULL, I, "r", NULL, &e));
    NUL(enrollkit_claim_fail_typed(s, "w", NULL, "r", NULL, &e));
    NUL(enrollkit_claim_fail_typed(s, "w", I, NULL, NULL, &e));
    UTF(enrollkit_claim_fail_typed(s, BAD, I, "r", NULL, &e));
    UTF(enrollkit_claim_fail_typed(s, "w", BAD, "r", NULL, &e));
    UTF(enrollkit_claim_fail_typed(s, "w", I, BAD, NULL, &e));
    UTF(enrollkit_claim_fail_typed(s, "w", I, "r", BAD, &e));
    NUL(enrollkit_claim_skip_typed(NULL, "w", I, &e));
    NUL(enrollkit_claim_skip_typed(s, NULL, I, &e));
    NUL(enrollkit_claim_skip_typed(s, "w", NULL, &e));
    UTF(enrollkit_claim_skip_typed(s, BAD, I, &e));
    UTF(enrollkit_claim_skip_typed(s, "w", BAD, &e));
    NUL(enrollkit_claim_release_typed(NULL, "w", I, &e));
    NUL(enrollkit_claim_release_typed(s, NULL, I, &e));
    NUL(enrollkit_claim_release_typed(s, "w", NULL, &e));
    UTF(enrollkit_claim_release_typed(s, BAD, I, &e));
    UTF(enrollkit_claim_release_typed(s, "w", BAD, &e));
    enrollkit_enroll_outcomes *ao = NULL;
    NUL(enrollkit_enroll_anniversaries_typed(NULL, A, "p", "2026-03-10", &ao));
    NUL(enrollkit_enroll_anniversaries_typed(s, NULL, "p", "2026-03-10", &ao));
    NUL(enrollkit_enroll_anniversaries_typed(s, A, NULL, "2026-03-10", &ao));
    NUL(enrollkit_enroll_anniversaries_typed(s, A, "p", NULL, &ao));
    UTF(enrollkit_enroll_anniversaries_typed(s, BAD, "p", "2026-03-10", &ao));
    UTF(enrollkit_enroll_anniversaries_typed(s, A, BAD, "2026-03-10", &ao));
    UTF(enrollkit_enroll_anniversaries_typed(s, A, "p", BAD, &ao));
    CHECK(ca == NULL && ao == NULL);
    NUL(enrollkit_events_after_typed(NULL, A, 0, 1, &ev));
    NUL(enrollkit_events_after_typed(s, NULL, 0, 1, &ev));
    NUL(enrollkit_events_after_typed(s, A, 0, 1, NULL));
    UTF(enrollkit_events_after_typed(s, BAD, 0, 1, &ev));
    CHECK(o == NULL && page == NULL && u == NULL && ua == NULL && p == NULL && pa == NULL && ev == NULL);
}

/* Step schedules: read back from a typed program; next_step_at computed by the engine in the
 * enrollee's time zone (New York, across its change to summer time on 2027-03-14); a pause
 * sets paused_at, and resuming moves the pending step by the time spent paused. */
static void test_typed_schedules(enrollkit_store *s) {
    OK(enrollkit_program_create(s, "{\"id\":\"drip\",\"kind\":\"track\",\"title\":\"Drip\",\"state\":\"active\",\"steps\":["
                                   "{\"id\":\"welcome\",\"step_type\":\"message\",\"title\":\"Welcome\",\"learner_completable\":false},"
                                   "{\"id\":\"tip\",\"step_type\":\"message\",\"title\":\"Tip\",\"learner_completable\":false,"
                                   "\"schedule\":{\"after\":\"previous_step\",\"delay\":1,\"unit\":\"business_days\",\"at\":\"09:00\"}},"
                                   "{\"id\":\"survey\",\"step_type\":\"message\",\"title\":\"Survey\",\"learner_completable\":false,"
                                   "\"schedule\":{\"after\":\"start\",\"delay\":3,\"unit\":\"days\",\"at\":\"09:00\"}},"
                                   "{\"id\":\"nudge\",\"step_type\":\"message\",\"title\":\"Nudge\",\"learner_completable\":false,"
                                   "\"schedule\":{\"after\":\"previous_step\",\"delay\":90,\"unit\":\"minutes\"}}]}", NULL));
    enrollkit_program *p = NULL;
    OK(enrollkit_program_get_typed(s, "drip", &p));
    CHECK(enrollkit_program_step_count(p) == 4);
    CHECK(!enrollkit_program_step_has_schedule(p, 0));
    CHECK(enrollkit_program_step_schedule_after(p, 0) == NULL && enrollkit_program_step_schedule_delay(p, 0) == 0);
    CHECK(enrollkit_program_step_schedule_unit(p, 0) == NULL && enrollkit_program_step_schedule_at(p, 0) == NULL);
    CHECK(enrollkit_program_step_has_schedule(p, 1));
    CHECK(STREQ(enrollkit_program_step_schedule_after(p, 1), "previous_step"));
    CHECK(enrollkit_program_step_schedule_delay(p, 1) == 1);
    CHECK(STREQ(enrollkit_program_step_schedule_unit(p, 1), "business_days"));
    CHECK(STREQ(enrollkit_program_step_schedule_at(p, 1), "09:00"));
    CHECK(STREQ(enrollkit_program_step_schedule_after(p, 2), "start"));
    CHECK(enrollkit_program_step_schedule_delay(p, 2) == 3 && STREQ(enrollkit_program_step_schedule_unit(p, 2), "days"));
    CHECK(enrollkit_program_step_schedule_at(p, 1) == enrollkit_program_step_schedule_at(p, 1)); /* lent again */
    CHECK(enrollkit_program_step_has_schedule(p, 3) && enrollkit_program_step_schedule_delay(p, 3) == 90);
    CHECK(STREQ(enrollkit_program_step_schedule_unit(p, 3), "minutes"));
    CHECK(enrollkit_program_step_schedule_at(p, 3) == NULL); /* keeps the anchor's time of day */
    CHECK(!enrollkit_program_step_has_schedule(p, 4) && enrollkit_program_step_schedule_after(p, 4) == NULL);
    CHECK(enrollkit_program_step_schedule_delay(p, 4) == 0 && enrollkit_program_step_schedule_unit(p, 4) == NULL);
    CHECK(enrollkit_program_step_schedule_at(p, 4) == NULL);
    enrollkit_program_free(p);
    OK(enrollkit_program_get_typed(s, "trk", &p)); /* no schedules */
    CHECK(!enrollkit_program_step_has_schedule(p, 0) && !enrollkit_program_step_has_schedule(p, 1));
    enrollkit_program_free(p);

    /* Refused: a course's step with a schedule, a time of day with hours, an unknown unit or
     * time, a time zone the IANA database does not have. */
    EXPECT(enrollkit_program_create(s, "{\"id\":\"c9\",\"kind\":\"course\",\"title\":\"C\",\"state\":\"active\",\"steps\":["
                                       "{\"id\":\"a\",\"step_type\":\"lesson\",\"title\":\"A\",\"learner_completable\":true,"
                                       "\"schedule\":{\"after\":\"start\",\"delay\":1,\"unit\":\"days\"}}]}", NULL),
           ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"schedule\""));
    EXPECT(enrollkit_program_create(s, "{\"id\":\"t9\",\"kind\":\"track\",\"title\":\"T\",\"state\":\"active\",\"steps\":["
                                       "{\"id\":\"a\",\"step_type\":\"message\",\"title\":\"A\",\"learner_completable\":false,"
                                       "\"schedule\":{\"after\":\"start\",\"delay\":1,\"unit\":\"hours\",\"at\":\"09:00\"}}]}", NULL),
           ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"schedule.at\""));
    EXPECT(enrollkit_program_create(s, "{\"id\":\"t9\",\"kind\":\"track\",\"title\":\"T\",\"state\":\"active\",\"steps\":["
                                       "{\"id\":\"a\",\"step_type\":\"message\",\"title\":\"A\",\"learner_completable\":false,"
                                       "\"schedule\":{\"after\":\"start\",\"delay\":1,\"unit\":\"weeks\"}}]}", NULL),
           ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_program_create(s, "{\"id\":\"t9\",\"kind\":\"track\",\"title\":\"T\",\"state\":\"active\",\"steps\":["
                                       "{\"id\":\"a\",\"step_type\":\"message\",\"title\":\"A\",\"learner_completable\":false,"
                                       "\"schedule\":{\"after\":\"start\",\"delay\":1,\"unit\":\"days\",\"at\":\"25:00\"}}]}", NULL),
           ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_user_upsert(s, "{\"id\":\"mars\",\"timezone\":\"Mars/Olympus\"}", NULL), ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"timezone\""));

    /* Friday 2027-03-12 16:00 in New York (21:00Z). */
    static const int64_t FRI_2100 = 1804885200000LL, MON_1300 = 1805115600000LL, SAT_1200 = 1804939200000LL;
    OK(enrollkit_user_upsert(s, "{\"id\":\"ny\",\"timezone\":\"America/New_York\"}", NULL));
    OK(enrollkit_store_set_time(s, "2027-03-12T21:00:00Z"));
    enrollkit_enrollment *e = NULL;
    char id[64];
    OK(enrollkit_enroll_typed(s, "system", "ny", "drip", &e));
    snprintf(id, sizeof id, "%s", enrollkit_enrollment_id(e));
    CHECK(STREQ(enrollkit_enrollment_timezone(e), "America/New_York"));
    CHECK(enrollkit_enrollment_next_step_at(e) == FRI_2100); /* the welcome, at once */
    CHECK(enrollkit_enrollment_paused_at(e) == ENROLLKIT_TIME_ABSENT);
    enrollkit_enrollment_free(e);
    OK(enrollkit_store_advance_time(s, 5 * 60 * 1000));
    OK(enrollkit_step_deliver_typed(s, "system", id, "welcome", NULL, &e));
    CHECK(enrollkit_enrollment_next_step_at(e) == MON_1300); /* the next business day at 09:00 EDT */
    enrollkit_enrollment_free(e);
    OK(enrollkit_store_set_time(s, "2027-03-13T12:00:00Z"));
    OK(enrollkit_transition_typed(s, "admin", id, ENROLLKIT_COMMAND_PAUSE, &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "paused") && enrollkit_enrollment_paused_at(e) == SAT_1200);
    CHECK(enrollkit_enrollment_next_step_at(e) == MON_1300);
    enrollkit_enrollment_free(e);
    OK(enrollkit_store_advance_time(s, (2 * 24 + 3) * 3600 * 1000LL));
    OK(enrollkit_transition_typed(s, "admin", id, ENROLLKIT_COMMAND_RESUME, &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "active") && enrollkit_enrollment_paused_at(e) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_enrollment_next_step_at(e) == MON_1300 + (2 * 24 + 3) * 3600 * 1000LL);
    enrollkit_enrollment_free(e);
}

/* The due-work queue and work anniversaries through the typed functions, on the manual clock:
 * claims and their leases (a worker whose lease ended is refused, changing nothing), each way
 * to end a claim, and anniversaries starting at midnight in each user's time zone. */
static void test_typed_queue(enrollkit_store *s) {
    /* 2026-06-01T08:00:00Z, and 2026-06-03T09:00:00Z (two days later at 09:00, UTC). */
    static const int64_t JUN1 = 1780300800000LL, JUN3_0900 = 1780477200000LL;
    OK(enrollkit_store_set_time(s, "2026-06-01T08:00:00Z"));
    OK(enrollkit_program_create(s, "{\"id\":\"tq\",\"kind\":\"track\",\"title\":\"Queue\",\"state\":\"active\",\"steps\":["
                                   "{\"id\":\"one\",\"step_type\":\"message\",\"title\":\"One\",\"learner_completable\":false},"
                                   "{\"id\":\"two\",\"step_type\":\"message\",\"title\":\"Two\",\"learner_completable\":false,"
                                   "\"schedule\":{\"after\":\"previous_step\",\"delay\":0,\"unit\":\"minutes\"}},"
                                   "{\"id\":\"three\",\"step_type\":\"message\",\"title\":\"Three\",\"learner_completable\":false,"
                                   "\"schedule\":{\"after\":\"previous_step\",\"delay\":2,\"unit\":\"days\",\"at\":\"09:00\"}}]}", NULL));
    enrollkit_enrollment *e = NULL, *untouched_e = (enrollkit_enrollment *)0x1;
    char a[64], b[64];
    OK(enrollkit_enroll_typed(s, "system", "u1", "tq", &e));
    snprintf(a, sizeof a, "%s", enrollkit_enrollment_id(e));
    CHECK(enrollkit_enrollment_next_step_at(e) == JUN1);
    CHECK(enrollkit_enrollment_claimed_by(e) == NULL && enrollkit_enrollment_lease_until(e) == ENROLLKIT_TIME_ABSENT);
    enrollkit_enrollment_free(e);
    OK(enrollkit_enroll_typed(s, "system", "u2", "tq", &e));
    snprintf(b, sizeof b, "%s", enrollkit_enrollment_id(e));
    enrollkit_enrollment_free(e);

    enrollkit_claim_array *c = NULL, *untouched_c = (enrollkit_claim_array *)0x1;
    OK(enrollkit_claim_due_typed(s, "w1", NULL, 1, 1000, &c));
    CHECK(enrollkit_claim_array_count(c) == 1);
    const enrollkit_enrollment *ce = enrollkit_claim_array_enrollment(c, 0);
    CHECK(STREQ(enrollkit_enrollment_id(ce), a)); /* the oldest due first */
    CHECK(STREQ(enrollkit_enrollment_status(ce), "processing"));
    CHECK(STREQ(enrollkit_enrollment_claimed_by(ce), "w1"));
    CHECK(enrollkit_enrollment_claimed_by(ce) == enrollkit_enrollment_claimed_by(ce)); /* lent again */
    CHECK(enrollkit_enrollment_lease_until(ce) == JUN1 + 1000);
    CHECK(STREQ(enrollkit_claim_array_step_id(c, 0), "one"));
    CHECK(enrollkit_claim_array_enrollment(c, 1) == NULL && enrollkit_claim_array_step_id(c, 1) == NULL);
    enrollkit_claim_array_free(c);
    OK(enrollkit_claim_due_typed(s, "w2", NULL, 10, 60000, &c));
    CHECK(enrollkit_claim_array_count(c) == 1);
    CHECK(STREQ(enrollkit_enrollment_id(enrollkit_claim_array_enrollment(c, 0)), b));
    enrollkit_claim_array_free(c);
    OK(enrollkit_claim_due_typed(s, "w3", NULL, 10, 60000, &c));
    CHECK(enrollkit_claim_array_count(c) == 0 && enrollkit_claim_array_enrollment(c, 0) == NULL);
    enrollkit_claim_array_free(c);

    /* w1's lease ends: w3 takes the claim over, and w1's late delivery changes nothing. */
    OK(enrollkit_store_advance_time(s, 1000));
    OK(enrollkit_claim_due_typed(s, "w3", NULL, 10, 60000, &c));
    CHECK(enrollkit_claim_array_count(c) == 1);
    CHECK(STREQ(enrollkit_enrollment_claimed_by(enrollkit_claim_array_enrollment(c, 0)), "w3"));
    enrollkit_claim_array_free(c);
    EXPECT(enrollkit_claim_deliver_typed(s, "w1", a, NULL, &untouched_e), ENROLLKIT_RESULT_CONFLICT);
    CHECK(untouched_e == (enrollkit_enrollment *)0x1);
    OK(enrollkit_claim_deliver_typed(s, "w3", a, "user", &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "active") && enrollkit_enrollment_claimed_by(e) == NULL);
    CHECK(enrollkit_enrollment_lease_until(e) == ENROLLKIT_TIME_ABSENT && enrollkit_enrollment_steps_delivered(e) == 1);
    CHECK(enrollkit_enrollment_next_step_at(e) == JUN1 + 1000); /* step two: 0 minutes later */
    enrollkit_enrollment_free(e);
    OK(enrollkit_claim_due_typed(s, "w3", NULL, 10, 60000, &c));
    CHECK(STREQ(enrollkit_claim_array_step_id(c, 0), "two"));
    enrollkit_claim_array_free(c);
    EXPECT(enrollkit_claim_complete_typed(s, "w3", a, "[1]", NULL), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_claim_complete_typed(s, "w3", a, "{\"ok\":true}", &e));
    CHECK(enrollkit_enrollment_steps_completed(e) == 1 && enrollkit_enrollment_next_step_at(e) == JUN3_0900);
    enrollkit_enrollment_free(e);
    OK(enrollkit_claim_due_typed(s, "w3", NULL, 10, 60000, NULL)); /* nothing due: three is days away */

    /* b: released (still due), failed, skipped. */
    OK(enrollkit_claim_release_typed(s, "w2", b, &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "active") && enrollkit_enrollment_next_step_at(e) == JUN1);
    enrollkit_enrollment_free(e);
    EXPECT(enrollkit_claim_release_typed(s, "w2", b, NULL), ENROLLKIT_RESULT_CONFLICT);
    OK(enrollkit_claim_due_typed(s, "w2", NULL, 10, 60000, NULL));
    OK(enrollkit_claim_fail_typed(s, "w2", b, "bounced", "Mailbox full", &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "active"));
    enrollkit_enrollment_free(e);
    OK(enrollkit_claim_due_typed(s, "w2", NULL, 10, 60000, NULL));
    OK(enrollkit_claim_skip_typed(s, "w2", b, &e));
    CHECK(enrollkit_enrollment_steps_skipped(e) == 1);
    enrollkit_enrollment_free(e);
    EXPECT(enrollkit_claim_skip_typed(s, "w2", b, NULL), ENROLLKIT_RESULT_CONFLICT);
    EXPECT(enrollkit_claim_due_typed(s, "w2", NULL, 1001, 60000, &untouched_c), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_claim_due_typed(s, "w2", NULL, 10, 0, &untouched_c), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_claim_due_typed(s, "w2", NULL, 10, ENROLLKIT_MAX_LEASE_MS + 1, &untouched_c), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_claim_due_typed(s, " w2", NULL, 10, 1000, &untouched_c), ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"worker_id\""));
    CHECK(untouched_c == (enrollkit_claim_array *)0x1);
    OK(enrollkit_claim_due_typed(s, "w2", NULL, 10, ENROLLKIT_MAX_LEASE_MS, NULL));

    /* The queue read without claiming: tq's work is two days ahead, listed all the same. */
    const int64_t now = JUN1 + 1000;
    OK(enrollkit_due_typed(s, "admin", "tq", ENROLLKIT_TIME_ABSENT, 10, &c));
    CHECK(enrollkit_claim_array_count(c) == 2);
    CHECK(STREQ(enrollkit_enrollment_id(enrollkit_claim_array_enrollment(c, 0)), a));
    CHECK(STREQ(enrollkit_enrollment_id(enrollkit_claim_array_enrollment(c, 1)), b));
    CHECK(STREQ(enrollkit_claim_array_step_id(c, 0), "three") && STREQ(enrollkit_claim_array_step_id(c, 1), "three"));
    CHECK(enrollkit_enrollment_next_step_at(enrollkit_claim_array_enrollment(c, 0)) == JUN3_0900);
    CHECK(enrollkit_enrollment_claimed_by(enrollkit_claim_array_enrollment(c, 0)) == NULL);
    enrollkit_claim_array_free(c);
    OK(enrollkit_due_typed(s, "system", "tq", now, 10, &c)); /* nothing due by now */
    CHECK(enrollkit_claim_array_count(c) == 0);
    enrollkit_claim_array_free(c);

    /* tq2: x due now, y a second later; and new work in tq, due now too. */
    OK(enrollkit_program_create(s, "{\"id\":\"tq2\",\"kind\":\"track\",\"title\":\"Queue 2\",\"state\":\"active\",\"steps\":["
                                   "{\"id\":\"one\",\"step_type\":\"message\",\"title\":\"One\",\"learner_completable\":false},"
                                   "{\"id\":\"two\",\"step_type\":\"message\",\"title\":\"Two\",\"learner_completable\":false,"
                                   "\"schedule\":{\"after\":\"previous_step\",\"delay\":1,\"unit\":\"days\"}}]}", NULL));
    char x[64], y[64], z[64];
    OK(enrollkit_enroll_typed(s, "system", "u1", "tq2", &e));
    snprintf(x, sizeof x, "%s", enrollkit_enrollment_id(e));
    enrollkit_enrollment_free(e);
    OK(enrollkit_store_advance_time(s, 1000));
    OK(enrollkit_enroll_typed(s, "system", "u2", "tq2", &e));
    snprintf(y, sizeof y, "%s", enrollkit_enrollment_id(e));
    enrollkit_enrollment_free(e);
    OK(enrollkit_enroll_typed(s, "system", "m1", "tq", &e));
    snprintf(z, sizeof z, "%s", enrollkit_enrollment_id(e));
    enrollkit_enrollment_free(e);
    OK(enrollkit_due_typed(s, "admin", "tq2", ENROLLKIT_TIME_ABSENT, 10, &c));
    CHECK(enrollkit_claim_array_count(c) == 2);
    CHECK(STREQ(enrollkit_enrollment_id(enrollkit_claim_array_enrollment(c, 0)), x));
    CHECK(STREQ(enrollkit_enrollment_id(enrollkit_claim_array_enrollment(c, 1)), y));
    CHECK(enrollkit_enrollment_next_step_at(enrollkit_claim_array_enrollment(c, 0)) == now);
    CHECK(STREQ(enrollkit_claim_array_step_id(c, 0), "one"));
    CHECK(enrollkit_claim_array_enrollment(c, 2) == NULL && enrollkit_claim_array_step_id(c, 2) == NULL);
    enrollkit_claim_array_free(c);
    OK(enrollkit_due_typed(s, "admin", "tq2", now, 10, &c)); /* until: at or before */
    CHECK(enrollkit_claim_array_count(c) == 1);
    CHECK(STREQ(enrollkit_enrollment_id(enrollkit_claim_array_enrollment(c, 0)), x));
    enrollkit_claim_array_free(c);
    OK(enrollkit_due_typed(s, "admin", "tq2", ENROLLKIT_TIME_ABSENT, 1, &c));
    CHECK(enrollkit_claim_array_count(c) == 1);
    enrollkit_claim_array_free(c);
    OK(enrollkit_due_typed(s, "admin", NULL, ENROLLKIT_TIME_ABSENT, 1000, &c)); /* every program's */
    {
        size_t ix = SIZE_MAX, iy = SIZE_MAX, iz = SIZE_MAX, ia = SIZE_MAX;
        for (size_t i = 0; i < enrollkit_claim_array_count(c); i++) {
            const char *id = enrollkit_enrollment_id(enrollkit_claim_array_enrollment(c, i));
            if (strcmp(id, x) == 0) ix = i;
            if (strcmp(id, y) == 0) iy = i;
            if (strcmp(id, z) == 0) iz = i;
            if (strcmp(id, a) == 0) ia = i;
        }
        CHECK(ix < iy && iy < ia && iz < ia); /* soonest first */
    }
    enrollkit_claim_array_free(c);
    EXPECT(enrollkit_due_typed(s, "learner:u1", NULL, ENROLLKIT_TIME_ABSENT, 10, &untouched_c), ENROLLKIT_RESULT_PERMISSION_DENIED);
    EXPECT(enrollkit_due_typed(s, "admin", "ghost", ENROLLKIT_TIME_ABSENT, 10, &untouched_c), ENROLLKIT_RESULT_NOT_FOUND);
    EXPECT(enrollkit_due_typed(s, "admin", NULL, ENROLLKIT_TIME_ABSENT, 1001, &untouched_c), ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"limit\""));
    EXPECT(enrollkit_due_typed(s, "admin", NULL, INT64_MAX, 10, &untouched_c), ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"until\""));
    CHECK(untouched_c == (enrollkit_claim_array *)0x1);

    /* A worker of tq2 claims x and y, not z; another worker of every program gets z. */
    OK(enrollkit_claim_due_typed(s, "w5", "tq2", 10, 60000, &c));
    CHECK(enrollkit_claim_array_count(c) == 2);
    for (size_t i = 0; i < enrollkit_claim_array_count(c); i++) {
        const enrollkit_enrollment *ci = enrollkit_claim_array_enrollment(c, i);
        CHECK(STREQ(enrollkit_enrollment_program_id(ci), "tq2") && STREQ(enrollkit_enrollment_claimed_by(ci), "w5"));
        CHECK(enrollkit_enrollment_lease_until(ci) == now + 1000 + 60000);
    }
    enrollkit_claim_array_free(c);
    EXPECT(enrollkit_claim_due_typed(s, "w5", "ghost", 10, 60000, &untouched_c), ENROLLKIT_RESULT_NOT_FOUND);
    CHECK(untouched_c == (enrollkit_claim_array *)0x1);
    OK(enrollkit_claim_due_typed(s, "w6", NULL, 10, 60000, &c));
    CHECK(enrollkit_claim_array_count(c) == 1);
    CHECK(STREQ(enrollkit_enrollment_id(enrollkit_claim_array_enrollment(c, 0)), z));
    enrollkit_claim_array_free(c);
    OK(enrollkit_claim_release_typed(s, "w6", z, NULL));

    /* w5 renews x's lease; y's ends and w6 takes it over; a late renewal changes nothing. */
    OK(enrollkit_store_advance_time(s, 30000));
    OK(enrollkit_claim_renew_typed(s, "w5", x, 120000, &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "processing") && STREQ(enrollkit_enrollment_claimed_by(e), "w5"));
    CHECK(enrollkit_enrollment_lease_until(e) == now + 31000 + 120000);
    enrollkit_enrollment_free(e);
    EXPECT(enrollkit_claim_renew_typed(s, "w6", x, 60000, &untouched_e), ENROLLKIT_RESULT_CONFLICT);
    CHECK(last_details_have("\"code\":\"conflict\""));
    EXPECT(enrollkit_claim_renew_typed(s, "w5", x, 0, &untouched_e), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_claim_renew_typed(s, "w5", x, ENROLLKIT_MAX_LEASE_MS + 1, &untouched_e), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_claim_renew_typed(s, "w5", "enr_ghost", 60000, &untouched_e), ENROLLKIT_RESULT_NOT_FOUND);
    CHECK(untouched_e == (enrollkit_enrollment *)0x1);
    OK(enrollkit_store_advance_time(s, 60000));
    OK(enrollkit_claim_due_typed(s, "w6", "tq2", 10, 60000, &c));
    CHECK(enrollkit_claim_array_count(c) == 1);
    CHECK(STREQ(enrollkit_enrollment_id(enrollkit_claim_array_enrollment(c, 0)), y));
    enrollkit_claim_array_free(c);
    EXPECT(enrollkit_claim_renew_typed(s, "w5", y, 60000, &untouched_e), ENROLLKIT_RESULT_CONFLICT);
    OK(enrollkit_claim_renew_typed(s, "w5", x, ENROLLKIT_MAX_LEASE_MS, NULL));
    enrollkit_event_array *ev = NULL;
    OK(enrollkit_history_typed(s, "admin", x, &ev));
    CHECK(STREQ(enrollkit_event_action(enrollkit_event_array_item(ev, enrollkit_event_array_count(ev) - 1)), "renew"));
    enrollkit_event_array_free(ev);
    OK(enrollkit_claim_deliver_typed(s, "w5", x, NULL, NULL));
    OK(enrollkit_claim_deliver_typed(s, "w6", y, NULL, NULL));

    /* Work the host timed, with no step left: ended by delivering it (failing it is refused). */
    OK(enrollkit_program_create(s, "{\"id\":\"hosted\",\"kind\":\"track\",\"title\":\"Hosted\",\"state\":\"active\",\"steps\":["
                                   "{\"id\":\"only\",\"step_type\":\"message\",\"title\":\"Only\",\"learner_completable\":false}]}", NULL));
    OK(enrollkit_enroll_typed(s, "system", "u1", "hosted", &e));
    snprintf(z, sizeof z, "%s", enrollkit_enrollment_id(e));
    enrollkit_enrollment_free(e);
    OK(enrollkit_step_fail_typed(s, "system", z, "only", "bounced", NULL, NULL));
    OK(enrollkit_set_next_step_at_typed(s, "system", z, now, NULL));
    OK(enrollkit_claim_due_typed(s, "w7", "hosted", 10, 60000, &c));
    CHECK(enrollkit_claim_array_count(c) == 1 && enrollkit_claim_array_step_id(c, 0) == NULL);
    enrollkit_claim_array_free(c);
    EXPECT(enrollkit_claim_fail_typed(s, "w7", z, "bounced", NULL, &untouched_e), ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"change\""));
    OK(enrollkit_claim_deliver_typed(s, "w7", z, NULL, &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "active") && enrollkit_enrollment_claimed_by(e) == NULL);
    CHECK(enrollkit_enrollment_next_step_at(e) == ENROLLKIT_TIME_ABSENT);
    enrollkit_enrollment_free(e);

    /* Work anniversaries on 2026-03-10, run on 2026-03-01: a track starts at midnight of the
     * day in the user's zone (Tokyo: 15:00Z the day before; New York, on summer time: 04:00Z). */
    static const int64_t TOKYO_MIDNIGHT = 1773068400000LL, NEW_YORK_MIDNIGHT = 1773115200000LL;
    enrollkit_user_batch *ub = NULL;
    OK(enrollkit_user_batch_new(&ub));
    OK(enrollkit_user_batch_add(ub, "ha"));
    OK(enrollkit_user_batch_set(ub, ENROLLKIT_USER_FIELD_HIRE_DATE, "2019-03-10"));
    OK(enrollkit_user_batch_set(ub, ENROLLKIT_USER_FIELD_TIMEZONE, "Asia/Tokyo"));
    OK(enrollkit_user_batch_add(ub, "hb"));
    OK(enrollkit_user_batch_set(ub, ENROLLKIT_USER_FIELD_HIRE_DATE, "2025-03-10"));
    OK(enrollkit_user_batch_set(ub, ENROLLKIT_USER_FIELD_TIMEZONE, "America/New_York"));
    OK(enrollkit_user_batch_add(ub, "hc"));
    OK(enrollkit_user_batch_set(ub, ENROLLKIT_USER_FIELD_HIRE_DATE, "2026-03-10")); /* not a year yet */
    OK(enrollkit_users_upsert_typed(s, ub, NULL));
    enrollkit_user_batch_clear(ub);
    OK(enrollkit_user_batch_add(ub, "hd"));
    OK(enrollkit_user_batch_set(ub, ENROLLKIT_USER_FIELD_HIRE_DATE, "2026-3-1"));
    EXPECT(enrollkit_users_upsert_typed(s, ub, NULL), ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"hire_date\""));
    enrollkit_user_batch_free(ub);
    enrollkit_user *u = NULL;
    OK(enrollkit_user_get_typed(s, "ha", &u));
    CHECK(STREQ(enrollkit_user_hire_date(u), "2019-03-10"));
    CHECK(enrollkit_user_hire_date(u) == enrollkit_user_hire_date(u));
    enrollkit_user_free(u);
    OK(enrollkit_user_get_typed(s, "u1", &u));
    CHECK(enrollkit_user_hire_date(u) == NULL);
    enrollkit_user_free(u);

    OK(enrollkit_store_set_time(s, "2026-03-01T00:00:00Z"));
    enrollkit_enroll_outcomes *o = NULL, *untouched_o = (enrollkit_enroll_outcomes *)0x1;
    OK(enrollkit_enroll_anniversaries_typed(s, "system", "tq", "2026-03-10", &o));
    CHECK(enrollkit_enroll_outcomes_count(o) == 2);
    const enrollkit_enrollment *first = enrollkit_enroll_outcomes_enrollment(o, 0);
    const enrollkit_enrollment *second = enrollkit_enroll_outcomes_enrollment(o, 1);
    CHECK(enrollkit_enroll_outcomes_kind(o, 0) == ENROLLKIT_OUTCOME_CREATED);
    CHECK(STREQ(enrollkit_enrollment_user_id(first), "ha") && STREQ(enrollkit_enrollment_user_id(second), "hb"));
    CHECK(STREQ(enrollkit_enroll_outcomes_user_id(o, 0), "ha") && STREQ(enrollkit_enroll_outcomes_user_id(o, 1), "hb"));
    CHECK(enrollkit_enroll_outcomes_user_id(o, 0) == enrollkit_enroll_outcomes_user_id(o, 0)); /* lent */
    CHECK(enrollkit_enroll_outcomes_user_id(o, 2) == NULL); /* past the end */
    CHECK(STREQ(enrollkit_enrollment_trigger(first), "work_anniversary"));
    CHECK(STREQ(enrollkit_enrollment_status(first), "new"));
    CHECK(enrollkit_enrollment_start_at(first) == TOKYO_MIDNIGHT);
    CHECK(enrollkit_enrollment_start_at(second) == NEW_YORK_MIDNIGHT);
    char first_id[64];
    snprintf(first_id, sizeof first_id, "%s", enrollkit_enrollment_id(first));
    enrollkit_enroll_outcomes_free(o);
    OK(enrollkit_enroll_anniversaries_typed(s, "admin", "tq", "2026-03-10", &o));
    CHECK(enrollkit_enroll_outcomes_count(o) == 2);
    CHECK(enrollkit_enroll_outcomes_kind(o, 0) == ENROLLKIT_OUTCOME_ALREADY_ENROLLED);
    CHECK(STREQ(enrollkit_enroll_outcomes_existing_id(o, 0), first_id));
    CHECK(STREQ(enrollkit_enroll_outcomes_user_id(o, 0), "ha") && STREQ(enrollkit_enroll_outcomes_user_id(o, 1), "hb"));
    enrollkit_enroll_outcomes_free(o);
    OK(enrollkit_enroll_anniversaries_typed(s, "admin", "tq", "2026-03-11", NULL));
    EXPECT(enrollkit_enroll_anniversaries_typed(s, "learner:ha", "tq", "2026-03-10", &untouched_o),
           ENROLLKIT_RESULT_PERMISSION_DENIED);
    EXPECT(enrollkit_enroll_anniversaries_typed(s, "admin", "tq", "10/03/2026", &untouched_o), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_enroll_anniversaries_typed(s, "admin", "ghost", "2026-03-10", &untouched_o), ENROLLKIT_RESULT_NOT_FOUND);
    CHECK(untouched_o == (enrollkit_enroll_outcomes *)0x1);
}

/* Program policies (enrollment windows, prerequisites and an admin's override, deadlines),
 * partner users and expire_due, through the JSON functions and the typed ones, on the manual
 * clock: in memory, or at `location` (a PostgreSQL database the other suites used: the ids
 * here are their own). */
static void test_policies(const char *location) {
    /* 2026-04-01, 2026-05-01, 2026-05-15 and 2026-05-31, at 00:00:00Z. */
    static const int64_t APR1 = 1775001600000LL, MAY1 = 1777593600000LL, MAY15 = 1778803200000LL,
                         MAY31 = 1780185600000LL;
    enrollkit_store *s = NULL;
    if (location)
        OK(enrollkit_store_open(location, ENROLLKIT_OPEN_MANUAL_CLOCK, &s));
    else
        OK(enrollkit_store_open_in_memory(ENROLLKIT_OPEN_MANUAL_CLOCK, &s));
    OK(enrollkit_store_set_time(s, "2026-03-01T00:00:00Z"));
    char *out = SENTINEL, expect[256];
    char adv1[64], adv2[64], adv3[64], cert1[64], cert2[64];

    /* Partner users, through JSON and the user batch. */
    OK(enrollkit_user_upsert(s, "{\"id\":\"pu1\"}", &out));
    CHECK(has(out, "\"partnerships\":[]"));
    OK(enrollkit_user_upsert(s, "{\"id\":\"pu2\"}", NULL));
    OK(enrollkit_user_upsert(s, "{\"id\":\"pp1\",\"partnerships\":[\"prt_a\",\"prt_b\"]}", &out));
    CHECK(has(out, "\"partnerships\":[\"prt_a\",\"prt_b\"]"));
    out = SENTINEL;
    EXPECT(enrollkit_user_upsert(s, "{\"id\":\"pbad\",\"partnerships\":[\"\"]}", &out), ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"partnerships\""));
    EXPECT(enrollkit_user_upsert(s, "{\"id\":\"pbad\",\"partnerships\":\"prt_a\"}", &out), ENROLLKIT_RESULT_VALIDATION);
    CHECK(out == SENTINEL);
    enrollkit_user_batch *ub = NULL;
    OK(enrollkit_user_batch_new(&ub));
    EXPECT(enrollkit_user_batch_add_partnership(ub, "prt_c"), ENROLLKIT_RESULT_VALIDATION); /* no user yet */
    OK(enrollkit_user_batch_add(ub, "pp2"));
    OK(enrollkit_user_batch_add_partnership(ub, "prt_c"));
    OK(enrollkit_user_batch_add_partnership(ub, "prt_d"));
    OK(enrollkit_user_batch_add_group(ub, "Partners"));
    OK(enrollkit_users_upsert_typed(s, ub, NULL));
    enrollkit_user_batch_clear(ub);
    OK(enrollkit_user_batch_add(ub, "pbad"));
    OK(enrollkit_user_batch_add_partnership(ub, " prt_e"));
    EXPECT(enrollkit_users_upsert_typed(s, ub, NULL), ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"partnerships\""));
    enrollkit_user_batch_free(ub);
    enrollkit_user *u = NULL;
    OK(enrollkit_user_get_typed(s, "pp2", &u));
    CHECK(enrollkit_user_partnership_count(u) == 2);
    CHECK(STREQ(enrollkit_user_partnership(u, 0), "prt_c") && STREQ(enrollkit_user_partnership(u, 1), "prt_d"));
    CHECK(enrollkit_user_partnership(u, 2) == NULL);
    CHECK(enrollkit_user_partnership(u, 0) == enrollkit_user_partnership(u, 0)); /* lent again */
    CHECK(enrollkit_user_group_count(u) == 1 && STREQ(enrollkit_user_group(u, 0), "Partners"));
    enrollkit_user_free(u);
    OK(enrollkit_user_get(s, "pp2", &out));
    CHECK(has(out, "\"partnerships\":[\"prt_c\",\"prt_d\"]"));
    OK(enrollkit_user_get_typed(s, "pu1", &u));
    CHECK(enrollkit_user_partnership_count(u) == 0 && enrollkit_user_partnership(u, 0) == NULL);
    enrollkit_user_free(u);

    /* Policies through JSON, read back as JSON and typed; a program without any has none. */
    OK(enrollkit_program_create(s, "{\"id\":\"pw_window\",\"kind\":\"course\",\"title\":\"Window\",\"state\":\"active\","
                                   "\"self_enrollment\":true,\"policy\":{\"enroll_opens_at\":\"2026-04-01T00:00:00Z\","
                                   "\"enroll_closes_at\":\"2026-05-01T00:00:00Z\"}}", &out));
    CHECK(has(out, "\"policy\":{\"enroll_opens_at\":\"2026-04-01T00:00:00.000Z\","
                   "\"enroll_closes_at\":\"2026-05-01T00:00:00.000Z\",\"deadline\":null,\"capacity\":null,"
                   "\"waitlist\":false,\"prerequisites\":[]}"));
    OK(enrollkit_program_create(s, "{\"id\":\"pw_intro\",\"kind\":\"course\",\"title\":\"Intro\",\"state\":\"active\","
                                   "\"self_enrollment\":true}", &out));
    CHECK(out != NULL && strstr(out, "\"policy\"") == NULL);
    enrollkit_string_free(out);
    OK(enrollkit_program_create(s, "{\"id\":\"pw_basics\",\"kind\":\"course\",\"title\":\"Basics\",\"state\":\"active\","
                                   "\"self_enrollment\":true}", NULL));
    OK(enrollkit_program_create(s, "{\"id\":\"pw_adv\",\"kind\":\"course\",\"title\":\"Advanced\",\"state\":\"active\","
                                   "\"self_enrollment\":true,\"policy\":{\"prerequisites\":[\"pw_intro\",\"pw_basics\"],"
                                   "\"deadline\":{\"after_days\":30}}}", NULL));
    OK(enrollkit_program_create(s, "{\"id\":\"pw_cert\",\"kind\":\"certification\",\"title\":\"Cert\",\"state\":\"active\","
                                   "\"policy\":{\"deadline\":{\"at\":\"2026-05-15T00:00:00Z\"},\"capacity\":5,\"waitlist\":true}}", NULL));
    OK(enrollkit_program_get(s, "pw_cert", &out));
    CHECK(has(out, "\"deadline\":{\"at\":\"2026-05-15T00:00:00.000Z\"},\"capacity\":5,\"waitlist\":true"));
    out = SENTINEL;
    EXPECT(enrollkit_program_create(s, "{\"id\":\"pw_x\",\"kind\":\"course\",\"title\":\"X\",\"state\":\"active\","
                                       "\"policy\":{\"enroll_opens_at\":\"2026-05-01T00:00:00Z\","
                                       "\"enroll_closes_at\":\"2026-04-01T00:00:00Z\"}}", &out),
           ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"enroll_closes_at\""));
    EXPECT(enrollkit_program_create(s, "{\"id\":\"pw_x\",\"kind\":\"course\",\"title\":\"X\",\"state\":\"active\","
                                       "\"policy\":{\"waitlist\":true}}", &out), ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"waitlist\""));
    EXPECT(enrollkit_program_create(s, "{\"id\":\"pw_x\",\"kind\":\"course\",\"title\":\"X\",\"state\":\"active\","
                                       "\"policy\":{\"deadline\":{\"after_days\":0}}}", &out), ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"deadline\""));
    EXPECT(enrollkit_program_create(s, "{\"id\":\"pw_x\",\"kind\":\"course\",\"title\":\"X\",\"state\":\"active\","
                                       "\"policy\":{\"cap\":3}}", &out), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_program_create(s, "{\"id\":\"pw_x\",\"kind\":\"course\",\"title\":\"X\",\"state\":\"active\","
                                       "\"policy\":{\"prerequisites\":[\"pw_nope\"]}}", &out), ENROLLKIT_RESULT_NOT_FOUND);
    EXPECT(enrollkit_program_update(s, "{\"id\":\"pw_intro\",\"kind\":\"course\",\"title\":\"Intro\",\"state\":\"active\","
                                       "\"policy\":{\"prerequisites\":[\"pw_adv\"]}}", &out), ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"prerequisites\""));
    CHECK(out == SENTINEL);
    enrollkit_program *p = NULL;
    uint32_t capacity = 99;
    OK(enrollkit_program_get_typed(s, "pw_window", &p));
    CHECK(enrollkit_program_enroll_opens_at(p) == APR1 && enrollkit_program_enroll_closes_at(p) == MAY1);
    CHECK(enrollkit_program_deadline_kind(p) == NULL && enrollkit_program_deadline_at(p) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_program_deadline_after_days(p) == 0);
    CHECK(!enrollkit_program_capacity(p, &capacity) && capacity == 99 && !enrollkit_program_waitlist(p));
    CHECK(enrollkit_program_prerequisite_count(p) == 0 && enrollkit_program_prerequisite(p, 0) == NULL);
    enrollkit_program_free(p);
    OK(enrollkit_program_get_typed(s, "pw_adv", &p));
    CHECK(enrollkit_program_enroll_opens_at(p) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_program_enroll_closes_at(p) == ENROLLKIT_TIME_ABSENT);
    CHECK(STREQ(enrollkit_program_deadline_kind(p), "after_days") && enrollkit_program_deadline_after_days(p) == 30);
    CHECK(enrollkit_program_deadline_at(p) == ENROLLKIT_TIME_ABSENT);
    CHECK(enrollkit_program_prerequisite_count(p) == 2);
    CHECK(STREQ(enrollkit_program_prerequisite(p, 0), "pw_intro") && STREQ(enrollkit_program_prerequisite(p, 1), "pw_basics"));
    CHECK(enrollkit_program_prerequisite(p, 2) == NULL);
    CHECK(enrollkit_program_prerequisite(p, 1) == enrollkit_program_prerequisite(p, 1)); /* lent again */
    enrollkit_program_free(p);
    OK(enrollkit_program_get_typed(s, "pw_cert", &p));
    CHECK(STREQ(enrollkit_program_deadline_kind(p), "at") && enrollkit_program_deadline_at(p) == MAY15);
    CHECK(enrollkit_program_deadline_after_days(p) == 0);
    CHECK(enrollkit_program_capacity(p, &capacity) && capacity == 5 && enrollkit_program_capacity(p, NULL));
    CHECK(enrollkit_program_waitlist(p));
    enrollkit_program_free(p);
    OK(enrollkit_program_get_typed(s, "pw_intro", &p));
    CHECK(enrollkit_program_deadline_kind(p) == NULL && !enrollkit_program_capacity(p, NULL));
    CHECK(enrollkit_program_prerequisite_count(p) == 0 && !enrollkit_program_waitlist(p));
    enrollkit_program_free(p);

    /* The window: refused before it opens and once it closes, changing nothing. */
    enrollkit_enrollment *e = NULL, *untouched = (enrollkit_enrollment *)0x1;
    char *id = SENTINEL;
    EXPECT(enrollkit_enroll(s, "learner:pu1", "pu1", "pw_window", &id), ENROLLKIT_RESULT_ENROLLMENT_CLOSED);
    CHECK(id == SENTINEL);
    CHECK(strcmp(enrollkit_last_error_message(), "enrollment in pw_window opens at 2026-04-01T00:00:00.000Z") == 0);
    CHECK(last_details_have("\"code\":\"enrollment_closed\""));
    CHECK(last_details_have("\"program_id\":\"pw_window\""));
    CHECK(last_details_have("\"opens_at\":\"2026-04-01T00:00:00.000Z\""));
    CHECK(last_details_have("\"closed_at\":null"));
    EXPECT(enrollkit_enroll_typed(s, "admin", "pu1", "pw_window", &untouched), ENROLLKIT_RESULT_ENROLLMENT_CLOSED);
    CHECK(untouched == (enrollkit_enrollment *)0x1);
    OK(enrollkit_store_set_time(s, "2026-04-01T00:00:00Z"));
    OK(enrollkit_enroll_typed(s, "learner:pu1", "pu1", "pw_window", &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "active") && enrollkit_enrollment_enrolled_at(e) == APR1);
    CHECK(enrollkit_enrollment_deadline_at(e) == ENROLLKIT_TIME_ABSENT); /* no deadline */
    enrollkit_enrollment_free(e);
    OK(enrollkit_store_set_time(s, "2026-05-01T00:00:00Z"));
    out = SENTINEL;
    EXPECT(enrollkit_enroll_json(s, "admin", "{\"user_id\":\"pu2\",\"program_id\":\"pw_window\"}", &out),
           ENROLLKIT_RESULT_ENROLLMENT_CLOSED);
    CHECK(out == SENTINEL);
    CHECK(last_details_have("\"closed_at\":\"2026-05-01T00:00:00.000Z\"") && last_details_have("\"opens_at\":null"));
    OK(enrollkit_enroll_many(s, "admin", "[{\"user_id\":\"pu2\",\"program_id\":\"pw_window\"}]",
                             ENROLLKIT_BATCH_BEST_EFFORT, &out));
    CHECK(has(out, "\"outcome\":\"failed\",\"error\":{\"code\":\"enrollment_closed\""));
    enrollkit_enroll_batch *eb = NULL;
    enrollkit_enroll_outcomes *o = NULL;
    OK(enrollkit_enroll_batch_new(&eb));
    OK(enrollkit_enroll_batch_add(eb, ENROLLKIT_USER_BY_ID, "pu2", "pw_window"));
    OK(enrollkit_enroll_many_typed(s, "admin", eb, ENROLLKIT_BATCH_BEST_EFFORT, &o));
    CHECK(enrollkit_enroll_outcomes_kind(o, 0) == ENROLLKIT_OUTCOME_FAILED);
    CHECK(enrollkit_enroll_outcomes_error(o, 0) == ENROLLKIT_RESULT_ENROLLMENT_CLOSED);
    CHECK(strstr(enrollkit_enroll_outcomes_error_details(o, 0), "\"closed_at\":\"2026-05-01T00:00:00.000Z\"") != NULL);
    enrollkit_enroll_outcomes_free(o);

    /* Prerequisites: every one completed, or an admin's reason (nobody else may give one). */
    EXPECT(enrollkit_enroll_typed(s, "learner:pu1", "pu1", "pw_adv", &untouched), ENROLLKIT_RESULT_PREREQUISITES_NOT_MET);
    CHECK(untouched == (enrollkit_enrollment *)0x1);
    CHECK(last_details_have("\"code\":\"prerequisites_not_met\""));
    CHECK(last_details_have("\"missing\":[\"pw_intro\",\"pw_basics\"]"));
    OK(enrollkit_enroll_json(s, "learner:pu1", "{\"user_id\":\"pu1\",\"program_id\":\"pw_intro\"}", &out));
    field(out, "id", expect, sizeof expect);
    enrollkit_string_free(out);
    OK(enrollkit_set_progress(s, "learner:pu1", expect, 100, NULL));
    EXPECT(enrollkit_enroll(s, "learner:pu1", "pu1", "pw_adv", NULL), ENROLLKIT_RESULT_PREREQUISITES_NOT_MET);
    CHECK(last_details_have("\"missing\":[\"pw_basics\"]"));
    OK(enrollkit_enroll_typed(s, "learner:pu1", "pu1", "pw_basics", &e));
    OK(enrollkit_set_progress_typed(s, "learner:pu1", enrollkit_enrollment_id(e), 100, NULL));
    enrollkit_enrollment_free(e);
    OK(enrollkit_enroll_json(s, "learner:pu1", "{\"user_id\":\"pu1\",\"program_id\":\"pw_adv\"}", &out));
    field(out, "id", adv1, sizeof adv1);
    CHECK(has(out, "\"deadline_at\":\"2026-05-31T00:00:00.000Z\"")); /* 30 days after enrolling */
    out = SENTINEL;
    EXPECT(enrollkit_enroll_json(s, "system", "{\"user_id\":\"pu2\",\"program_id\":\"pw_adv\","
                                              "\"override_prerequisites\":\"transfer credit\"}", &out),
           ENROLLKIT_RESULT_PERMISSION_DENIED);
    EXPECT(enrollkit_enroll_json(s, "learner:pu2", "{\"user_id\":\"pu2\",\"program_id\":\"pw_adv\","
                                                   "\"override_prerequisites\":\"transfer credit\"}", &out),
           ENROLLKIT_RESULT_PERMISSION_DENIED);
    EXPECT(enrollkit_enroll_json(s, "admin", "{\"user_id\":\"pu2\",\"program_id\":\"pw_adv\","
                                             "\"override_prerequisites\":\" \"}", &out),
           ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_enroll_json(s, "admin", "{\"user_id\":\"pu2\",\"program_id\":\"pw_adv\","
                                             "\"override_prerequisites\":true}", &out),
           ENROLLKIT_RESULT_VALIDATION);
    CHECK(out == SENTINEL);
    OK(enrollkit_enroll_json(s, "admin", "{\"user_id\":\"pu2\",\"program_id\":\"pw_adv\","
                                         "\"override_prerequisites\":\"transfer credit\"}", &out));
    field(out, "id", adv2, sizeof adv2);
    CHECK(has(out, "\"deadline_at\":\"2026-05-31T00:00:00.000Z\""));
    OK(enrollkit_history(s, "admin", adv2, &out));
    CHECK(has(out, "\"reason\":\"manual_user_trigger; prerequisites overridden: transfer credit\""));
    /* The typed batch's option: an admin's row is enrolled, a system's refused, a row without
     * a reason (set, then cleared) needs the prerequisites. */
    enrollkit_enroll_batch_clear(eb);
    OK(enrollkit_enroll_batch_add(eb, ENROLLKIT_USER_BY_ID, "pp1", "pw_adv"));
    OK(enrollkit_enroll_batch_set(eb, ENROLLKIT_ENROLL_OVERRIDE_PREREQUISITES, "equivalent course"));
    OK(enrollkit_enroll_batch_add(eb, ENROLLKIT_USER_BY_ID, "pp2", "pw_adv"));
    OK(enrollkit_enroll_batch_set(eb, ENROLLKIT_ENROLL_OVERRIDE_PREREQUISITES, "equivalent course"));
    OK(enrollkit_enroll_batch_set(eb, ENROLLKIT_ENROLL_OVERRIDE_PREREQUISITES, NULL));
    OK(enrollkit_enroll_many_typed(s, "system", eb, ENROLLKIT_BATCH_BEST_EFFORT, &o));
    CHECK(enrollkit_enroll_outcomes_error(o, 0) == ENROLLKIT_RESULT_PERMISSION_DENIED);
    CHECK(enrollkit_enroll_outcomes_error(o, 1) == ENROLLKIT_RESULT_PREREQUISITES_NOT_MET);
    CHECK(strstr(enrollkit_enroll_outcomes_error_details(o, 1), "\"missing\":[\"pw_intro\",\"pw_basics\"]") != NULL);
    enrollkit_enroll_outcomes_free(o);
    OK(enrollkit_enroll_many_typed(s, "admin", eb, ENROLLKIT_BATCH_BEST_EFFORT, &o));
    CHECK(enrollkit_enroll_outcomes_kind(o, 0) == ENROLLKIT_OUTCOME_CREATED);
    snprintf(adv3, sizeof adv3, "%s", enrollkit_enrollment_id(enrollkit_enroll_outcomes_enrollment(o, 0)));
    CHECK(enrollkit_enrollment_deadline_at(enrollkit_enroll_outcomes_enrollment(o, 0)) == MAY31);
    CHECK(enrollkit_enroll_outcomes_error(o, 1) == ENROLLKIT_RESULT_PREREQUISITES_NOT_MET);
    enrollkit_enroll_outcomes_free(o);
    enrollkit_enroll_batch_free(eb);
    enrollkit_event_array *ev = NULL;
    OK(enrollkit_history_typed(s, "admin", adv3, &ev));
    CHECK(STREQ(enrollkit_event_reason(enrollkit_event_array_item(ev, 0)),
                "manual_user_trigger; prerequisites overridden: equivalent course"));
    enrollkit_event_array_free(ev);

    /* A partner user's certification names one of their partnerships; other users need none. */
    out = SENTINEL;
    EXPECT(enrollkit_enroll_json(s, "admin", "{\"user_id\":\"pp1\",\"program_id\":\"pw_cert\"}", &out),
           ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"partnership_id\""));
    EXPECT(enrollkit_enroll_json(s, "admin", "{\"user_id\":\"pp1\",\"program_id\":\"pw_cert\",\"partnership_id\":\"prt_z\"}", &out),
           ENROLLKIT_RESULT_VALIDATION);
    CHECK(last_details_have("\"field\":\"partnership_id\""));
    CHECK(out == SENTINEL);
    OK(enrollkit_enroll_json(s, "admin", "{\"user_id\":\"pp1\",\"program_id\":\"pw_cert\",\"partnership_id\":\"prt_b\"}", &out));
    field(out, "id", cert1, sizeof cert1);
    CHECK(has(out, "\"partnership_id\":\"prt_b\""));
    OK(enrollkit_enroll_typed(s, "admin", "pu1", "pw_cert", &e));
    snprintf(cert2, sizeof cert2, "%s", enrollkit_enrollment_id(e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "enrolled") && enrollkit_enrollment_partnership_id(e) == NULL);
    CHECK(enrollkit_enrollment_deadline_at(e) == MAY15); /* the program's fixed deadline */
    enrollkit_enrollment_free(e);
    OK(enrollkit_enroll_typed(s, "admin", "pp1", "pw_intro", NULL)); /* a course asks nothing */

    /* expire_due: admin or system; nothing due before the deadlines. */
    out = SENTINEL;
    EXPECT(enrollkit_expire_due(s, "learner:pu1", 10, &out), ENROLLKIT_RESULT_PERMISSION_DENIED);
    EXPECT(enrollkit_expire_due(s, "admin", 0, &out), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_expire_due(s, "admin", 1001, &out), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_expire_due(s, "root", 10, &out), ENROLLKIT_RESULT_VALIDATION);
    CHECK(out == SENTINEL);
    OK(enrollkit_expire_due(s, "system", 100, &out));
    CHECK(out != NULL && strcmp(out, "[]") == 0);
    enrollkit_string_free(out);
    /* On 15 May the certifications fail, one per call at most `limit`. */
    OK(enrollkit_store_set_time(s, "2026-05-15T00:00:00Z"));
    OK(enrollkit_expire_due(s, "system", 1, &out));
    CHECK(out != NULL && count_of(out, "\"enr_") == 1);
    CHECK(out != NULL && (strstr(out, cert1) != NULL || strstr(out, cert2) != NULL));
    enrollkit_string_free(out);
    OK(enrollkit_expire_due(s, "admin", 100, &out));
    CHECK(out != NULL && count_of(out, "\"enr_") == 1);
    enrollkit_string_free(out);
    OK(enrollkit_expire_due(s, "system", 100, NULL)); /* nothing left: out may be NULL */
    OK(enrollkit_enrollment_get_typed(s, "admin", cert1, &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "failed") && STREQ(enrollkit_enrollment_failure_reason(e), "deadline_passed"));
    CHECK(enrollkit_enrollment_failed_at(e) == MAY15 && enrollkit_enrollment_deadline_at(e) == MAY15);
    enrollkit_enrollment_free(e);
    OK(enrollkit_render(s, "admin", cert2, ENROLLKIT_VIEW_CERTIFICATION, &out));
    CHECK(has(out, "\"status\":\"failed\""));
    /* On 31 May: pu1 finished in time, pu2 and pp1 did not; their courses expire. */
    OK(enrollkit_set_progress(s, "learner:pu1", adv1, 100, NULL));
    OK(enrollkit_store_set_time(s, "2026-05-31T00:00:00Z"));
    OK(enrollkit_expire_due(s, "system", 100, &out));
    CHECK(out != NULL && count_of(out, "\"enr_") == 2 && strstr(out, adv2) != NULL && strstr(out, adv3) != NULL);
    enrollkit_string_free(out);
    OK(enrollkit_enrollment_get(s, "admin", adv2, &out));
    CHECK(has(out, "\"status\":\"expired\""));
    OK(enrollkit_enrollment_get_typed(s, "admin", adv2, &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "expired") && enrollkit_enrollment_deadline_at(e) == MAY31);
    CHECK(enrollkit_enrollment_failure_reason(e) == NULL);
    enrollkit_enrollment_free(e);
    OK(enrollkit_enrollment_get_typed(s, "admin", adv1, &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "completed"));
    enrollkit_enrollment_free(e);
    OK(enrollkit_history_typed(s, "admin", adv2, &ev));
    {
        const enrollkit_event *last = enrollkit_event_array_item(ev, enrollkit_event_array_count(ev) - 1);
        CHECK(STREQ(enrollkit_event_action(last), "expire") && STREQ(enrollkit_event_from_status(last), "active"));
        CHECK(STREQ(enrollkit_event_to_status(last), "expired"));
        CHECK(STREQ(enrollkit_event_reason(last), "deadline=2026-05-31T00:00:00.000Z"));
    }
    enrollkit_event_array_free(ev);
    /* The new statuses' names filter listings. */
    OK(enrollkit_list(s, "admin", "{\"program_id\":\"pw_adv\",\"status\":\"expired\"}", &out));
    CHECK(count_of(out, "\"status\":\"expired\"") == 2);
    snprintf(expect, sizeof expect, "\"id\":\"%s\"", adv2);
    CHECK(has(out, expect));
    enrollkit_list_query *q = NULL;
    enrollkit_enrollment_page *page = NULL;
    OK(enrollkit_list_query_new(&q));
    OK(enrollkit_list_query_set(q, ENROLLKIT_QUERY_PROGRAM_ID, "pw_adv"));
    OK(enrollkit_list_query_set(q, ENROLLKIT_QUERY_STATUS, "waitlisted"));
    OK(enrollkit_list_typed(s, "admin", q, &page));
    CHECK(enrollkit_enrollment_page_count(page) == 0);
    enrollkit_enrollment_page_free(page);
    OK(enrollkit_list_query_set(q, ENROLLKIT_QUERY_PROGRAM_ID, "pw_cert"));
    OK(enrollkit_list_query_set(q, ENROLLKIT_QUERY_STATUS, "expired")); /* not a certification's */
    EXPECT(enrollkit_list_typed(s, "admin", q, &page), ENROLLKIT_RESULT_VALIDATION);
    OK(enrollkit_list_query_set(q, ENROLLKIT_QUERY_STATUS, "failed"));
    OK(enrollkit_list_typed(s, "admin", q, &page));
    CHECK(enrollkit_enrollment_page_count(page) == 2);
    CHECK(STREQ(enrollkit_enrollment_failure_reason(enrollkit_enrollment_page_item(page, 0)), "deadline_passed"));
    enrollkit_enrollment_page_free(page);
    enrollkit_list_query_free(q);
    OK(enrollkit_report(s, "admin", "pw_adv", &out));
    CHECK(has(out, "\"by_status\":{\"completed\":1,\"expired\":2}"));
    /* An expired course is closed: enrolled again, with a new deadline. */
    OK(enrollkit_enroll_json(s, "admin", "{\"user_id\":\"pu2\",\"program_id\":\"pw_adv\","
                                         "\"override_prerequisites\":\"second try\"}", &out));
    CHECK(has(out, "\"deadline_at\":\"2026-06-30T00:00:00.000Z\""));
    OK(enrollkit_expire_due(s, "system", 100, &out));
    CHECK(has(out, "[]"));
    OK(enrollkit_check(s, &out));
    CHECK(has(out, "[]"));
    enrollkit_store_free(s);
}

/* Capacity with a waitlist (enrollkit_waitlist, _typed, enrollkit_waitlist_position): a seat
 * taken, the next enrollments waitlisted in order, promotion when the seat frees; a capacity
 * without a waitlist refuses. In memory, or at `location` (a PostgreSQL database the other
 * suites used: the ids here are their own). */
static void test_waitlist(const char *location) {
    enrollkit_store *s = NULL;
    if (location)
        OK(enrollkit_store_open(location, ENROLLKIT_OPEN_MANUAL_CLOCK, &s));
    else
        OK(enrollkit_store_open_in_memory(ENROLLKIT_OPEN_MANUAL_CLOCK, &s));
    OK(enrollkit_store_set_time(s, "2026-03-01T00:00:00Z"));
    char *out = SENTINEL, expect[256], first[64], second[64], third[64];
    uint32_t place = 99;
    OK(enrollkit_users_upsert(s, "[{\"id\":\"wu1\"},{\"id\":\"wu2\"},{\"id\":\"wu3\"}]", NULL));
    OK(enrollkit_program_create(s, "{\"id\":\"wl_one\",\"kind\":\"course\",\"title\":\"One seat\",\"state\":\"active\","
                                   "\"self_enrollment\":true,\"policy\":{\"capacity\":1,\"waitlist\":true}}", NULL));

    /* The seat, then two in the waitlist, in the order they came. */
    OK(enrollkit_enroll_json(s, "learner:wu1", "{\"user_id\":\"wu1\",\"program_id\":\"wl_one\"}", &out));
    field(out, "id", first, sizeof first);
    CHECK(has(out, "\"status\":\"active\""));
    enrollkit_enrollment *e = NULL;
    OK(enrollkit_enroll_typed(s, "learner:wu2", "wu2", "wl_one", &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "waitlisted"));
    CHECK(enrollkit_enrollment_started_at(e) == ENROLLKIT_TIME_ABSENT);
    snprintf(second, sizeof second, "%s", enrollkit_enrollment_id(e));
    enrollkit_enrollment_free(e);
    OK(enrollkit_enroll_json(s, "admin", "{\"user_id\":\"wu3\",\"program_id\":\"wl_one\"}", &out));
    field(out, "id", third, sizeof third);
    CHECK(has(out, "\"status\":\"waitlisted\""));

    /* Positions: from 1; 0 when not waitlisted; a learner asks about their own only. */
    OK(enrollkit_waitlist_position(s, "learner:wu2", second, &place));
    CHECK(place == 1);
    OK(enrollkit_waitlist_position(s, "system", third, &place));
    CHECK(place == 2);
    OK(enrollkit_waitlist_position(s, "learner:wu1", first, &place));
    CHECK(place == 0); /* holds the seat */
    place = 99;
    EXPECT(enrollkit_waitlist_position(s, "learner:wu3", second, &place), ENROLLKIT_RESULT_PERMISSION_DENIED);
    CHECK(last_details_have("\"code\":\"permission_denied\""));
    EXPECT(enrollkit_waitlist_position(s, "admin", "enr_nope", &place), ENROLLKIT_RESULT_NOT_FOUND);
    EXPECT(enrollkit_waitlist_position(s, "root", second, &place), ENROLLKIT_RESULT_VALIDATION);
    CHECK(place == 99); /* untouched on failure */

    /* The waitlist as JSON: in order, at most `limit`; admin or system only. */
    OK(enrollkit_waitlist(s, "admin", "wl_one", 100, &out));
    CHECK(out != NULL && count_of(out, "\"status\":\"waitlisted\"") == 2 && strstr(out, first) == NULL);
    CHECK(out != NULL && strstr(out, second) != NULL && strstr(out, third) != NULL &&
          strstr(out, second) < strstr(out, third));
    enrollkit_string_free(out);
    OK(enrollkit_waitlist(s, "system", "wl_one", 1, &out));
    CHECK(out != NULL && count_of(out, "\"id\":\"enr_") == 1);
    snprintf(expect, sizeof expect, "[{\"id\":\"%s\"", second);
    CHECK(has(out, expect));
    out = SENTINEL;
    EXPECT(enrollkit_waitlist(s, "learner:wu2", "wl_one", 100, &out), ENROLLKIT_RESULT_PERMISSION_DENIED);
    EXPECT(enrollkit_waitlist(s, "admin", "wl_nope", 100, &out), ENROLLKIT_RESULT_NOT_FOUND);
    EXPECT(enrollkit_waitlist(s, "admin", "wl_one", 0, &out), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_waitlist(s, "admin", "wl_one", 1001, &out), ENROLLKIT_RESULT_VALIDATION);
    CHECK(out == SENTINEL);

    /* The same, typed: one page, nothing more to fetch. */
    enrollkit_enrollment_page *page = NULL, *untouched = (enrollkit_enrollment_page *)0x1;
    OK(enrollkit_waitlist_typed(s, "system", "wl_one", 100, &page));
    CHECK(enrollkit_enrollment_page_count(page) == 2);
    CHECK(STREQ(enrollkit_enrollment_id(enrollkit_enrollment_page_item(page, 0)), second));
    CHECK(STREQ(enrollkit_enrollment_id(enrollkit_enrollment_page_item(page, 1)), third));
    CHECK(STREQ(enrollkit_enrollment_status(enrollkit_enrollment_page_item(page, 1)), "waitlisted"));
    CHECK(enrollkit_enrollment_page_item(page, 2) == NULL);
    CHECK(!enrollkit_enrollment_page_has_more(page) && enrollkit_enrollment_page_next_cursor(page) == NULL);
    enrollkit_enrollment_page_free(page);
    OK(enrollkit_waitlist_typed(s, "admin", "wl_one", 1, &page));
    CHECK(enrollkit_enrollment_page_count(page) == 1 && !enrollkit_enrollment_page_has_more(page));
    CHECK(STREQ(enrollkit_enrollment_id(enrollkit_enrollment_page_item(page, 0)), second));
    enrollkit_enrollment_page_free(page);
    EXPECT(enrollkit_waitlist_typed(s, "learner:wu1", "wl_one", 100, &untouched), ENROLLKIT_RESULT_PERMISSION_DENIED);
    EXPECT(enrollkit_waitlist_typed(s, "admin", "wl_nope", 100, &untouched), ENROLLKIT_RESULT_NOT_FOUND);
    EXPECT(enrollkit_waitlist_typed(s, "admin", "wl_one", 0, &untouched), ENROLLKIT_RESULT_VALIDATION);
    CHECK(untouched == (enrollkit_enrollment_page *)0x1);

    /* The seat frees: the head of the waitlist is promoted, the rest move up. */
    OK(enrollkit_store_advance_time(s, 86400000));
    OK(enrollkit_transition(s, "learner:wu1", first, ENROLLKIT_COMMAND_DROP, &out));
    CHECK(has(out, "\"status\":\"dropped\""));
    OK(enrollkit_enrollment_get_typed(s, "learner:wu2", second, &e));
    CHECK(STREQ(enrollkit_enrollment_status(e), "active"));
    enrollkit_enrollment_free(e);
    place = 99;
    OK(enrollkit_waitlist_position(s, "learner:wu2", second, &place));
    CHECK(place == 0);
    OK(enrollkit_waitlist_position(s, "learner:wu3", third, &place));
    CHECK(place == 1);
    enrollkit_event_array *ev = NULL;
    OK(enrollkit_history_typed(s, "admin", second, &ev));
    CHECK(enrollkit_event_array_count(ev) == 2);
    {
        const enrollkit_event *promote = enrollkit_event_array_item(ev, 1);
        CHECK(STREQ(enrollkit_event_action(promote), "promote") && STREQ(enrollkit_event_actor(promote), "system"));
        CHECK(STREQ(enrollkit_event_from_status(promote), "waitlisted") &&
              STREQ(enrollkit_event_to_status(promote), "active"));
        CHECK(STREQ(enrollkit_event_reason(promote), "seat_freed"));
    }
    enrollkit_event_array_free(ev);
    OK(enrollkit_waitlist(s, "admin", "wl_one", 100, &out));
    snprintf(expect, sizeof expect, "[{\"id\":\"%s\"", third);
    CHECK(out != NULL && count_of(out, "\"id\":\"enr_") == 1);
    CHECK(has(out, expect));
    /* The dropped enrollment finds the program full, its one seat taken. */
    out = SENTINEL;
    EXPECT(enrollkit_transition(s, "learner:wu1", first, ENROLLKIT_COMMAND_REACTIVATE, &out),
           ENROLLKIT_RESULT_PROGRAM_FULL);
    CHECK(last_details_have("\"capacity\":1"));
    CHECK(out == SENTINEL);
    /* The last one in the waitlist leaves it by dropping out: nobody waits. */
    OK(enrollkit_transition(s, "learner:wu3", third, ENROLLKIT_COMMAND_DROP, NULL));
    OK(enrollkit_waitlist(s, "admin", "wl_one", 100, &out));
    CHECK(out != NULL && strcmp(out, "[]") == 0);
    enrollkit_string_free(out);
    OK(enrollkit_waitlist_typed(s, "admin", "wl_one", 100, &page));
    CHECK(enrollkit_enrollment_page_count(page) == 0 && enrollkit_enrollment_page_item(page, 0) == NULL);
    enrollkit_enrollment_page_free(page);

    /* A capacity without a waitlist refuses, through every way of enrolling. */
    OK(enrollkit_program_create(s, "{\"id\":\"wl_strict\",\"kind\":\"certification\",\"title\":\"Strict\","
                                   "\"state\":\"active\",\"policy\":{\"capacity\":1}}", NULL));
    OK(enrollkit_enroll(s, "admin", "wu1", "wl_strict", &out));
    char strict[64];
    snprintf(strict, sizeof strict, "%s", out ? out : "");
    enrollkit_string_free(out);
    out = SENTINEL;
    EXPECT(enrollkit_enroll(s, "admin", "wu2", "wl_strict", &out), ENROLLKIT_RESULT_PROGRAM_FULL);
    CHECK(out == SENTINEL);
    CHECK(last_details_have("\"code\":\"program_full\""));
    CHECK(last_details_have("\"capacity\":1"));
    CHECK(last_details_have("\"program_id\":\"wl_strict\""));
    enrollkit_enrollment *untouched_e = (enrollkit_enrollment *)0x1;
    EXPECT(enrollkit_enroll_typed(s, "admin", "wu2", "wl_strict", &untouched_e), ENROLLKIT_RESULT_PROGRAM_FULL);
    CHECK(last_details_have("\"capacity\":1"));
    CHECK(untouched_e == (enrollkit_enrollment *)0x1);
    OK(enrollkit_enroll_many(s, "admin", "[{\"user_id\":\"wu2\",\"program_id\":\"wl_strict\"}]",
                             ENROLLKIT_BATCH_BEST_EFFORT, &out));
    CHECK(has(out, "\"outcome\":\"failed\",\"error\":{\"code\":\"program_full\""));
    enrollkit_enroll_batch *eb = NULL;
    enrollkit_enroll_outcomes *o = NULL;
    OK(enrollkit_enroll_batch_new(&eb));
    OK(enrollkit_enroll_batch_add(eb, ENROLLKIT_USER_BY_ID, "wu3", "wl_strict"));
    OK(enrollkit_enroll_many_typed(s, "admin", eb, ENROLLKIT_BATCH_BEST_EFFORT, &o));
    CHECK(enrollkit_enroll_outcomes_error(o, 0) == ENROLLKIT_RESULT_PROGRAM_FULL);
    CHECK(strstr(enrollkit_enroll_outcomes_error_details(o, 0), "\"capacity\":1") != NULL);
    enrollkit_enroll_outcomes_free(o);
    enrollkit_enroll_batch_free(eb);
    OK(enrollkit_waitlist(s, "admin", "wl_strict", 100, &out));
    CHECK(has(out, "[]"));
    OK(enrollkit_waitlist_position(s, "admin", strict, &place));
    CHECK(place == 0);
    OK(enrollkit_check(s, &out));
    CHECK(has(out, "[]"));
    enrollkit_store_free(s);
}

/* Erasure on request (enrollkit_erase_user) and enrollkit_compact: only an admin erases; the
 * person goes with their enrollments, progress and attempts; their history stays under a
 * tombstone without reasons; others no longer name them; their seat goes to the waitlist. In
 * memory, or at `location` (a PostgreSQL database the other suites used: the ids here are
 * their own). */
static void test_erasure(const char *location) {
    enrollkit_store *s = NULL;
    if (location)
        OK(enrollkit_store_open(location, ENROLLKIT_OPEN_MANUAL_CLOCK, &s));
    else
        OK(enrollkit_store_open_in_memory(ENROLLKIT_OPEN_MANUAL_CLOCK, &s));
    OK(enrollkit_store_set_time(s, "2026-03-01T00:00:00Z"));
    char *out = SENTINEL, expect[256], tombstone[64], seat[64], cert[64], waiting[64], other[64];
    OK(enrollkit_users_upsert(s, "[{\"id\":\"er_gone\",\"email\":\"er.gone@example.com\",\"display_name\":\"Gone Erasable\"},"
                                 "{\"id\":\"er_stay\",\"manager_id\":\"er_gone\"},{\"id\":\"er_wait\"},{\"id\":\"er_lone\"}]",
                              NULL));
    OK(enrollkit_program_create(s, "{\"id\":\"er_seat\",\"kind\":\"course\",\"title\":\"One seat\",\"state\":\"active\","
                                   "\"self_enrollment\":true,\"policy\":{\"capacity\":1,\"waitlist\":true}}", NULL));
    OK(enrollkit_program_create(s, "{\"id\":\"er_cert\",\"kind\":\"certification\",\"title\":\"Cert\",\"state\":\"active\","
                                   "\"assessment\":{\"passing_score\":80,\"max_attempts\":3}}", NULL));
    /* Four events of theirs: two enrollments, progress, an attempt. */
    OK(enrollkit_enroll_json(s, "learner:er_gone", "{\"user_id\":\"er_gone\",\"program_id\":\"er_seat\"}", &out));
    field(out, "id", seat, sizeof seat);
    enrollkit_string_free(out);
    OK(enrollkit_set_progress(s, "learner:er_gone", seat, 30, NULL));
    OK(enrollkit_enroll(s, "admin", "er_gone", "er_cert", &out));
    snprintf(cert, sizeof cert, "%s", out ? out : "");
    enrollkit_string_free(out);
    OK(enrollkit_attempt_submit(s, "learner:er_gone", cert, 55, NULL));
    OK(enrollkit_enroll_json(s, "admin", "{\"user_id\":\"er_wait\",\"program_id\":\"er_seat\"}", &out));
    field(out, "id", waiting, sizeof waiting);
    CHECK(has(out, "\"status\":\"waitlisted\""));
    /* Others' records that name them: who enrolled someone, free text. */
    OK(enrollkit_enroll_json(s, "admin", "{\"user_id\":\"er_stay\",\"program_id\":\"er_cert\",\"added_by_user_id\":\"er_gone\"}",
                             &out));
    field(out, "id", other, sizeof other);
    enrollkit_string_free(out);
    OK(enrollkit_fail(s, "admin", other, "unknown_error", "reviewed by Gone Erasable", NULL));
    enrollkit_event_array *ev = NULL;
    OK(enrollkit_history_typed(s, "admin", other, &ev));
    const int64_t last_seq = enrollkit_event_seq(enrollkit_event_array_item(ev, enrollkit_event_array_count(ev) - 1));
    enrollkit_event_array_free(ev);
    char *before = NULL, *after = NULL;
    OK(enrollkit_stats(s, &before));

    /* Only an admin; a user that does not exist; refusals change nothing and write nothing. */
    out = SENTINEL;
    EXPECT(enrollkit_erase_user(s, "system", "er_gone", &out), ENROLLKIT_RESULT_PERMISSION_DENIED);
    CHECK(last_details_have("\"code\":\"permission_denied\""));
    EXPECT(enrollkit_erase_user(s, "learner:er_gone", "er_gone", &out), ENROLLKIT_RESULT_PERMISSION_DENIED);
    EXPECT(enrollkit_erase_user(s, "learner:er_stay", "er_gone", NULL), ENROLLKIT_RESULT_PERMISSION_DENIED);
    EXPECT(enrollkit_erase_user(s, "admin", "er_nobody", &out), ENROLLKIT_RESULT_NOT_FOUND);
    CHECK(last_details_have("\"code\":\"not_found\""));
    EXPECT(enrollkit_erase_user(s, "admin", " ", &out), ENROLLKIT_RESULT_VALIDATION);
    EXPECT(enrollkit_erase_user(s, "root", "er_gone", &out), ENROLLKIT_RESULT_VALIDATION);
    CHECK(out == SENTINEL);
    OK(enrollkit_stats(s, &after));
    CHECK(before && after && strcmp(before, after) == 0);
    enrollkit_string_free(before);
    enrollkit_string_free(after);

    /* The erasure: {"tombstone", "enrollments", "events"}. */
    OK(enrollkit_erase_user(s, "admin", "er_gone", &out));
    field(out ? out : "", "tombstone", tombstone, sizeof tombstone);
    CHECK(strlen(tombstone) == 33 && strncmp(tombstone, "erased_", 7) == 0);
    snprintf(expect, sizeof expect, "{\"tombstone\":\"%s\",\"enrollments\":2,\"events\":4}", tombstone);
    CHECK(out != NULL && strcmp(out, expect) == 0);
    enrollkit_string_free(out);
    EXPECT(enrollkit_user_get(s, "er_gone", &out), ENROLLKIT_RESULT_NOT_FOUND);
    EXPECT(enrollkit_enrollment_get(s, "admin", seat, &out), ENROLLKIT_RESULT_NOT_FOUND);
    EXPECT(enrollkit_enrollment_get(s, "admin", cert, &out), ENROLLKIT_RESULT_NOT_FOUND);
    /* Their history stays, in order, under the tombstone, without reasons. */
    OK(enrollkit_history(s, "admin", seat, &out));
    CHECK(out != NULL && count_of(out, "\"reason\":null") == 2 && strstr(out, "er_gone") == NULL);
    snprintf(expect, sizeof expect, "\"user_id\":\"%s\"", tombstone);
    CHECK(out != NULL && count_of(out, expect) == 2);
    CHECK(has(out, "\"action\":\"progress\""));
    OK(enrollkit_history_typed(s, "admin", cert, &ev));
    CHECK(enrollkit_event_array_count(ev) == 2);
    for (size_t i = 0; i < enrollkit_event_array_count(ev); i++) {
        const enrollkit_event *event = enrollkit_event_array_item(ev, i);
        CHECK(STREQ(enrollkit_event_user_id(event), tombstone) && enrollkit_event_reason(event) == NULL);
        CHECK(enrollkit_event_seq(event) > 0);
    }
    CHECK(STREQ(enrollkit_event_action(enrollkit_event_array_item(ev, 0)), "enrolled"));
    CHECK(STREQ(enrollkit_event_to_status(enrollkit_event_array_item(ev, 0)), "enrolled")); /* statuses are kept */
    CHECK(STREQ(enrollkit_event_action(enrollkit_event_array_item(ev, 1)), "attempt"));
    enrollkit_event_array_free(ev);
    /* The freed seat went to the waitlist; others no longer name them. */
    OK(enrollkit_enrollment_get(s, "admin", waiting, &out));
    CHECK(has(out, "\"status\":\"active\""));
    OK(enrollkit_enrollment_get(s, "admin", other, &out));
    CHECK(out != NULL && strstr(out, "Gone Erasable") == NULL && strstr(out, "er_gone") == NULL);
    CHECK(out != NULL && strstr(out, tombstone) != NULL); /* "reviewed by erased_..." */
    CHECK(has(out, "\"added_by_user_id\":null"));
    OK(enrollkit_user_get(s, "er_stay", &out));
    CHECK(has(out, "\"manager_id\":null"));
    /* In the feed: one user_erased event (user and enrollment: the tombstone), then the
     * promotion. */
    OK(enrollkit_events_after(s, "admin", last_seq, 100, &out));
    CHECK(out != NULL && count_of(out, "\"action\":\"user_erased\"") == 1 && strstr(out, "er_gone") == NULL);
    CHECK(has(out, "\"action\":\"promote\""));
    OK(enrollkit_events_after_typed(s, "admin", last_seq, 100, &ev));
    CHECK(enrollkit_event_array_count(ev) == 2);
    {
        const enrollkit_event *erased = enrollkit_event_array_item(ev, 0);
        CHECK(STREQ(enrollkit_event_action(erased), "user_erased") && STREQ(enrollkit_event_actor(erased), "admin"));
        CHECK(STREQ(enrollkit_event_user_id(erased), tombstone) && STREQ(enrollkit_event_enrollment_id(erased), tombstone));
        CHECK(STREQ(enrollkit_event_reason(erased), "enrollments=2"));
    }
    enrollkit_event_array_free(ev);
    /* Once erased, not found; a person without enrollments; out may be NULL. */
    out = SENTINEL;
    EXPECT(enrollkit_erase_user(s, "admin", "er_gone", &out), ENROLLKIT_RESULT_NOT_FOUND);
    CHECK(out == SENTINEL);
    OK(enrollkit_erase_user(s, "admin", "er_lone", NULL));
    EXPECT(enrollkit_user_get(s, "er_lone", &out), ENROLLKIT_RESULT_NOT_FOUND);
    CHECK(out == SENTINEL);
    /* Compacting changes no record. */
    OK(enrollkit_stats(s, &before));
    OK(enrollkit_compact(s));
    OK(enrollkit_compact(s));
    OK(enrollkit_stats(s, &after));
    CHECK(before && after && strcmp(before, after) == 0);
    enrollkit_string_free(before);
    enrollkit_string_free(after);
    OK(enrollkit_user_get(s, "er_stay", &out));
    CHECK(has(out, "\"id\":\"er_stay\""));
    OK(enrollkit_check(s, &out));
    CHECK(has(out, "[]"));
    enrollkit_store_free(s);
}

/* Whether the file `path` holds the bytes of `needle` (0 when it does not exist). */
static int file_has(const char *path, const char *needle) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t cap = 1 << 16, len = 0, n, size = strlen(needle);
    char *buf = malloc(cap);
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) break;
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    int found = 0;
    for (size_t i = 0; buf && !found && i + size <= len; i++) found = memcmp(buf + i, needle, size) == 0;
    free(buf);
    return found;
}

/* After enrollkit_erase_user and enrollkit_compact, an SQLite file and its WAL hold none of the
 * person's id, email or name; a read-only store compacts nothing. */
static void test_erasure_on_file(const char *dir) {
    static const char *const NEEDLES[] = {"vic_q7x9z2k", "victim.q7x9z2k@example.org", "Vicky Qsevenxninez"};
    char path[512], wal[600], *out = NULL;
    snprintf(path, sizeof path, "%s/erase.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    enrollkit_store *s = NULL;
    OK(enrollkit_store_open(path, 0, &s));
    OK(enrollkit_user_upsert(s, "{\"id\":\"vic_q7x9z2k\",\"email\":\"victim.q7x9z2k@example.org\","
                                "\"display_name\":\"Vicky Qsevenxninez\"}", NULL));
    OK(enrollkit_users_upsert(s, "[{\"id\":\"o1\",\"manager_id\":\"vic_q7x9z2k\"},{\"id\":\"o2\"},{\"id\":\"o3\"}]", NULL));
    OK(enrollkit_program_create(s, "{\"id\":\"seat\",\"kind\":\"course\",\"title\":\"One seat\",\"state\":\"active\","
                                   "\"self_enrollment\":true,\"policy\":{\"capacity\":1,\"waitlist\":true}}", NULL));
    OK(enrollkit_program_create(s, "{\"id\":\"cert\",\"kind\":\"certification\",\"title\":\"Cert\",\"state\":\"active\","
                                   "\"assessment\":{\"passing_score\":80}}", NULL));
    char seat[64], cert[64], o2[64], o3[64];
    OK(enrollkit_enroll(s, "learner:vic_q7x9z2k", "vic_q7x9z2k", "seat", &out));
    snprintf(seat, sizeof seat, "%s", out ? out : "");
    enrollkit_string_free(out);
    OK(enrollkit_set_progress(s, "learner:vic_q7x9z2k", seat, 40, NULL));
    OK(enrollkit_enroll(s, "admin", "o1", "seat", NULL));
    OK(enrollkit_enroll(s, "admin", "vic_q7x9z2k", "cert", &out));
    snprintf(cert, sizeof cert, "%s", out ? out : "");
    enrollkit_string_free(out);
    OK(enrollkit_attempt_submit(s, "learner:vic_q7x9z2k", cert, 61.5, NULL));
    OK(enrollkit_enroll_json(s, "admin", "{\"user_id\":\"o2\",\"program_id\":\"cert\",\"added_by_user_id\":\"vic_q7x9z2k\"}",
                             &out));
    field(out ? out : "", "id", o2, sizeof o2);
    enrollkit_string_free(out);
    OK(enrollkit_assign_mentor(s, "admin", o2, "vic_q7x9z2k", NULL));
    OK(enrollkit_enroll(s, "admin", "o3", "cert", &out));
    snprintf(o3, sizeof o3, "%s", out ? out : "");
    enrollkit_string_free(out);
    OK(enrollkit_fail(s, "admin", o3, "unknown_error", "asked Vicky Qsevenxninez (victim.q7x9z2k@example.org) to review",
                      NULL));
    /* Before: the file or its WAL holds each of them (the search below can see them). */
    for (size_t i = 0; i < 3; i++) CHECK(file_has(path, NEEDLES[i]) || file_has(wal, NEEDLES[i]));

    OK(enrollkit_erase_user(s, "admin", "vic_q7x9z2k", &out));
    CHECK(has(out, "\"enrollments\":2,"));
    OK(enrollkit_compact(s));
    for (size_t i = 0; i < 3; i++) {
        CHECK(!file_has(path, NEEDLES[i]));
        CHECK(!file_has(wal, NEEDLES[i]));
    }
    OK(enrollkit_user_get(s, "o1", &out));
    CHECK(has(out, "\"manager_id\":null"));
    OK(enrollkit_check(s, &out));
    CHECK(has(out, "[]"));
    enrollkit_store_free(s);
    for (size_t i = 0; i < 3; i++) {
        CHECK(!file_has(path, NEEDLES[i]));
        CHECK(!file_has(wal, NEEDLES[i]));
    }

    /* A read-only store neither erases nor compacts. */
    OK(enrollkit_store_open(path, ENROLLKIT_OPEN_READ_ONLY, &s));
    out = SENTINEL;
    EXPECT(enrollkit_erase_user(s, "admin", "o2", &out), ENROLLKIT_RESULT_STORAGE);
    CHECK(out == SENTINEL);
    EXPECT(enrollkit_compact(s), ENROLLKIT_RESULT_STORAGE);
    CHECK(last_details_have("\"code\":\"storage\""));
    OK(enrollkit_user_get(s, "o2", &out));
    CHECK(has(out, "\"id\":\"o2\""));
    enrollkit_store_free(s);
    NUL(enrollkit_compact(NULL));
}

/* The typed suites on a new store: in memory, or at `location` when it is not NULL (two
 * PostgreSQL databases, when the tests run under scripts/pg). */
static void test_typed(const char *location) {
    enrollkit_store *s = NULL;
    if (location)
        OK(enrollkit_store_open(location, ENROLLKIT_OPEN_MANUAL_CLOCK, &s));
    else
        OK(enrollkit_store_open_in_memory(ENROLLKIT_OPEN_MANUAL_CLOCK, &s));
    OK(enrollkit_store_set_time(s, "2026-01-15T10:00:00Z"));
    setup(s);
    test_typed_users_and_programs(s);
    test_typed_enrollments(s);
    test_typed_null_and_utf8(s);
    test_typed_schedules(s);
    test_typed_queue(s);
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
    test_queue(s);
    test_files(s, dir);
    enrollkit_store_free(s);
    test_manual_clock();
    test_typed(NULL);
    test_policies(NULL);
    test_waitlist(NULL);
    test_erasure(NULL);
    test_erasure_on_file(dir);
    test_busy(dir);
    /* The same store suites on PostgreSQL: ENROLLKIT_TEST_POSTGRES_DB and _DB2 name two new,
     * empty databases (scripts/test-c creates them under scripts/pg). */
    const char *pg = getenv("ENROLLKIT_TEST_POSTGRES_DB"), *pg2 = getenv("ENROLLKIT_TEST_POSTGRES_DB2");
    if (pg && *pg && pg2 && *pg2) {
        enrollkit_store *p = NULL;
        OK(enrollkit_store_open(pg, 0, &p));
        setup(p);
        test_users_and_programs(p);
        test_enrollments(p);
        test_null_and_utf8(p);
        test_queue(p);
        enrollkit_store_free(p);
        test_policies(pg);
        test_waitlist(pg);
        test_erasure(pg);
        test_typed(pg2);
        printf("test_api: the store suites ran on PostgreSQL too\n");
    } else {
        printf("test_api: SKIPPED on PostgreSQL (no ENROLLKIT_TEST_POSTGRES_DB)\n");
    }
    printf("test_api: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
