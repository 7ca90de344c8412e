/*
 * enrollkit.hpp - C++17 interface to enrollkit, header-only, over the C interface of
 * enrollkit.h (link libenrollkit as for C).
 *
 * - Handles are RAII classes: move-only, their destructors call the C `_free` functions.
 *   enrollkit::store, enrollment, user, program own a handle; enrollment_page, user_array,
 *   program_array, event_array, claim_array and enroll_outcomes own a collection whose items
 *   are views (enrollment_view, user_view, program_view, event_view, claim) valid while the
 *   collection lives.
 *   An owning record is also its view: pass `enrollment` where `enrollment_view` is wanted.
 * - Accessors return std::string_view borrowed from the handle (valid while it lives),
 *   std::optional for absent values, std::vector for lists (of such string_views:
 *   user_view::partnerships, program_policy::prerequisites), and times as
 *   enrollkit::time_point (milliseconds since the epoch, UTC).
 * - Errors are exceptions: every failed call throws enrollkit::error, which carries the
 *   result code (code(), an enrollkit_result), its name, the message (what()) and the details
 *   as JSON (details(), e.g. {"code":"already_enrolled","existing_id":...}). Exceptions rather
 *   than an expected-style result because C++17 has no std::expected, because constructors
 *   (store::open) can only report failure by throwing, and because every operation can fail
 *   for reasons the caller rarely handles locally (busy, storage); callers that do handle a
 *   code catch enrollkit::error and test code().
 * - String arguments are enrollkit::zstring: a `const char *` or a `const std::string &`,
 *   NUL-terminated, borrowed for the call (nothing is copied). Optional ones accept nullptr.
 * - A store may be used from several threads at once; records may be read from several
 *   threads at once; batches and queries are used from one thread at a time.
 */
#ifndef ENROLLKIT_HPP
#define ENROLLKIT_HPP

#include "enrollkit.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace enrollkit {

/** An instant, in milliseconds since 1970-01-01T00:00:00Z. */
using time_point = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

/** The longest lease store::claim_due or store::renew_claim gives a claim: a day. */
inline constexpr std::chrono::milliseconds max_lease{ENROLLKIT_MAX_LEASE_MS};

/** A failed call: the result code, its details as JSON, and the message as what(). */
class error : public std::runtime_error {
public:
    error(enrollkit_result code, const std::string &message, std::string details)
        : std::runtime_error(message), code_(code), details_(std::move(details)) {}

    /** The result code, e.g. ENROLLKIT_RESULT_ALREADY_ENROLLED. */
    enrollkit_result code() const noexcept { return code_; }
    /** The code's stable name, e.g. "ENROLLKIT_RESULT_ALREADY_ENROLLED". */
    std::string_view name() const noexcept { return enrollkit_result_name(static_cast<int>(code_)); }
    /** The error as a JSON object: "code", "message" and its fields (existing_id, field, ...). */
    const std::string &details() const noexcept { return details_; }

private:
    enrollkit_result code_;
    std::string details_;
};

/** A NUL-terminated string argument, borrowed for the call: from a C string or std::string. */
class zstring {
public:
    zstring(const char *s) noexcept : p_(s) {}            // NOLINT: implicit by design
    zstring(const std::string &s) noexcept : p_(s.c_str()) {}  // NOLINT: implicit by design
    zstring(std::nullptr_t) noexcept : p_(nullptr) {}      // NOLINT: for optional arguments
    const char *c_str() const noexcept { return p_; }

private:
    const char *p_;
};

namespace detail {

/** Throws enrollkit::error for a failed result. */
inline void check(enrollkit_result r) {
    if (r != ENROLLKIT_RESULT_OK)
        throw error(r, enrollkit_last_error_message(), enrollkit_last_error_details());
}

inline std::string_view text(const char *s) noexcept { return s ? std::string_view(s) : std::string_view(); }

inline std::optional<std::string_view> optional_text(const char *s) {
    if (!s) return std::nullopt;
    return std::string_view(s);
}

inline std::optional<time_point> time(std::int64_t millis) {
    if (millis == ENROLLKIT_TIME_ABSENT) return std::nullopt;
    return time_point(std::chrono::milliseconds(millis));
}

inline std::int64_t millis(std::optional<time_point> t) noexcept {
    return t ? t->time_since_epoch().count() : ENROLLKIT_TIME_ABSENT;
}

/** Takes a string the C interface returned: copies it and releases the original. */
inline std::string take(char *s) {
    std::string copy = s ? s : "";
    enrollkit_string_free(s);
    return copy;
}

/** Takes an optional string the C interface returned (NULL: absent). */
inline std::optional<std::string> take_optional(char *s) {
    if (!s) return std::nullopt;
    return take(s);
}

/** Appends code point `cp` to `out` as UTF-8. */
inline void append_utf8(std::string &out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

/** A reader of the small JSON documents the C interface writes (string_array, erasure_of):
 * throws std::runtime_error with `what` at anything it does not expect. */
class json_reader {
public:
    json_reader(std::string_view json, const char *what) noexcept : json_(json), what_(what) {}

    [[noreturn]] void fail() const { throw std::runtime_error(what_); }
    /** Consumes `c` if it comes next (after space); returns whether it did. */
    bool accept(char c) {
        skip_space();
        if (i_ >= json_.size() || json_[i_] != c) return false;
        ++i_;
        return true;
    }
    void expect(char c) {
        if (!accept(c)) fail();
    }
    /** A string, its escapes decoded (UTF-8). */
    std::string string() {
        expect('"');
        std::string item;
        for (;;) {
            if (i_ >= json_.size()) fail();
            const char c = json_[i_++];
            if (c == '"') return item;
            if (c != '\\') {
                item += c;
                continue;
            }
            if (i_ >= json_.size()) fail();
            switch (json_[i_++]) {
                case '"': item += '"'; break;
                case '\\': item += '\\'; break;
                case '/': item += '/'; break;
                case 'b': item += '\b'; break;
                case 'f': item += '\f'; break;
                case 'n': item += '\n'; break;
                case 'r': item += '\r'; break;
                case 't': item += '\t'; break;
                case 'u': {
                    std::uint32_t cp = hex4();
                    if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair
                        if (json_.size() - i_ < 6 || json_[i_] != '\\' || json_[i_ + 1] != 'u') fail();
                        i_ += 2;
                        const std::uint32_t low = hex4();
                        if (low < 0xDC00 || low > 0xDFFF) fail();
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    }
                    append_utf8(item, cp);
                    break;
                }
                default: fail();
            }
        }
    }
    /** A whole number from 0 to 2^64 - 1 (no sign, fraction nor exponent). */
    std::uint64_t uint64() {
        skip_space();
        const std::size_t first = i_;
        std::uint64_t v = 0;
        while (i_ < json_.size() && json_[i_] >= '0' && json_[i_] <= '9') {
            const auto digit = static_cast<std::uint64_t>(json_[i_++] - '0');
            if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) fail();
            v = v * 10 + digit;
        }
        if (i_ == first || (json_[first] == '0' && i_ - first > 1)) fail();
        if (i_ < json_.size() && (json_[i_] == '.' || json_[i_] == 'e' || json_[i_] == 'E')) fail();
        return v;
    }
    /** Nothing but space left. */
    void end() {
        skip_space();
        if (i_ != json_.size()) fail();
    }

private:
    void skip_space() noexcept {
        while (i_ < json_.size() && (json_[i_] == ' ' || json_[i_] == '\n' || json_[i_] == '\r' || json_[i_] == '\t')) ++i_;
    }
    std::uint32_t hex4() {
        if (json_.size() - i_ < 4) fail();
        std::uint32_t v = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = json_[i_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
            else fail();
        }
        return v;
    }

    std::string_view json_;
    const char *what_;
    std::size_t i_ = 0;
};

