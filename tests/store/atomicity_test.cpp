// A writer killed with SIGKILL mid-batch leaves no partial change set visible.
#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <map>
#include <thread>

#include "test_dir.h"
#include "v6bl/store/store.h"

using namespace v6bl::store;
using v6bl::test::test_dir;

TEST_CASE("store: SIGKILL of a writer mid-batch leaves only whole change sets") {
    test_dir d("kill");
    store_options o;
    o.path = d.path("db");
    o.sync_commits = false;  // the WAL still orders and bounds what survives a process kill
    constexpr int per_batch = 2000;
    // Evidence of now: older than the retention (30 days) it would be dropped when merged.
    const auto seen = static_cast<std::uint32_t>(std::time(nullptr));
    // Each batch b touches the same per_batch /64s, adding b+1 attempts to each, and sets
    // the checkpoint to b. A partial batch would show records whose attempts disagree.
    // The child says when its first batch is committed; the kill comes some time after that
    // (a slow build, ASan, must not be killed before it has committed anything).
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        close(ready[0]);
        try {
            auto s = reputation_store::open_writer(o);
            for (std::uint32_t b = 0;; ++b) {
                change_set cs;
                for (int i = 0; i < per_batch; ++i) {
                    reputation_record r;
                    r.reason_bits = bit_associated;
                    r.attempts = b + 1;
                    r.last_seen = seen;
                    ipv6_bytes a{0x20, 0x01, 0x0d, 0xb8};
                    a[6] = static_cast<std::uint8_t>(i >> 8);
                    a[7] = static_cast<std::uint8_t>(i);
                    cs.merge_record(make_prefix(a, 64), r);
                }
                cs.set_checkpoint("batch", std::to_string(b));
                s->commit(std::move(cs), seen);
                if (b == 0) {
                    const char one = 1;
                    (void)!write(ready[1], &one, 1);
                    close(ready[1]);
                }
            }
        } catch (...) {
        }
        _exit(3);
    }
    close(ready[1]);
    pollfd pfd{ready[0], POLLIN, 0};
    const bool committed = poll(&pfd, 1, 120000) == 1;
    close(ready[0]);
    if (committed) std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    REQUIRE(kill(child, SIGKILL) == 0);
    int status = 0;
    waitpid(child, &status, 0);
    REQUIRE(WIFSIGNALED(status));

    auto s = reputation_store::open_writer(o);
    const auto cp = s->checkpoint("batch");
    REQUIRE(committed);
    REQUIRE(cp);  // the child said it committed its first batch
    const std::uint64_t last = std::stoull(*cp);
    const std::uint64_t expected = (last + 1) * (last + 2) / 2;  // sum of b+1 for b = 0..last
    std::map<std::uint64_t, int> totals;
    std::size_t records = 0;
    s->for_each_record([&](const prefix&, const reputation_record& r) {
        ++totals[r.attempts];
        ++records;
        return true;
    });
    CHECK(records == per_batch);
    REQUIRE(totals.size() == 1);
    CHECK(totals.begin()->first == expected);
    INFO("batches committed before the kill: " << last + 1);
}
