/*
 * The `c` contender: workload W (bench/README.md) through enrollkit's C ABI, as a C
 * application would call it. Prints one JSON object of figures, like enrollkit-bench.
 *
 *   enrollkit_bench_c DB_PATH N [--programs P] [--ops OPS] [--rounds R] [--queries Q]
 *
 * It uses the typed handles, as a C application would: batches built with enrollkit_user_batch
 * and enrollkit_enroll_batch, results read through enrollkit_enroll_outcomes and
 * enrollkit_enrollment_page accessors, queries built with enrollkit_list_query. No JSON crosses
 * the ABI in the timed phases (program creation, untimed, uses the JSON function).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "enrollkit.h"

enum { CHUNK = 10000, STEPS = 10, PER_PAGE = 20 };

static size_t n_total, programs = 1000, ops = 10000, rounds = 5, queries = 1000;
static const char *db;

static void die(const char *what, enrollkit_result r) {
    fprintf(stderr, "enrollkit_bench_c: %s: %s (%s)\n", what, enrollkit_result_name(r),
            enrollkit_last_error_message());
    exit(1);
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        enrollkit_result r_ = (call);                                                              \
        if (r_ != ENROLLKIT_RESULT_OK) die(#call, r_);                                             \
    } while (0)

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A growing text buffer for request documents. */
typedef struct {
    char *s;
    size_t len, cap;
} buf;

static void put(buf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) exit(1);
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s) exit(1);
    }
}

typedef char id_buf[64];

/* Enrollments one round of phase B changes; phase B changes the first b_changed() (by creation
 * index): the NORMAL rounds' in turn, then FULL's. */
static size_t b_targets(void) {
    size_t t = ops / STEPS, most = n_total / (rounds + 1);
    return t < most ? t : most;
}

static size_t b_changed(void) { return (rounds + 1) * b_targets(); }

static size_t count_below(size_t limit, size_t j) {
    return limit > j ? (limit - j + programs - 1) / programs : 0;
}

static size_t last_page(size_t j) {
    size_t active = count_below(n_total, j) - count_below(b_changed(), j);
    size_t pages = (active + PER_PAGE - 1) / PER_PAGE;
    return pages ? pages : 1;
}

/* Phase A's enrollments (fills targets[0 .. b_changed())); out of line under this name: bench/run.py counts the instructions of
 * this function alone (callgrind --toggle-collect), as of median_round's. */
__attribute__((noinline)) static double bulk_enroll_rate(enrollkit_store *s, id_buf *targets) {
    size_t keep = b_changed(), kept = 0;
    enrollkit_enroll_batch *batch = NULL;
    CHECK(enrollkit_enroll_batch_new(&batch));
    char user[32], program[32];
    double start = now_s();
    for (size_t lo = 0; lo < n_total; lo += CHUNK) {
        size_t hi = lo + CHUNK < n_total ? lo + CHUNK : n_total;
        enrollkit_enroll_batch_clear(batch);
        for (size_t i = lo; i < hi; i++) {
            snprintf(user, sizeof user, "usr_%08zu", i);
            snprintf(program, sizeof program, "crs_%05zu", i % programs);
            CHECK(enrollkit_enroll_batch_add(batch, ENROLLKIT_USER_BY_ID, user, program));
        }
        enrollkit_enroll_outcomes *out = NULL;
        CHECK(enrollkit_enroll_many_typed(s, "admin", batch, ENROLLKIT_BATCH_ALL_OR_NOTHING, &out));
        for (size_t i = lo; i < hi; i++) {
            if (enrollkit_enroll_outcomes_kind(out, i - lo) != ENROLLKIT_OUTCOME_CREATED) {
                fprintf(stderr, "enrollkit_bench_c: row %zu not created\n", i);
                exit(1);
            }
            if (kept < keep)
                snprintf(targets[kept++], sizeof targets[0], "%s",
                         enrollkit_enrollment_id(enrollkit_enroll_outcomes_enrollment(out, i - lo)));
        }
        enrollkit_enroll_outcomes_free(out);
    }
    double rate = (double)n_total / (now_s() - start);
    enrollkit_enroll_batch_free(batch);
    return rate;
}