/** The strings of a JSON array of strings the C interface wrote (e.g. enrollkit_expire_due's
 * ids); throws std::runtime_error for any other document. */
inline std::vector<std::string> string_array(std::string_view json) {
    json_reader in(json, "enrollkit: not a JSON array of strings");
    std::vector<std::string> items;
    in.expect('[');
    if (!in.accept(']')) {
        do {
            items.push_back(in.string());
        } while (in.accept(','));
        in.expect(']');
    }
    in.end();
    return items;
}

/** A move-only owner of a C handle released by Free. */
template <typename T, void (*Free)(T *)>
class owner {
public:
    explicit owner(T *p = nullptr) noexcept : p_(p) {}
    owner(owner &&other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
    owner &operator=(owner &&other) noexcept {
        if (this != &other) {
            Free(p_);
            p_ = std::exchange(other.p_, nullptr);
        }
        return *this;
    }
    owner(const owner &) = delete;
    owner &operator=(const owner &) = delete;
    ~owner() { Free(p_); }
    T *get() const noexcept { return p_; }

private:
    T *p_;
};

/** A random-access iterator over the items of a collection, by index. */
template <typename Collection, typename View>
class item_iterator {
public:
    using iterator_category = std::input_iterator_tag;
    using value_type = View;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = View;

    item_iterator(const Collection *c, std::size_t i) noexcept : c_(c), i_(i) {}
    View operator*() const { return (*c_)[i_]; }
    item_iterator &operator++() noexcept {
        ++i_;
        return *this;
    }
    item_iterator operator++(int) noexcept {
        item_iterator before = *this;
        ++i_;
        return before;
    }
    bool operator==(const item_iterator &o) const noexcept { return c_ == o.c_ && i_ == o.i_; }
    bool operator!=(const item_iterator &o) const noexcept { return !(*this == o); }

private:
    const Collection *c_;
    std::size_t i_;
};

}  // namespace detail

/** Lifecycle commands (enrollkit_transition). */
enum class command : std::uint32_t {
    start = ENROLLKIT_COMMAND_START,
    drop = ENROLLKIT_COMMAND_DROP,
    reactivate = ENROLLKIT_COMMAND_REACTIVATE,
    pause = ENROLLKIT_COMMAND_PAUSE,
    resume = ENROLLKIT_COMMAND_RESUME,
    cancel = ENROLLKIT_COMMAND_CANCEL,
    begin_processing = ENROLLKIT_COMMAND_BEGIN_PROCESSING,
    end_processing = ENROLLKIT_COMMAND_END_PROCESSING,
};

/** How a user is named: by id, email (case-insensitive) or external id. */
enum class user_by : std::uint32_t {
    id = ENROLLKIT_USER_BY_ID,
    email = ENROLLKIT_USER_BY_EMAIL,
    external_id = ENROLLKIT_USER_BY_EXTERNAL_ID,
};

/** What a refused row does to a batch. */
enum class batch_mode : std::uint32_t {
    all_or_nothing = ENROLLKIT_BATCH_ALL_OR_NOTHING,
    best_effort = ENROLLKIT_BATCH_BEST_EFFORT,
};

/** A reference API's JSON shape (store::render). */
enum class view : std::uint32_t {
    track = ENROLLKIT_VIEW_TRACK,
    certification = ENROLLKIT_VIEW_CERTIFICATION,
    course = ENROLLKIT_VIEW_COURSE,
};

/** A row's outcome in enroll_outcomes. */
enum class outcome : std::uint32_t {
    none = ENROLLKIT_OUTCOME_NONE,
    created = ENROLLKIT_OUTCOME_CREATED,
    already_enrolled = ENROLLKIT_OUTCOME_ALREADY_ENROLLED,
    failed = ENROLLKIT_OUTCOME_FAILED,
    not_applied = ENROLLKIT_OUTCOME_NOT_APPLIED,
};

/** A user field that user_batch::set sets. */
enum class user_field : std::uint32_t {
    email = ENROLLKIT_USER_FIELD_EMAIL,
    display_name = ENROLLKIT_USER_FIELD_DISPLAY_NAME,
    external_id = ENROLLKIT_USER_FIELD_EXTERNAL_ID,
    department = ENROLLKIT_USER_FIELD_DEPARTMENT,
    location = ENROLLKIT_USER_FIELD_LOCATION,
    manager_id = ENROLLKIT_USER_FIELD_MANAGER_ID,
    timezone = ENROLLKIT_USER_FIELD_TIMEZONE,
    hire_date = ENROLLKIT_USER_FIELD_HIRE_DATE,
};

/** An option that enroll_batch::set sets. */
enum class enroll_option : std::uint32_t {
    id = ENROLLKIT_ENROLL_ID,
    trigger = ENROLLKIT_ENROLL_TRIGGER,
    added_by_user_id = ENROLLKIT_ENROLL_ADDED_BY_USER_ID,
    added_by_program_id = ENROLLKIT_ENROLL_ADDED_BY_PROGRAM_ID,
    partnership_id = ENROLLKIT_ENROLL_PARTNERSHIP_ID,
    timezone = ENROLLKIT_ENROLL_TIMEZONE,
    start_at = ENROLLKIT_ENROLL_START_AT,
    /** An admin's reason for enrolling without the program's prerequisites. */
    override_prerequisites = ENROLLKIT_ENROLL_OVERRIDE_PREREQUISITES,
};

/** A flag that enroll_batch::set_flag turns on or off. */
enum class enroll_flag : std::uint32_t {
    allow_reenroll = ENROLLKIT_ENROLL_ALLOW_REENROLL,
    as_batch = ENROLLKIT_ENROLL_AS_BATCH,
};

/** A filter that list_query::set sets. */
enum class query_field : std::uint32_t {
    user_id = ENROLLKIT_QUERY_USER_ID,
    program_id = ENROLLKIT_QUERY_PROGRAM_ID,
    status = ENROLLKIT_QUERY_STATUS,
    trigger = ENROLLKIT_QUERY_TRIGGER,
};

/** A listing's order. */
enum class order : std::uint32_t {
    oldest_first = ENROLLKIT_ORDER_OLDEST_FIRST,
    newest_first = ENROLLKIT_ORDER_NEWEST_FIRST,
};

// ---------------------------------------------------------------------------------------------
// Records

/** An enrollment, borrowed: valid while its owner (an enrollment or a collection) lives. */
class enrollment_view {
public:
    explicit enrollment_view(const enrollkit_enrollment *p) noexcept : p_(p) {}
    const enrollkit_enrollment *get() const noexcept { return p_; }

