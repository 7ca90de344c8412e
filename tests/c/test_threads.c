/*
 * Several threads enroll and progress on ONE store handle at once (half of them through the JSON
 * functions, half through the typed ones) and read ONE shared record handle at once (its strings
 * are converted on first read, by whichever thread comes first); afterwards every enrollment is
 * complete, every history is there, and the store's invariants hold.
 * Usage: test_threads SCRATCH_DIR
 */
#define _POSIX_C_SOURCE 200809L
#include "enrollkit.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define THREADS 8
#define PER_THREAD 25

static enrollkit_store *store;
static const enrollkit_program *shared; /* read by every thread */
static int errors[THREADS];

/* The typed way: an enrollment handle, progress, a listing through a query. */
static void typed_round(int t, const char *user, const char *actor) {
    enrollkit_enrollment *e = NULL;
    if (enrollkit_enroll_typed(store, actor, user, "crs", &e) != ENROLLKIT_RESULT_OK) { errors[t]++; return; }
    if (enrollkit_enroll_typed(store, "admin", user, "crs", NULL) != ENROLLKIT_RESULT_ALREADY_ENROLLED) errors[t]++;
    for (int p = 25; p <= 100; p += 25) {
        enrollkit_enrollment *after = NULL;
        if (enrollkit_set_progress_typed(store, actor, enrollkit_enrollment_id(e), p, &after) != ENROLLKIT_RESULT_OK ||
            enrollkit_enrollment_progress(after) != p)
            errors[t]++;
        enrollkit_enrollment_free(after);
    }
    enrollkit_list_query *q = NULL;
    enrollkit_enrollment_page *page = NULL;
    if (enrollkit_list_query_new(&q) != ENROLLKIT_RESULT_OK || enrollkit_list_typed(store, actor, q, &page) != ENROLLKIT_RESULT_OK ||
        enrollkit_enrollment_page_count(page) != 1 ||
        strcmp(enrollkit_enrollment_id(enrollkit_enrollment_page_item(page, 0)), enrollkit_enrollment_id(e)) != 0)
        errors[t]++;
    enrollkit_enrollment_page_free(page);
    enrollkit_list_query_free(q);
    enrollkit_enrollment_free(e);
}

static void *worker(void *arg) {
    int t = (int)(size_t)arg;
    char user[32], actor[48], *id = NULL;
    for (int i = 0; i < PER_THREAD; i++) {
        snprintf(user, sizeof user, "u%d_%d", t, i);
        snprintf(actor, sizeof actor, "learner:%s", user);
        char json[96];
        snprintf(json, sizeof json, "{\"id\":\"%s\"}", user);
        if (enrollkit_user_upsert(store, json, NULL) != ENROLLKIT_RESULT_OK) { errors[t]++; continue; }
        if (strcmp(enrollkit_program_id(shared), "crs") != 0 || strcmp(enrollkit_program_title(shared), "C") != 0)
            errors[t]++;
        if (t % 2) {
            typed_round(t, user, actor);
            continue;
        }
        if (enrollkit_enroll(store, actor, user, "crs", &id) != ENROLLKIT_RESULT_OK) { errors[t]++; continue; }
        /* A second enroll of the same user from this thread must be refused. */
        if (enrollkit_enroll(store, "admin", user, "crs", NULL) != ENROLLKIT_RESULT_ALREADY_ENROLLED) errors[t]++;
        for (int p = 25; p <= 100; p += 25)
            if (enrollkit_set_progress(store, actor, id, p, NULL) != ENROLLKIT_RESULT_OK) errors[t]++;
        char *list = NULL;
        if (enrollkit_list(store, actor, "{}", &list) != ENROLLKIT_RESULT_OK || !strstr(list, id)) errors[t]++;
        enrollkit_string_free(list);
        enrollkit_string_free(id);
        id = NULL;
    }
    return NULL;
}

int main(int argc, char **argv) {
    char path[512];
    snprintf(path, sizeof path, "%s/threads.db", argc > 1 ? argv[1] : ".");
    remove(path);
    if (enrollkit_store_open(path, 0, &store) != ENROLLKIT_RESULT_OK) {
        fprintf(stderr, "open: %s\n", enrollkit_last_error_message());
        return 1;
    }
    if (enrollkit_program_create(store, "{\"id\":\"crs\",\"kind\":\"course\",\"title\":\"C\",\"state\":\"active\","
                                        "\"self_enrollment\":true}", NULL) != ENROLLKIT_RESULT_OK) return 1;
    enrollkit_program *program = NULL;
    if (enrollkit_program_get_typed(store, "crs", &program) != ENROLLKIT_RESULT_OK) return 1;
    shared = program;
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) pthread_create(&threads[t], NULL, worker, (void *)(size_t)t);
    for (int t = 0; t < THREADS; t++) pthread_join(threads[t], NULL);
    int failures = 0;
    for (int t = 0; t < THREADS; t++) failures += errors[t];
    enrollkit_program_free(program);

    /* Count completed enrollments page by page and the events of the feed. */
    int completed = 0, events = 0;
    char query[160], cursor[64] = "";
    for (;;) {
        char *page = NULL;
        if (cursor[0]) snprintf(query, sizeof query, "{\"status\":\"completed\",\"limit\":100,\"starting_after\":\"%s\"}", cursor);
        else snprintf(query, sizeof query, "{\"status\":\"completed\",\"limit\":100}");
        if (enrollkit_list(store, "admin", query, &page) != ENROLLKIT_RESULT_OK) { failures++; break; }
        for (char *p = page; (p = strstr(p, "\"status\":\"completed\"")); p++) completed++;
        char *next = strstr(page, "\"next_cursor\":\"");
        if (next) { next += 15; snprintf(cursor, sizeof cursor, "%.30s", next); }
        enrollkit_string_free(page);
        if (!next) break;
    }
    int64_t after = 0;
    for (;;) {
        char *batch = NULL;
        if (enrollkit_events_after(store, "admin", after, 1000, &batch) != ENROLLKIT_RESULT_OK) { failures++; break; }
        int n = 0;
        for (char *p = batch; (p = strstr(p, "\"seq\":")); p++) { n++; sscanf(p + 6, "%ld", (long *)&after); }
        enrollkit_string_free(batch);
        events += n;
        if (n == 0) break;
    }
    char *check = NULL;
    if (enrollkit_check(store, &check) != ENROLLKIT_RESULT_OK || strcmp(check, "[]") != 0) failures++;
    enrollkit_string_free(check);
    enrollkit_store_free(store);
    int expected = THREADS * PER_THREAD;
    printf("test_threads: %d threads, %d completed of %d, %d events (expected %d), %d errors\n", THREADS,
           completed, expected, events, expected * 5, failures);
    return failures == 0 && completed == expected && events == expected * 5 ? 0 : 1;
}