/* Phase A; fills targets[0 .. b_changed()). */
static void bulk(enrollkit_store *s, id_buf *targets, double *users_rate, double *enroll_rate) {
    buf b = {0};
    for (size_t j = 0; j < programs; j++) {
        b.len = 0;
        put(&b, "{\"id\":\"crs_%05zu\",\"kind\":\"course\",\"title\":\"Course %zu\",\"state\":\"active\","
                "\"self_enrollment\":true}", j, j);
        CHECK(enrollkit_program_create(s, b.s, NULL));
    }
    free(b.s);
    enrollkit_user_batch *users = NULL;
    CHECK(enrollkit_user_batch_new(&users));
    char id[32];
    double start = now_s();
    for (size_t lo = 0; lo < n_total; lo += CHUNK) {
        size_t hi = lo + CHUNK < n_total ? lo + CHUNK : n_total;
        enrollkit_user_batch_clear(users);
        for (size_t i = lo; i < hi; i++) {
            snprintf(id, sizeof id, "usr_%08zu", i);
            CHECK(enrollkit_user_batch_add(users, id));
        }
        uint64_t written = 0;
        CHECK(enrollkit_users_upsert_typed(s, users, &written));
    }
    *users_rate = (double)n_total / (now_s() - start);
    enrollkit_user_batch_free(users);
    *enroll_rate = bulk_enroll_rate(s, targets);
}

/* Phase B: read, check active, add 10 % (100 % completes), each its own transaction:
 * enrollkit_add_progress does all of it in one (it refuses an enrollment that is not active). */
static double single(enrollkit_store *s, id_buf *ids, size_t count) {
    double start = now_s();
    for (size_t k = 0; k < STEPS; k++)
        for (size_t i = 0; i < count; i++) CHECK(enrollkit_add_progress_typed(s, "admin", ids[i], 10, NULL));
    return (double)(count * STEPS) / (now_s() - start);
}

/* Lists a page of query q's program with `query` (reused: only the program and the page
 * change); writes the last row's id to last (unless NULL) and returns the number of rows.
 * `after` (a cursor) or `page` (1-based). */
static size_t list(enrollkit_store *s, enrollkit_list_query *query, size_t q, size_t page, const char *after,
                   char *last) {
    char program[32];
    snprintf(program, sizeof program, "crs_%05zu", q % programs);
    CHECK(enrollkit_list_query_set(query, ENROLLKIT_QUERY_PROGRAM_ID, program));
    if (after)
        CHECK(enrollkit_list_query_set_cursor(query, after, PER_PAGE));
    else
        CHECK(enrollkit_list_query_set_page(query, (uint32_t)page, PER_PAGE));
    enrollkit_enrollment_page *out = NULL;
    CHECK(enrollkit_list_typed(s, "admin", query, &out));
    size_t rows = enrollkit_enrollment_page_count(out);
    if (rows == 0) {
        fprintf(stderr, "enrollkit_bench_c: query %zu: empty page\n", q);
        exit(1);
    }
    if (last)
        snprintf(last, sizeof(id_buf), "%s", enrollkit_enrollment_id(enrollkit_enrollment_page_item(out, rows - 1)));
    enrollkit_enrollment_page_free(out);
    return rows;
}

enum listing { FIRST_PAGE, OFFSET_DEEP, KEYSET_DEEP };

/* One of phase C's kinds of listing, `queries` times: the rate. Out of line under this name, like
 * the Rust contenders' (bench/run.py counts its instructions per listing). */
__attribute__((noinline)) static double query_rate(enrollkit_store *s, enrollkit_list_query *query, enum listing kind,
                                                   id_buf *cursors) {
    double start = now_s();
    for (size_t q = 0; q < queries; q++) {
        if (kind == FIRST_PAGE) list(s, query, q, 1, NULL, NULL);
        else if (kind == OFFSET_DEEP) list(s, query, q, last_page(q % programs), NULL, NULL);
        else if (cursors[q][0]) list(s, query, q, 0, cursors[q], NULL);
        else list(s, query, q, 1, NULL, NULL);
    }
    return (double)queries / (now_s() - start);
}