    std::string_view id() const noexcept { return detail::text(enrollkit_enrollment_id(p_)); }
    std::string_view user_id() const noexcept { return detail::text(enrollkit_enrollment_user_id(p_)); }
    std::string_view program_id() const noexcept { return detail::text(enrollkit_enrollment_program_id(p_)); }
    /** "course", "certification" or "track". */
    std::string_view kind() const noexcept { return detail::text(enrollkit_enrollment_kind(p_)); }
    /** The status in the kind's vocabulary. */
    std::string_view status() const noexcept { return detail::text(enrollkit_enrollment_status(p_)); }
    std::optional<std::string_view> resume_status() const {
        return detail::optional_text(enrollkit_enrollment_resume_status(p_));
    }
    std::string_view trigger() const noexcept { return detail::text(enrollkit_enrollment_trigger(p_)); }
    std::optional<std::string_view> added_by_user_id() const {
        return detail::optional_text(enrollkit_enrollment_added_by_user_id(p_));
    }
    std::optional<std::string_view> added_by_program_id() const {
        return detail::optional_text(enrollkit_enrollment_added_by_program_id(p_));
    }
    std::optional<std::string_view> partnership_id() const {
        return detail::optional_text(enrollkit_enrollment_partnership_id(p_));
    }
    std::optional<std::string_view> mentor_id() const {
        return detail::optional_text(enrollkit_enrollment_mentor_id(p_));
    }
    std::optional<std::string_view> timezone() const {
        return detail::optional_text(enrollkit_enrollment_timezone(p_));
    }
    std::optional<std::string_view> failure_reason() const {
        return detail::optional_text(enrollkit_enrollment_failure_reason(p_));
    }
    std::optional<std::string_view> failure_message() const {
        return detail::optional_text(enrollkit_enrollment_failure_message(p_));
    }
    std::optional<std::string_view> previous_id() const {
        return detail::optional_text(enrollkit_enrollment_previous_id(p_));
    }
    std::optional<time_point> mentor_assigned_at() const {
        return detail::time(enrollkit_enrollment_mentor_assigned_at(p_));
    }
    time_point enrolled_at() const { return *detail::time(enrollkit_enrollment_enrolled_at(p_)); }
    std::optional<time_point> start_at() const { return detail::time(enrollkit_enrollment_start_at(p_)); }
    std::optional<time_point> started_at() const { return detail::time(enrollkit_enrollment_started_at(p_)); }
    std::optional<time_point> delivered_at() const { return detail::time(enrollkit_enrollment_delivered_at(p_)); }
    std::optional<time_point> completed_at() const { return detail::time(enrollkit_enrollment_completed_at(p_)); }
    std::optional<time_point> failed_at() const { return detail::time(enrollkit_enrollment_failed_at(p_)); }
    std::optional<time_point> dropped_at() const { return detail::time(enrollkit_enrollment_dropped_at(p_)); }
    std::optional<time_point> canceled_at() const { return detail::time(enrollkit_enrollment_canceled_at(p_)); }
    /** When the next step runs: computed from the program's step schedules, else the host's. */
    std::optional<time_point> next_step_at() const { return detail::time(enrollkit_enrollment_next_step_at(p_)); }
    /** While paused (tracks): when; resuming moves the next scheduled step by the pause. */
    std::optional<time_point> paused_at() const { return detail::time(enrollkit_enrollment_paused_at(p_)); }
    /** While a worker holds a claim on the due step (store::claim_due): the worker's id. */
    std::optional<std::string_view> claimed_by() const {
        return detail::optional_text(enrollkit_enrollment_claimed_by(p_));
    }
    /** While a worker holds a claim: until when; after it another worker may claim the step. */
    std::optional<time_point> lease_until() const { return detail::time(enrollkit_enrollment_lease_until(p_)); }
    /** When it must be finished by (the program's deadline policy); store::expire_due ends it
     * past then. Absent when the program had no deadline when it was enrolled. */
    std::optional<time_point> deadline_at() const { return detail::time(enrollkit_enrollment_deadline_at(p_)); }
    time_point updated_at() const { return *detail::time(enrollkit_enrollment_updated_at(p_)); }
    double progress() const noexcept { return enrollkit_enrollment_progress(p_); }
    std::uint32_t steps_delivered() const noexcept { return enrollkit_enrollment_steps_delivered(p_); }
    std::uint32_t steps_completed() const noexcept { return enrollkit_enrollment_steps_completed(p_); }
    std::uint32_t steps_skipped() const noexcept { return enrollkit_enrollment_steps_skipped(p_); }
    std::uint32_t steps_total() const noexcept { return enrollkit_enrollment_steps_total(p_); }
    double delivery_percent() const noexcept { return enrollkit_enrollment_delivery_percent(p_); }
    double completion_percent() const noexcept { return enrollkit_enrollment_completion_percent(p_); }
    std::uint32_t attempts() const noexcept { return enrollkit_enrollment_attempts(p_); }
    std::uint32_t attempt_number() const noexcept { return enrollkit_enrollment_attempt_number(p_); }
    std::optional<double> best_score() const {
        double v = 0;
        if (!enrollkit_enrollment_best_score(p_, &v)) return std::nullopt;
        return v;
    }
    std::optional<bool> passed() const {
        bool v = false;
        if (!enrollkit_enrollment_passed(p_, &v)) return std::nullopt;
        return v;
    }

protected:
    void reset(const enrollkit_enrollment *p) noexcept { p_ = p; }

private:
    const enrollkit_enrollment *p_;
};

/** An enrollment the caller owns (move-only; freed by its destructor). */
class enrollment : public enrollment_view {
public:
    explicit enrollment(enrollkit_enrollment *p) noexcept : enrollment_view(p), own_(p) {}
    enrollment(enrollment &&other) noexcept : enrollment_view(other.get()), own_(std::move(other.own_)) {
        other.reset(nullptr);
    }
    enrollment &operator=(enrollment &&other) noexcept {
        own_ = std::move(other.own_);
        reset(own_.get());
        other.reset(nullptr);
        return *this;
    }

private:
    detail::owner<enrollkit_enrollment, enrollkit_enrollment_free> own_;
};

/** One page of enrollments; its items are views valid while the page lives. */
class enrollment_page {
public:
    explicit enrollment_page(enrollkit_enrollment_page *p) noexcept : own_(p) {}
    std::size_t size() const noexcept { return enrollkit_enrollment_page_count(own_.get()); }
    bool empty() const noexcept { return size() == 0; }
    /** Item `i`; throws std::out_of_range past the end. */
    enrollment_view operator[](std::size_t i) const {
        const enrollkit_enrollment *item = enrollkit_enrollment_page_item(own_.get(), i);
        if (!item) throw std::out_of_range("enrollkit::enrollment_page index");
        return enrollment_view(item);
    }
    detail::item_iterator<enrollment_page, enrollment_view> begin() const { return {this, 0}; }
    detail::item_iterator<enrollment_page, enrollment_view> end() const { return {this, size()}; }
    bool has_more() const noexcept { return enrollkit_enrollment_page_has_more(own_.get()); }
    /** The next page's cursor (list_query::set_cursor); absent at the end. */
    std::optional<std::string_view> next_cursor() const {
        return detail::optional_text(enrollkit_enrollment_page_next_cursor(own_.get()));
    }

private:
    detail::owner<enrollkit_enrollment_page, enrollkit_enrollment_page_free> own_;
};

/** A user, borrowed. */
class user_view {
public:
    explicit user_view(const enrollkit_user *p) noexcept : p_(p) {}
    const enrollkit_user *get() const noexcept { return p_; }
    std::string_view id() const noexcept { return detail::text(enrollkit_user_id(p_)); }
    std::optional<std::string_view> email() const { return detail::optional_text(enrollkit_user_email(p_)); }
    std::optional<std::string_view> display_name() const {
        return detail::optional_text(enrollkit_user_display_name(p_));
    }
    std::optional<std::string_view> external_id() const {
        return detail::optional_text(enrollkit_user_external_id(p_));
    }
    std::optional<std::string_view> department() const {
        return detail::optional_text(enrollkit_user_department(p_));
    }
    std::optional<std::string_view> location() const { return detail::optional_text(enrollkit_user_location(p_)); }
    std::optional<std::string_view> manager_id() const {
        return detail::optional_text(enrollkit_user_manager_id(p_));
    }
    std::optional<std::string_view> timezone() const { return detail::optional_text(enrollkit_user_timezone(p_)); }
    /** "YYYY-MM-DD" (work anniversaries: store::enroll_anniversaries). */
    std::optional<std::string_view> hire_date() const { return detail::optional_text(enrollkit_user_hire_date(p_)); }
    std::size_t group_count() const noexcept { return enrollkit_user_group_count(p_); }
    /** Group `i`; throws std::out_of_range past the end. */
    std::string_view group(std::size_t i) const {
        const char *g = enrollkit_user_group(p_, i);
        if (!g) throw std::out_of_range("enrollkit::user group index");
        return g;
    }
    /** How many partnerships the partner user belongs to (0 for other users). */
    std::size_t partnership_count() const noexcept { return enrollkit_user_partnership_count(p_); }
    /** Partnership `i` (an id); throws std::out_of_range past the end. */
    std::string_view partnership(std::size_t i) const {
        const char *p = enrollkit_user_partnership(p_, i);
        if (!p) throw std::out_of_range("enrollkit::user partnership index");
        return p;
    }
    /** Every partnership (ids, valid while the user lives): a partner user's certification
     * enrollments name one of them (enroll_option::partnership_id). */
    std::vector<std::string_view> partnerships() const {
        std::vector<std::string_view> all;
        const std::size_t n = partnership_count();
        all.reserve(n);
        for (std::size_t i = 0; i < n; ++i) all.emplace_back(enrollkit_user_partnership(p_, i));
        return all;
    }

protected:
    void reset(const enrollkit_user *p) noexcept { p_ = p; }

private:
    const enrollkit_user *p_;
};

