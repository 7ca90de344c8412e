// Proves include/enrollkit.h is C++-clean (-std=c++17 -Wall -Wextra -Werror) and usable with
// RAII: a course scenario with owned strings and a handle that frees itself.
#include "enrollkit.h"

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

struct StoreDeleter {
    void operator()(enrollkit_store *s) const { enrollkit_store_free(s); }
};
using Store = std::unique_ptr<enrollkit_store, StoreDeleter>;

struct StringDeleter {
    void operator()(char *s) const { enrollkit_string_free(s); }
};
using Owned = std::unique_ptr<char, StringDeleter>;

void ok(enrollkit_result r, const char *what) {
    if (r != ENROLLKIT_RESULT_OK)
        throw std::runtime_error(std::string(what) + ": " + enrollkit_result_name(r) + ": " +
                                 enrollkit_last_error_message());
}

std::string take(char *s) { return Owned(s).get(); }

}  // namespace

int main() {
    try {
        enrollkit_store *raw = nullptr;
        ok(enrollkit_store_open_in_memory(ENROLLKIT_OPEN_MANUAL_CLOCK, &raw), "open");
        Store store(raw);
        ok(enrollkit_store_set_time(store.get(), "2026-01-15T10:00:00Z"), "clock");
        ok(enrollkit_user_upsert(store.get(), R"({"id":"usr_lrn001","email":"l@example.com"})", nullptr), "user");
        ok(enrollkit_program_create(store.get(),
                                    R"({"id":"crs_ghi789","kind":"course","title":"C++","state":"active","self_enrollment":true})",
                                    nullptr),
           "program");
        char *id = nullptr;
        ok(enrollkit_enroll(store.get(), "learner:usr_lrn001", "usr_lrn001", "crs_ghi789", &id), "enroll");
        const std::string enrollment = take(id);
        if (enrollkit_enroll(store.get(), "admin", "usr_lrn001", "crs_ghi789", nullptr) !=
            ENROLLKIT_RESULT_ALREADY_ENROLLED)
            throw std::runtime_error("second enrollment was not refused");
        ok(enrollkit_set_progress(store.get(), "learner:usr_lrn001", enrollment.c_str(), 100.0, nullptr), "progress");
        char *json = nullptr;
        ok(enrollkit_render(store.get(), "admin", enrollment.c_str(), ENROLLKIT_VIEW_COURSE, &json), "render");
        const std::string course = take(json);
        const std::string expected = R"({"id":")" + enrollment +
                                     R"(","user_id":"usr_lrn001","course_id":"crs_ghi789","status":"completed",)"
                                     R"("progress_percent":100,"enrolled_at":"2026-01-15T10:00:00.000Z",)"
                                     R"("completed_at":"2026-01-15T10:00:00.000Z"})";
        if (course != expected) throw std::runtime_error("render: " + course);
        std::printf("test_cpp: ok (%s)\n", enrollkit_version());
        return 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "test_cpp: %s\n", e.what());
        return 1;
    }
}
