/* Built by tests/cmake/CMakeLists.txt against an installed enrollkit: enrolls a user with the
 * typed functions and prints the enrollment's status. Exit status 0 only if it is "completed". */
#include <enrollkit.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    enrollkit_store *store = NULL;
    enrollkit_user_batch *users = NULL;
    enrollkit_enrollment *e = NULL;
    int ok = 0;
    if (enrollkit_store_open_in_memory(0, &store) == ENROLLKIT_RESULT_OK &&
        enrollkit_user_batch_new(&users) == ENROLLKIT_RESULT_OK &&
        enrollkit_user_batch_add(users, "usr_1") == ENROLLKIT_RESULT_OK &&
        enrollkit_users_upsert_typed(store, users, NULL) == ENROLLKIT_RESULT_OK &&
        enrollkit_program_create(store, "{\"id\":\"crs_1\",\"kind\":\"course\",\"title\":\"CMake\",\"state\":\"active\"}",
                                 NULL) == ENROLLKIT_RESULT_OK &&
        enrollkit_enroll_typed(store, "admin", "usr_1", "crs_1", &e) == ENROLLKIT_RESULT_OK) {
        enrollkit_enrollment *done = NULL;
        if (enrollkit_set_progress_typed(store, "admin", enrollkit_enrollment_id(e), 100, &done) == ENROLLKIT_RESULT_OK) {
            printf("consumer (C, enrollkit %s): %s\n", enrollkit_version(), enrollkit_enrollment_status(done));
            ok = strcmp(enrollkit_enrollment_status(done), "completed") == 0;
        }
        enrollkit_enrollment_free(done);
    }
    if (!ok) fprintf(stderr, "consumer: %s\n", enrollkit_last_error_message());
    enrollkit_enrollment_free(e);
    enrollkit_user_batch_free(users);
    enrollkit_store_free(store);
    return ok ? 0 : 1;
}