/** A user the caller owns. */
class user : public user_view {
public:
    explicit user(enrollkit_user *p) noexcept : user_view(p), own_(p) {}
    user(user &&other) noexcept : user_view(other.get()), own_(std::move(other.own_)) { other.reset(nullptr); }
    user &operator=(user &&other) noexcept {
        own_ = std::move(other.own_);
        reset(own_.get());
        other.reset(nullptr);
        return *this;
    }

private:
    detail::owner<enrollkit_user, enrollkit_user_free> own_;
};

/** Users returned by store::list_users; items valid while the array lives. */
class user_array {
public:
    explicit user_array(enrollkit_user_array *p) noexcept : own_(p) {}
    std::size_t size() const noexcept { return enrollkit_user_array_count(own_.get()); }
    bool empty() const noexcept { return size() == 0; }
    user_view operator[](std::size_t i) const {
        const enrollkit_user *item = enrollkit_user_array_item(own_.get(), i);
        if (!item) throw std::out_of_range("enrollkit::user_array index");
        return user_view(item);
    }
    detail::item_iterator<user_array, user_view> begin() const { return {this, 0}; }
    detail::item_iterator<user_array, user_view> end() const { return {this, size()}; }

private:
    detail::owner<enrollkit_user_array, enrollkit_user_array_free> own_;
};

/** When a track's step runs: `delay` `unit`s after `after`, at local time `at` when given. */
struct step_schedule {
    /** "start" (the enrollment's start) or "previous_step". */
    std::string_view after;
    std::uint32_t delay;
    /** "minutes", "hours", "days" or "business_days". */
    std::string_view unit;
    /** "HH:MM" in the enrollee's time zone; absent: the anchor's time of day. */
    std::optional<std::string_view> at;
};

/** One step of a program. */
struct step {
    std::string_view id;
    std::string_view type;
    std::string_view title;
    bool learner_completable;
    /** When it runs (tracks); absent without a schedule. */
    std::optional<step_schedule> schedule;
};

/** When each enrollment of a program must be finished by: one of the two is set. */
struct deadline {
    /** The same instant for every enrollment ("at"). */
    std::optional<time_point> at;
    /** A number of days (1 to 36500) after each enrollment ("after_days"). */
    std::optional<std::uint32_t> after_days;
};

/** A program's enrollment policies (program_view::policy); each optional. */
struct program_policy {
    /** Enrolling before it is refused (ENROLLKIT_RESULT_ENROLLMENT_CLOSED). */
    std::optional<time_point> enroll_opens_at;
    /** Enrolling at or after it is refused (ENROLLKIT_RESULT_ENROLLMENT_CLOSED). */
    std::optional<time_point> enroll_closes_at;
    /** Each enrollment's deadline_at follows from it; store::expire_due ends those past it. */
    std::optional<enrollkit::deadline> deadline;
    /** How many open enrollments the program holds at most. */
    std::optional<std::uint32_t> capacity;
    /** Whether enrolling into the full program joins a waitlist (else ENROLLKIT_RESULT_PROGRAM_FULL). */
    bool waitlist;
    /** Programs to complete first (ids, valid while the program lives); an admin may override
     * them (enroll_option::override_prerequisites). */
    std::vector<std::string_view> prerequisites;
};

/** A program, borrowed. */
class program_view {
public:
    explicit program_view(const enrollkit_program *p) noexcept : p_(p) {}
    const enrollkit_program *get() const noexcept { return p_; }
    std::string_view id() const noexcept { return detail::text(enrollkit_program_id(p_)); }
    std::string_view kind() const noexcept { return detail::text(enrollkit_program_kind(p_)); }
    std::string_view title() const noexcept { return detail::text(enrollkit_program_title(p_)); }
    std::optional<std::string_view> description() const {
        return detail::optional_text(enrollkit_program_description(p_));
    }
    std::string_view state() const noexcept { return detail::text(enrollkit_program_state(p_)); }
    bool self_enrollment() const noexcept { return enrollkit_program_self_enrollment(p_); }
    /** The assessment's passing score; absent without an assessment. */
    std::optional<double> passing_score() const {
        double v = 0;
        if (!enrollkit_program_passing_score(p_, &v)) return std::nullopt;
        return v;
    }
    /** The attempt limit; absent without an assessment or when unlimited. */
    std::optional<std::uint32_t> max_attempts() const {
        std::uint32_t v = 0;
        if (!enrollkit_program_max_attempts(p_, &v)) return std::nullopt;
        return v;
    }
    time_point created_at() const { return *detail::time(enrollkit_program_created_at(p_)); }
    time_point updated_at() const { return *detail::time(enrollkit_program_updated_at(p_)); }
    std::size_t step_count() const noexcept { return enrollkit_program_step_count(p_); }
    /** Step `i` in the program's order; throws std::out_of_range past the end. */
    enrollkit::step step(std::size_t i) const {
        const char *id = enrollkit_program_step_id(p_, i);
        if (!id) throw std::out_of_range("enrollkit::program step index");
        std::optional<step_schedule> schedule;
        if (enrollkit_program_step_has_schedule(p_, i))
            schedule = step_schedule{detail::text(enrollkit_program_step_schedule_after(p_, i)),
                                     enrollkit_program_step_schedule_delay(p_, i),
                                     detail::text(enrollkit_program_step_schedule_unit(p_, i)),
                                     detail::optional_text(enrollkit_program_step_schedule_at(p_, i))};
        return {id, enrollkit_program_step_type(p_, i), enrollkit_program_step_title(p_, i),
                enrollkit_program_step_learner_completable(p_, i), schedule};
    }
    /** The enrollment policies; all absent (false, empty) for a program without any. */
    program_policy policy() const {
        program_policy policy{detail::time(enrollkit_program_enroll_opens_at(p_)),
                              detail::time(enrollkit_program_enroll_closes_at(p_)),
                              std::nullopt,
                              std::nullopt,
                              enrollkit_program_waitlist(p_),
                              {}};
        const std::string_view kind = detail::text(enrollkit_program_deadline_kind(p_));
        if (kind == "at")
            policy.deadline = enrollkit::deadline{detail::time(enrollkit_program_deadline_at(p_)), std::nullopt};
        else if (kind == "after_days")
            policy.deadline = enrollkit::deadline{std::nullopt, enrollkit_program_deadline_after_days(p_)};
        std::uint32_t capacity = 0;
        if (enrollkit_program_capacity(p_, &capacity)) policy.capacity = capacity;
        const std::size_t n = enrollkit_program_prerequisite_count(p_);
        policy.prerequisites.reserve(n);
        for (std::size_t i = 0; i < n; ++i) policy.prerequisites.emplace_back(enrollkit_program_prerequisite(p_, i));
        return policy;
    }

protected:
    void reset(const enrollkit_program *p) noexcept { p_ = p; }

private:
    const enrollkit_program *p_;
};