/* A query of active enrollments, newest first. */
static enrollkit_list_query *active_newest_first(void) {
    enrollkit_list_query *query = NULL;
    CHECK(enrollkit_list_query_new(&query));
    CHECK(enrollkit_list_query_set(query, ENROLLKIT_QUERY_STATUS, "active"));
    CHECK(enrollkit_list_query_set_order(query, ENROLLKIT_ORDER_NEWEST_FIRST));
    return query;
}

static enrollkit_store *open_store(uint32_t flags) {
    enrollkit_store *s = NULL;
    CHECK(enrollkit_store_open(db, flags, &s));
    return s;
}

static size_t number(const char *s) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v == 0) {
        fprintf(stderr, "usage: enrollkit_bench_c DB_PATH N [--programs P] [--ops OPS] [--rounds R] "
                        "[--queries Q]\n");
        exit(2);
    }
    return (size_t)v;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Phase B with synchronous NORMAL: the median rate of `rounds` rounds of `per_round`
 * enrollments each; out of line under this name, like the Rust contenders' (bench/run.py counts
 * its instructions). */
__attribute__((noinline)) static double median_round(enrollkit_store *s, id_buf *targets, size_t per_round) {
    double *rates = calloc(rounds, sizeof *rates);
    if (!rates) {
        perror("enrollkit_bench_c: calloc");
        exit(1);
    }
    for (size_t r = 0; r < rounds; r++) rates[r] = single(s, targets + r * per_round, per_round);
    qsort(rates, rounds, sizeof *rates, by_value);
    double median = rates[rounds / 2];
    free(rates);
    return median;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc % 2 == 0) number("");
    db = argv[1];
    n_total = number(argv[2]);
    for (int i = 3; i < argc; i += 2) {
        size_t v = number(argv[i + 1]);
        if (strcmp(argv[i], "--programs") == 0) programs = v;
        else if (strcmp(argv[i], "--ops") == 0) ops = v;
        else if (strcmp(argv[i], "--rounds") == 0) rounds = v;
        else if (strcmp(argv[i], "--queries") == 0) queries = v;
        else number("");
    }
    if (programs > n_total || ops < STEPS || n_total < rounds + 1) number("");
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s%s", db, suffixes[i]);
        unlink(path);
    }

    double users, enroll;
    size_t per_round = b_targets();
    id_buf *targets = calloc(b_changed() + 1, sizeof *targets);
    enrollkit_store *s = open_store(0);
    bulk(s, targets, &users, &enroll);
    enrollkit_store_free(s);
    struct stat st;
    if (stat(db, &st) != 0) return 1;

    /* NORMAL: the median of `rounds` rounds, each on enrollments of its own. */
    s = open_store(0);
    double normal = median_round(s, targets, per_round);
    enrollkit_store_free(s);
    s = open_store(ENROLLKIT_OPEN_DURABILITY_FULL);
    double full = single(s, targets + rounds * per_round, per_round);
    enrollkit_store_free(s);

    s = open_store(0);
    enrollkit_list_query *query = active_newest_first();
    double rate[3];
    rate[0] = query_rate(s, query, FIRST_PAGE, NULL);
    rate[1] = query_rate(s, query, OFFSET_DEEP, NULL);
    /* Keyset: the cursor is the last id of the page before the last one (fetched untimed). */
    id_buf *cursors = calloc(queries, sizeof *cursors);
    for (size_t q = 0; q < queries; q++) {
        size_t last = last_page(q % programs);
        if (last > 1) list(s, query, q, last - 1, NULL, cursors[q]);
    }
    rate[2] = query_rate(s, query, KEYSET_DEEP, cursors);
    enrollkit_list_query_free(query);
    enrollkit_store_free(s);
    free(cursors);
    free(targets);

    printf("{\"contender\":\"c\",\"n\":%zu,\"users\":%f,\"enroll\":%f,\"single_normal\":%f,"
           "\"single_full\":%f,\"first_page\":%f,\"offset_deep\":%f,\"keyset_deep\":%f,"
           "\"db_bytes\":%lld}\n",
           n_total, users, enroll, normal, full, rate[0], rate[1], rate[2], (long long)st.st_size);
    return 0;
}
