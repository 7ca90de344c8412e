// Built by tests/cmake/CMakeLists.txt against an installed enrollkit: the C++ interface.
#include <enrollkit.hpp>

#include <iostream>

int main() {
    try {
        auto store = enrollkit::store::open_in_memory();
        store.upsert_users(enrollkit::user_batch().add("usr_1"));
        store.create_program(R"({"id":"crs_1","kind":"course","title":"CMake","state":"active"})");
        auto e = store.enroll("admin", "usr_1", "crs_1");
        e = store.set_progress("admin", std::string(e.id()), 100);
        std::cout << "consumer (C++): " << e.status() << "\n";
        return e.status() == "completed" ? 0 : 1;
    } catch (const enrollkit::error &err) {
        std::cerr << "consumer: " << err.name() << ": " << err.what() << "\n";
        return 1;
    }
}