/** A program the caller owns. */
class program : public program_view {
public:
    explicit program(enrollkit_program *p) noexcept : program_view(p), own_(p) {}
    program(program &&other) noexcept : program_view(other.get()), own_(std::move(other.own_)) {
        other.reset(nullptr);
    }
    program &operator=(program &&other) noexcept {
        own_ = std::move(other.own_);
        reset(own_.get());
        other.reset(nullptr);
        return *this;
    }

private:
    detail::owner<enrollkit_program, enrollkit_program_free> own_;
};

/** Programs returned by store::list_programs; items valid while the array lives. */
class program_array {
public:
    explicit program_array(enrollkit_program_array *p) noexcept : own_(p) {}
    std::size_t size() const noexcept { return enrollkit_program_array_count(own_.get()); }
    bool empty() const noexcept { return size() == 0; }
    program_view operator[](std::size_t i) const {
        const enrollkit_program *item = enrollkit_program_array_item(own_.get(), i);
        if (!item) throw std::out_of_range("enrollkit::program_array index");
        return program_view(item);
    }
    detail::item_iterator<program_array, program_view> begin() const { return {this, 0}; }
    detail::item_iterator<program_array, program_view> end() const { return {this, size()}; }

private:
    detail::owner<enrollkit_program_array, enrollkit_program_array_free> own_;
};

/** A history event, borrowed from its event_array. */
class event_view {
public:
    explicit event_view(const enrollkit_event *p) noexcept : p_(p) {}
    const enrollkit_event *get() const noexcept { return p_; }
    std::int64_t seq() const noexcept { return enrollkit_event_seq(p_); }
    std::string_view enrollment_id() const noexcept { return detail::text(enrollkit_event_enrollment_id(p_)); }
    std::string_view user_id() const noexcept { return detail::text(enrollkit_event_user_id(p_)); }
    std::string_view program_id() const noexcept { return detail::text(enrollkit_event_program_id(p_)); }
    std::string_view action() const noexcept { return detail::text(enrollkit_event_action(p_)); }
    std::optional<std::string_view> from_status() const {
        return detail::optional_text(enrollkit_event_from_status(p_));
    }
    std::optional<std::string_view> to_status() const { return detail::optional_text(enrollkit_event_to_status(p_)); }
    std::string_view actor() const noexcept { return detail::text(enrollkit_event_actor(p_)); }
    std::optional<std::string_view> reason() const { return detail::optional_text(enrollkit_event_reason(p_)); }
    time_point at() const { return *detail::time(enrollkit_event_at(p_)); }

private:
    const enrollkit_event *p_;
};

/** Events (store::history, store::events_after), oldest first. */
class event_array {
public:
    explicit event_array(enrollkit_event_array *p) noexcept : own_(p) {}
    std::size_t size() const noexcept { return enrollkit_event_array_count(own_.get()); }
    bool empty() const noexcept { return size() == 0; }
    event_view operator[](std::size_t i) const {
        const enrollkit_event *item = enrollkit_event_array_item(own_.get(), i);
        if (!item) throw std::out_of_range("enrollkit::event_array index");
        return event_view(item);
    }
    detail::item_iterator<event_array, event_view> begin() const { return {this, 0}; }
    detail::item_iterator<event_array, event_view> end() const { return {this, size()}; }

private:
    detail::owner<enrollkit_event_array, enrollkit_event_array_free> own_;
};

/** One claim of store::claim_due: the enrollment, claimed (`processing` or `processing_batch`,
 * claimed_by and lease_until set), and the step to run (absent when the program has none
 * pending, for work the host scheduled with store::set_next_step_at: deliver_claim,
 * complete_claim or skip_claim ends such a claim and clears its next_step_at; fail_claim is
 * refused with ENROLLKIT_RESULT_VALIDATION, there being no step to fail). Or one item of
 * store::due: the enrollment as it is (claimed or not) and the step that runs next. Valid while
 * its claim_array lives. */
struct claim {
    enrollment_view enrollment;
    std::optional<std::string_view> step_id;
};

/** The claims of store::claim_due, oldest due first, or the scheduled work of store::due,
 * soonest first; items valid while the array lives. */
class claim_array {
public:
    explicit claim_array(enrollkit_claim_array *p) noexcept : own_(p) {}
    std::size_t size() const noexcept { return enrollkit_claim_array_count(own_.get()); }
    bool empty() const noexcept { return size() == 0; }
    /** Claim `i`; throws std::out_of_range past the end. */
    claim operator[](std::size_t i) const {
        const enrollkit_enrollment *e = enrollkit_claim_array_enrollment(own_.get(), i);
        if (!e) throw std::out_of_range("enrollkit::claim_array index");
        return {enrollment_view(e), detail::optional_text(enrollkit_claim_array_step_id(own_.get(), i))};
    }
    detail::item_iterator<claim_array, claim> begin() const { return {this, 0}; }
    detail::item_iterator<claim_array, claim> end() const { return {this, size()}; }

private:
    detail::owner<enrollkit_claim_array, enrollkit_claim_array_free> own_;
};

/** One outcome per row of store::enroll_many, in the rows' order (store::enroll_anniversaries:
 * per user, by user id, each naming its user: user_id). */
class enroll_outcomes {
public:
    explicit enroll_outcomes(enrollkit_enroll_outcomes *p) noexcept : own_(p) {}
    std::size_t size() const noexcept { return enrollkit_enroll_outcomes_count(own_.get()); }
    /** Row `i`'s outcome (outcome::none past the end). */
    enrollkit::outcome kind(std::size_t i) const noexcept {
        return static_cast<enrollkit::outcome>(enrollkit_enroll_outcomes_kind(own_.get(), i));
    }
    /** The enrollment row `i` created (valid while the outcomes live); absent otherwise. */
    std::optional<enrollment_view> created(std::size_t i) const {
        const enrollkit_enrollment *e = enrollkit_enroll_outcomes_enrollment(own_.get(), i);
        if (!e) return std::nullopt;
        return enrollment_view(e);
    }
    /** The enrollment that blocked row `i`; absent unless outcome::already_enrolled. */
    std::optional<std::string_view> existing_id(std::size_t i) const {
        return detail::optional_text(enrollkit_enroll_outcomes_existing_id(own_.get(), i));
    }
    /** The user whose outcome row `i` is (store::enroll_anniversaries); absent for the rows of
     * store::enroll_many, and past the end. */
    std::optional<std::string_view> user_id(std::size_t i) const {
        return detail::optional_text(enrollkit_enroll_outcomes_user_id(own_.get(), i));
    }
    /** Why row `i` was refused (ENROLLKIT_RESULT_OK unless outcome::failed). */
    enrollkit_result error_code(std::size_t i) const noexcept { return enrollkit_enroll_outcomes_error(own_.get(), i); }
    std::optional<std::string_view> error_message(std::size_t i) const {
        return detail::optional_text(enrollkit_enroll_outcomes_error_message(own_.get(), i));
    }
    std::optional<std::string_view> error_details(std::size_t i) const {
        return detail::optional_text(enrollkit_enroll_outcomes_error_details(own_.get(), i));
    }

private:
    detail::owner<enrollkit_enroll_outcomes, enrollkit_enroll_outcomes_free> own_;
};

/** What store::erase_user did. */
struct erasure {
    /** The id that stands for the person in the history from now on ("erased_" and 26 random
     * characters: it says nothing about them). */
    std::string tombstone;
    /** Enrollments deleted (with their step progress and attempts). */
    std::uint64_t enrollments;
    /** History events scrubbed. */
    std::uint64_t events;
};

namespace detail {

/** The erasure enrollkit_erase_user wrote as JSON ({"tombstone", "enrollments", "events"}, in
 * any order); throws std::runtime_error for any other document. */
inline erasure erasure_of(std::string_view json) {
    json_reader in(json, "enrollkit: not an erasure");
    erasure e{{}, 0, 0};
    bool tombstone = false, enrollments = false, events = false;
    in.expect('{');
    do {
        const std::string key = in.string();
        in.expect(':');
        if (key == "tombstone" && !tombstone) {
            e.tombstone = in.string();
            tombstone = true;
        } else if (key == "enrollments" && !enrollments) {
            e.enrollments = in.uint64();
            enrollments = true;
        } else if (key == "events" && !events) {
            e.events = in.uint64();
            events = true;
        } else {
            in.fail();
        }
    } while (in.accept(','));
    in.expect('}');
    in.end();
    if (!tombstone || !enrollments || !events) in.fail();
    return e;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Builders

/** Users for store::upsert_users: add(id), then set fields of the user added last. */
class user_batch {
public:
    user_batch() {
        enrollkit_user_batch *p = nullptr;
        detail::check(enrollkit_user_batch_new(&p));
        own_ = detail::owner<enrollkit_user_batch, enrollkit_user_batch_free>(p);
    }
    user_batch &add(zstring id) {
        detail::check(enrollkit_user_batch_add(own_.get(), id.c_str()));
        return *this;
    }
    /** Sets a field of the user added last (nullptr: absent). */
    user_batch &set(user_field field, zstring value) {
        detail::check(enrollkit_user_batch_set(own_.get(), static_cast<std::uint32_t>(field), value.c_str()));
        return *this;
    }
    user_batch &add_group(zstring group) {
        detail::check(enrollkit_user_batch_add_group(own_.get(), group.c_str()));
        return *this;
    }
    /** Adds a partnership (an id) to the user added last: a partner user. */
    user_batch &add_partnership(zstring partnership) {
        detail::check(enrollkit_user_batch_add_partnership(own_.get(), partnership.c_str()));
        return *this;
    }
    std::size_t size() const noexcept { return enrollkit_user_batch_count(own_.get()); }
    void clear() noexcept { enrollkit_user_batch_clear(own_.get()); }
    const enrollkit_user_batch *get() const noexcept { return own_.get(); }

private:
    detail::owner<enrollkit_user_batch, enrollkit_user_batch_free> own_;
};

/** Enroll requests for store::enroll_many: add a row, then set options of the row added last. */
class enroll_batch {
public:
    enroll_batch() {
        enrollkit_enroll_batch *p = nullptr;
        detail::check(enrollkit_enroll_batch_new(&p));
        own_ = detail::owner<enrollkit_enroll_batch, enrollkit_enroll_batch_free>(p);
    }
    enroll_batch &add(zstring user_id, zstring program_id) { return add(user_by::id, user_id, program_id); }
    enroll_batch &add(user_by by, zstring user, zstring program_id) {
        detail::check(enrollkit_enroll_batch_add(own_.get(), static_cast<std::uint32_t>(by), user.c_str(),
                                                 program_id.c_str()));
        return *this;
    }
    /** Sets an option of the row added last (nullptr: the default). */
    enroll_batch &set(enroll_option option, zstring value) {
        detail::check(enrollkit_enroll_batch_set(own_.get(), static_cast<std::uint32_t>(option), value.c_str()));
        return *this;
    }
    enroll_batch &set_flag(enroll_flag flag, bool on = true) {
        detail::check(enrollkit_enroll_batch_set_flag(own_.get(), static_cast<std::uint32_t>(flag), on));
        return *this;
    }
    std::size_t size() const noexcept { return enrollkit_enroll_batch_count(own_.get()); }
    void clear() noexcept { enrollkit_enroll_batch_clear(own_.get()); }
    const enrollkit_enroll_batch *get() const noexcept { return own_.get(); }

private:
    detail::owner<enrollkit_enroll_batch, enrollkit_enroll_batch_free> own_;
};

/** Filters and pagination for store::list (no filters, oldest first, page 1 of 20). */
class list_query {
public:
    list_query() {
        enrollkit_list_query *p = nullptr;
        detail::check(enrollkit_list_query_new(&p));
        own_ = detail::owner<enrollkit_list_query, enrollkit_list_query_free>(p);
    }
    /** Sets a filter (nullptr removes it). */
    list_query &set(query_field field, zstring value) {
        detail::check(enrollkit_list_query_set(own_.get(), static_cast<std::uint32_t>(field), value.c_str()));
        return *this;
    }
    list_query &enrolled(std::optional<time_point> from, std::optional<time_point> to) {
        detail::check(enrollkit_list_query_set_enrolled(own_.get(), detail::millis(from), detail::millis(to)));
        return *this;
    }
    list_query &completed(std::optional<time_point> from, std::optional<time_point> to) {
        detail::check(enrollkit_list_query_set_completed(own_.get(), detail::millis(from), detail::millis(to)));
        return *this;
    }
    list_query &order_by(enrollkit::order o) {
        detail::check(enrollkit_list_query_set_order(own_.get(), static_cast<std::uint32_t>(o)));
        return *this;
    }
    list_query &page(std::uint32_t number, std::uint32_t per_page) {
        detail::check(enrollkit_list_query_set_page(own_.get(), number, per_page));
        return *this;
    }
    /** Keyset pagination after the enrollment `starting_after` (nullptr: from the start). */
    list_query &cursor(zstring starting_after, std::uint32_t limit) {
        detail::check(enrollkit_list_query_set_cursor(own_.get(), starting_after.c_str(), limit));
        return *this;
    }
    const enrollkit_list_query *get() const noexcept { return own_.get(); }

private:
    detail::owner<enrollkit_list_query, enrollkit_list_query_free> own_;
};

// ---------------------------------------------------------------------------------------------
// The store

/** An open enrollment database. Actors are "admin", "system" or "learner:<user id>". */
class store {
public:
    /** Opens (creating or upgrading) the file at `path`; `flags` are ENROLLKIT_OPEN_* (e.g.
     * ENROLLKIT_OPEN_UMASK_MODE: a new file gets 0644 less the umask instead of 0600). */
    static store open(zstring path, std::uint32_t flags = 0) {
        enrollkit_store *p = nullptr;
        detail::check(enrollkit_store_open(path.c_str(), flags, &p));
        return store(p);
    }
    /** Opens a private in-memory database. */
    static store open_in_memory(std::uint32_t flags = 0) {
        enrollkit_store *p = nullptr;
        detail::check(enrollkit_store_open_in_memory(flags, &p));
        return store(p);
    }
    enrollkit_store *get() const noexcept { return own_.get(); }

    /** Sets the manual clock (ENROLLKIT_OPEN_MANUAL_CLOCK) to an RFC 3339 instant. */
    void set_time(zstring rfc3339) { detail::check(enrollkit_store_set_time(get(), rfc3339.c_str())); }
    void advance_time(std::chrono::milliseconds by) { detail::check(enrollkit_store_advance_time(get(), by.count())); }
    /** The store's current time, RFC 3339. */
    std::string now() const { return take([&](char **o) { return enrollkit_store_now(get(), o); }); }
    std::int64_t schema_version() const {
        std::int64_t v = 0;
        detail::check(enrollkit_store_schema_version(get(), &v));
        return v;
    }

    // Users and programs
    /** Creates or replaces every user of the batch, all or nothing; returns how many. */
    std::uint64_t upsert_users(const user_batch &users) {
        std::uint64_t n = 0;
        detail::check(enrollkit_users_upsert_typed(get(), users.get(), &n));
        return n;
    }
    enrollkit::user get_user(zstring id) const {
        enrollkit_user *u = nullptr;
        detail::check(enrollkit_user_get_typed(get(), id.c_str(), &u));
        return enrollkit::user(u);
    }
    enrollkit::user find_user(user_by by, zstring value) const {
        enrollkit_user *u = nullptr;
        detail::check(enrollkit_user_find_typed(get(), static_cast<std::uint32_t>(by), value.c_str(), &u));
        return enrollkit::user(u);
    }
    /** At most `limit` users ordered by id, after the id `after` (nullptr: from the start). */
    user_array list_users(zstring after, std::uint32_t limit) const {
        enrollkit_user_array *a = nullptr;
        detail::check(enrollkit_user_list_typed(get(), after.c_str(), limit, &a));
        return user_array(a);
    }
    /** Erases user `user_id` on request (admin only: error code
     * ENROLLKIT_RESULT_PERMISSION_DENIED for "system" and learners, ENROLLKIT_RESULT_NOT_FOUND
     * for a user that does not exist): deletes them with their enrollments, step progress and
     * attempts and scrubs them from the history, which names the returned tombstone instead
     * (as enrollkit_erase_user); their seats go to the waitlists. An SQLite database keeps the
     * removed bytes until compact(). */
    erasure erase_user(zstring actor, zstring user_id) {
        return detail::erasure_of(
            take([&](char **o) { return enrollkit_erase_user(get(), actor.c_str(), user_id.c_str(), o); }));
    }
    /** Creates or replaces a user from its JSON form (as enrollkit_user_upsert). */
    void upsert_user(zstring user_json) { detail::check(enrollkit_user_upsert(get(), user_json.c_str(), nullptr)); }
    /** Creates a program from its JSON spec (as enrollkit_program_create); get_program reads it. */
    void create_program(zstring spec_json) {
        detail::check(enrollkit_program_create(get(), spec_json.c_str(), nullptr));
    }
    /** Replaces a program's settings from its JSON spec (as enrollkit_program_update). */
    void update_program(zstring spec_json) {
        detail::check(enrollkit_program_update(get(), spec_json.c_str(), nullptr));
    }
    enrollkit::program get_program(zstring id) const {
        enrollkit_program *p = nullptr;
        detail::check(enrollkit_program_get_typed(get(), id.c_str(), &p));
        return enrollkit::program(p);
    }
    /** Programs ordered by id; `kind`, `state` and `after` may be nullptr. */
    program_array list_programs(zstring kind, zstring state, zstring after, std::uint32_t limit) const {
        enrollkit_program_array *a = nullptr;
        detail::check(enrollkit_program_list_typed(get(), kind.c_str(), state.c_str(), after.c_str(), limit, &a));
        return program_array(a);
    }

    // Enrolling and changing enrollments
    enrollment enroll(zstring actor, zstring user_id, zstring program_id) {
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_enroll_typed(get(), actor.c_str(), user_id.c_str(), program_id.c_str(), o);
        });
    }
    /** Enrolls every row in one transaction; a refused row is an outcome, not an exception. */
    enroll_outcomes enroll_many(zstring actor, const enroll_batch &rows, batch_mode mode = batch_mode::all_or_nothing) {
        enrollkit_enroll_outcomes *o = nullptr;
        detail::check(enrollkit_enroll_many_typed(get(), actor.c_str(), rows.get(), static_cast<std::uint32_t>(mode), &o));
        return enroll_outcomes(o);
    }
    enrollment get_enrollment(zstring actor, zstring id) const {
        return one([&](enrollkit_enrollment **o) { return enrollkit_enrollment_get_typed(get(), actor.c_str(), id.c_str(), o); });
    }
    enrollment set_progress(zstring actor, zstring id, double percent) {
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_set_progress_typed(get(), actor.c_str(), id.c_str(), percent, o);
        });
    }
    enrollment add_progress(zstring actor, zstring id, double delta) {
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_add_progress_typed(get(), actor.c_str(), id.c_str(), delta, o);
        });
    }
    enrollment transition(zstring actor, zstring id, enrollkit::command c) {
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_transition_typed(get(), actor.c_str(), id.c_str(), static_cast<std::uint32_t>(c), o);
        });
    }
    /** Fails a track or certification enrollment; `message` may be nullptr. */
    enrollment fail(zstring actor, zstring id, zstring reason, zstring message = nullptr) {
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_fail_typed(get(), actor.c_str(), id.c_str(), reason.c_str(), message.c_str(), o);
        });
    }
    enrollment start_step(zstring actor, zstring id, zstring step_id) {
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_step_start_typed(get(), actor.c_str(), id.c_str(), step_id.c_str(), o);
        });
    }
    enrollment deliver_step(zstring actor, zstring id, zstring step_id, zstring destination_type = nullptr) {
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_step_deliver_typed(get(), actor.c_str(), id.c_str(), step_id.c_str(),
                                                destination_type.c_str(), o);
        });
    }
    /** Completes a step; `result_json` (a JSON object) may be nullptr. */
    enrollment complete_step(zstring actor, zstring id, zstring step_id, zstring result_json = nullptr) {
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_step_complete_typed(get(), actor.c_str(), id.c_str(), step_id.c_str(),
                                                 result_json.c_str(), o);
        });
    }
    enrollment fail_step(zstring actor, zstring id, zstring step_id, zstring reason, zstring message = nullptr) {
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_step_fail_typed(get(), actor.c_str(), id.c_str(), step_id.c_str(), reason.c_str(),
                                             message.c_str(), o);
        });
    }
    enrollment skip_step(zstring actor, zstring id, zstring step_id) {
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_step_skip_typed(get(), actor.c_str(), id.c_str(), step_id.c_str(), o);
        });
    }
    enrollment submit_attempt(zstring actor, zstring id, double score) {
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_attempt_submit_typed(get(), actor.c_str(), id.c_str(), score, o);
        });
    }
    /** Assigns a mentor (nullptr removes it). */
    enrollment assign_mentor(zstring actor, zstring id, zstring mentor_id) {
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_assign_mentor_typed(get(), actor.c_str(), id.c_str(), mentor_id.c_str(), o);
        });
    }
    /** Schedules the next step (std::nullopt clears it). */
    enrollment set_next_step_at(zstring actor, zstring id, std::optional<time_point> at) {
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_set_next_step_at_typed(get(), actor.c_str(), id.c_str(), detail::millis(at), o);
        });
    }
    /** Ends up to `limit` (1-1000) open enrollments past their deadline_at (admin or system),
     * soonest deadline first: a course's becomes "expired", a certification's or track's
     * "failed" with reason "deadline_passed". Returns their ids. */
    std::vector<std::string> expire_due(zstring actor, std::uint32_t limit) {
        return detail::string_array(take([&](char **o) { return enrollkit_expire_due(get(), actor.c_str(), limit, o); }));
    }
    /** Deletes an enrollment (admin only); its history stays. */
    void delete_enrollment(zstring actor, zstring id) {
        detail::check(enrollkit_enrollment_delete(get(), actor.c_str(), id.c_str()));
    }

    // The due-work queue
    /** Claims for `worker` up to `limit` enrollments whose next step is due, oldest first, for
     * `lease` (1 ms to max_lease): of program `program_id` only (ENROLLKIT_RESULT_NOT_FOUND when
     * it does not exist), or of every program (nullptr). End each claim before its lease ends:
     * deliver_claim, complete_claim, fail_claim, skip_claim or release_claim (renew_claim
     * extends it). */
    claim_array claim_due(zstring worker, std::uint32_t limit, std::chrono::milliseconds lease,
                          zstring program_id = nullptr) {
        if (lease.count() < 0) lease = std::chrono::milliseconds(0);  // refused by the core
        enrollkit_claim_array *a = nullptr;
        detail::check(enrollkit_claim_due_typed(get(), worker.c_str(), program_id.c_str(), limit,
                                                static_cast<std::uint64_t>(lease.count()), &a));
        return claim_array(a);
    }
    /** The scheduled work, read without claiming (admin or system): the running enrollments of
     * `program_id` (nullptr: of every program) whose next step time is at or before `until`
     * (std::nullopt: at any time), soonest first, at most `limit`, claimed or not, each with the
     * step that runs next: what claim_due takes, in its order. */
    claim_array due(zstring actor, zstring program_id, std::optional<time_point> until, std::uint32_t limit) const {
        enrollkit_claim_array *a = nullptr;
        detail::check(enrollkit_due_typed(get(), actor.c_str(), program_id.c_str(), detail::millis(until), limit, &a));
        return claim_array(a);
    }
    /** Extends `worker`'s claim to `lease` (1 ms to max_lease) from now; error code
     * ENROLLKIT_RESULT_CONFLICT when the worker no longer holds it. */
    enrollment renew_claim(zstring worker, zstring id, std::chrono::milliseconds lease) {
        if (lease.count() < 0) lease = std::chrono::milliseconds(0);  // refused by the core
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_claim_renew_typed(get(), worker.c_str(), id.c_str(),
                                               static_cast<std::uint64_t>(lease.count()), o);
        });
    }
    /** Ends `worker`'s claim with its step delivered; error code ENROLLKIT_RESULT_CONFLICT when
     * the worker no longer holds it. */
    enrollment deliver_claim(zstring worker, zstring id, zstring destination_type = nullptr) {
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_claim_deliver_typed(get(), worker.c_str(), id.c_str(), destination_type.c_str(), o);
        });
    }
    /** Ends the claim with its step completed; `result_json` (a JSON object) may be nullptr. */
    enrollment complete_claim(zstring worker, zstring id, zstring result_json = nullptr) {
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_claim_complete_typed(get(), worker.c_str(), id.c_str(), result_json.c_str(), o);
        });
    }
    /** Ends the claim with its step failed with a reason code. */
    enrollment fail_claim(zstring worker, zstring id, zstring reason, zstring message = nullptr) {
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_claim_fail_typed(get(), worker.c_str(), id.c_str(), reason.c_str(), message.c_str(), o);
        });
    }
    /** Ends the claim with its step skipped. */
    enrollment skip_claim(zstring worker, zstring id) {
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_claim_skip_typed(get(), worker.c_str(), id.c_str(), o);
        });
    }
    /** Gives the claim back, the step still due. */
    enrollment release_claim(zstring worker, zstring id) {
        return one([&](enrollkit_enrollment **o) {
            return enrollkit_claim_release_typed(get(), worker.c_str(), id.c_str(), o);
        });
    }
    /** Enrolls (trigger work_anniversary) the users whose hire-date anniversary is `on_date`
     * ("YYYY-MM-DD"), each once; one outcome per user, by user id (enroll_outcomes::user_id). */
    enroll_outcomes enroll_anniversaries(zstring actor, zstring program_id, zstring on_date) {
        enrollkit_enroll_outcomes *o = nullptr;
        detail::check(enrollkit_enroll_anniversaries_typed(get(), actor.c_str(), program_id.c_str(),
                                                           on_date.c_str(), &o));
        return enroll_outcomes(o);
    }

    // Reading
    enrollment_page list(zstring actor, const list_query &query) const {
        enrollkit_enrollment_page *p = nullptr;
        detail::check(enrollkit_list_typed(get(), actor.c_str(), query.get(), &p));
        return enrollment_page(p);
    }
    /** Every enrollment of the user in the program, oldest first. */
    enrollment_page lineage(zstring actor, zstring user_id, zstring program_id) const {
        enrollkit_enrollment_page *p = nullptr;
        detail::check(enrollkit_lineage_typed(get(), actor.c_str(), user_id.c_str(), program_id.c_str(), &p));
        return enrollment_page(p);
    }
    /** The waitlist of program `program_id` (admin or system): its waitlisted enrollments in
     * order, the first promoted into the next seat that frees, at most `limit` (1-1000). One
     * page: has_more() is false even when more people wait. */
    enrollment_page waitlist(zstring actor, zstring program_id, std::uint32_t limit) const {
        enrollkit_enrollment_page *p = nullptr;
        detail::check(enrollkit_waitlist_typed(get(), actor.c_str(), program_id.c_str(), limit, &p));
        return enrollment_page(p);
    }
    /** The place (from 1) of enrollment `id` in its program's waitlist, or std::nullopt when
     * it is not waitlisted. A learner may ask about their own enrollment only. */
    std::optional<std::uint32_t> waitlist_position(zstring actor, zstring id) const {
        std::uint32_t place = 0;
        detail::check(enrollkit_waitlist_position(get(), actor.c_str(), id.c_str(), &place));
        if (place == 0) return std::nullopt;
        return place;
    }
    event_array history(zstring actor, zstring id) const {
        enrollkit_event_array *a = nullptr;
        detail::check(enrollkit_history_typed(get(), actor.c_str(), id.c_str(), &a));
        return event_array(a);
    }
    /** The change feed: at most `limit` events with a sequence number above `after`. */
    event_array events_after(zstring actor, std::int64_t after, std::uint32_t limit) const {
        enrollkit_event_array *a = nullptr;
        detail::check(enrollkit_events_after_typed(get(), actor.c_str(), after, limit, &a));
        return event_array(a);
    }
    /** The status at an instant (RFC 3339), or std::nullopt when the enrollment did not exist. */
    std::optional<std::string> status_at(zstring actor, zstring id, zstring at) const {
        char *s = nullptr;
        detail::check(enrollkit_status_at(get(), actor.c_str(), id.c_str(), at.c_str(), &s));
        return detail::take_optional(s);
    }
    /** A reference API's JSON shape of the enrollment. */
    std::string render(zstring actor, zstring id, enrollkit::view v) const {
        return take([&](char **o) {
            return enrollkit_render(get(), actor.c_str(), id.c_str(), static_cast<std::uint32_t>(v), o);
        });
    }
    /** The program's report as JSON (as enrollkit_report). */
    std::string report(zstring actor, zstring program_id) const {
        return take([&](char **o) { return enrollkit_report(get(), actor.c_str(), program_id.c_str(), o); });
    }
    /** Integrity and invariant violations as a JSON array ("[]" when all is well). */
    std::string check() const {
        return take([&](char **o) { return enrollkit_check(get(), o); });
    }

    // Files
    /** Writes the whole database as JSON Lines to `path`; returns the counts as JSON. */
    std::string export_to(zstring path) {
        return take([&](char **o) { return enrollkit_export(get(), path.c_str(), o); });
    }
    /** Imports an export file; returns the report as JSON. */
    std::string import_from(zstring path, batch_mode mode = batch_mode::all_or_nothing) {
        return take([&](char **o) {
            return enrollkit_import(get(), path.c_str(), static_cast<std::uint32_t>(mode), o);
        });
    }
    /** Copies the database to the new file `dest`. */
    void backup(zstring dest) { detail::check(enrollkit_backup(get(), dest.c_str())); }
    /** Rewrites the database so that nothing deleted or overwritten is left in it (after
     * erase_user, say), as enrollkit_compact: SQLite checkpoints, VACUUMs and checkpoints again
     * (error code ENROLLKIT_RESULT_BUSY when another connection keeps the WAL from being
     * emptied); PostgreSQL vacuums the tables. */
    void compact() { detail::check(enrollkit_compact(get())); }

private:
    explicit store(enrollkit_store *p) noexcept : own_(p) {}

    template <typename Call>
    static enrollment one(Call call) {
        enrollkit_enrollment *e = nullptr;
        detail::check(call(&e));
        return enrollment(e);
    }

    template <typename Call>
    static std::string take(Call call) {
        char *s = nullptr;
        detail::check(call(&s));
        return detail::take(s);
    }

    detail::owner<enrollkit_store, enrollkit_store_free> own_;
};

}  // namespace enrollkit

#endif /* ENROLLKIT_HPP */
