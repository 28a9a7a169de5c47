// Where ingest's time goes, stage by stage, each alone with the caches to itself: reading
// and decoding the capture, grouping the SYNs into attempts, the association engine, and
// the reputation writer (address book and store commit), each replaying the calls the
// pipeline makes. A stage's input is made by the one before it beforehand and kept in
// memory, so its figure has no other stage's cache misses in it. Not timed here: the
// checkpoints at the end of a run (engine state and address book, about 5 % of
// bench_ingest's time) and the restore at its start.
// Usage: bench_stages CAPTURE [STORE]   (STORE: a store to copy and write into, e.g. the
// rejections-only template of bench/ingest/run.sh; without it the writer is not timed)
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "v6bl/ingest/association_engine.h"
#include "v6bl/ingest/attempt_grouper.h"
#include "v6bl/ingest/capture_reader.h"
#include "v6bl/ingest/ingest_counters.h"
#include "v6bl/ingest/malloc_tuning.h"
#include "v6bl/ingest/reputation_writer.h"
#include "v6bl/ingest/syn_decoder.h"
#include "v6bl/store/huge_pages.h"
#include "v6bl/store/store.h"

using namespace v6bl;
using namespace v6bl::ingest;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// `perf record --control fifo:CTL -D -1` with V6BL_PERF_CTL=CTL and V6BL_PERF_STAGE=NAME
// (read, group, engine or writer) in the environment profiles that stage only. CTL must be
// the fifo (made with mkfifo) that the perf record reads.
void perf_control(const char* stage, const char* command) {
    const char* path = std::getenv("V6BL_PERF_CTL");
    const char* only = std::getenv("V6BL_PERF_STAGE");
    if (!path || !only || std::string(only) != stage) return;
    if (std::FILE* f = std::fopen(path, "w")) {
        std::fputs(command, f);
        std::fclose(f);
    }
}

// Resident memory now, in MiB.
double rss_mib() {
    double kib = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
        unsigned long size = 0, resident = 0;
        if (std::fscanf(f, "%lu %lu", &size, &resident) == 2) kib = resident * 4.0;
        std::fclose(f);
    }
    return kib / 1024;
}

// Sized and touched beforehand: page faults of fresh memory would be most of a stage's
// time here, not its work.
template <typename T>
void presize(std::vector<T>& v, std::size_t n) {
    v.resize(n);
    v.clear();
}

}  // namespace

int main(int argc, char** argv) {
    store::reexec_with_huge_pages(
        argv, store::huge_pages_default::if_cheaper_to_fault);  // as `v6bl ingest` does
    tune_malloc_for_ingest();                                   // likewise
    if (argc != 2 && argc != 3) {
        std::fprintf(stderr, "usage: bench_stages CAPTURE [STORE]\n");
        return 2;
    }
    const std::string capture = argv[1];
    std::string err;
    auto reader = capture_reader::open_file(capture, 0, err, file_reading::direct);  // as ingest
    if (!reader) {
        std::fprintf(stderr, "bench_stages: %s: %s\n", capture.c_str(), err.c_str());
        return 1;
    }
    struct stat st {};
    if (::stat(capture.c_str(), &st) != 0) return 1;

    // 1. Read and decode (a classic pcap record of a SYN is 54 bytes or more).
    std::vector<syn_record> syns;
    presize(syns, static_cast<std::size_t>(st.st_size) / 54);
    std::uint64_t packets = 0;
    perf_control("read", "enable\n");
    auto t0 = std::chrono::steady_clock::now();
    {
        capture_frame frame;
        syn_record syn;
        while (reader->next(frame) == capture_status::frame) {
            ++packets;
            if (decode_syn(frame.link, frame.data, frame.caplen, frame.time_us, 25, syn) ==
                decode_status::syn)
                syns.push_back(syn);
        }
    }
    perf_control("read", "disable\n");
    const double read_s = seconds_since(t0);

    // 2. Group, SYN by SYN; closed_by[i]: attempts closed up to SYN i.
    std::vector<connect_attempt> closed;
    presize(closed, syns.size());
    std::vector<std::uint32_t> closed_by(syns.size());
    std::size_t max_open = 0;
    perf_control("group", "enable\n");
    t0 = std::chrono::steady_clock::now();
    {
        attempt_grouper grouper;
        for (std::size_t i = 0; i < syns.size(); ++i) {
            grouper.add(syns[i], closed);
            closed_by[i] = static_cast<std::uint32_t>(closed.size());
            max_open = std::max(max_open, grouper.open_attempts());
        }
        grouper.flush(closed);
    }
    perf_control("group", "disable\n");
    const double group_s = seconds_since(t0);

    // 3. The engine: each SYN's closed attempts added, then advance to its time. Each
    //    association is kept with the number of attempts added before it (for the writer).
    struct found_at {
        std::size_t after;
        association a;
    };
    std::vector<found_at> found_all;
    presize(found_all, closed.size() / 16);
    std::vector<association> found;
    association_stats stats;
    perf_control("engine", "enable\n");
    t0 = std::chrono::steady_clock::now();
    {
        association_engine engine;
        std::size_t from = 0;
        for (std::size_t i = 0; i < syns.size(); ++i) {
            for (; from < closed_by[i]; ++from) engine.add(closed[from]);
            engine.advance(syns[i].time_us, found);
            for (const association& a : found) found_all.push_back({from, a});
            found.clear();
        }
        for (; from < closed.size(); ++from) engine.add(closed[from]);
        engine.flush(found);
        for (const association& a : found) found_all.push_back({from, a});
        stats = engine.stats();
    }
    perf_control("engine", "disable\n");
    const double engine_s = seconds_since(t0);

    // 4. The writer: the IPv6 attempts and the associations in that order, the /64s'
    //    slots asked for 16 attempts ahead, then one commit (as a run of bench_ingest).
    //    Twice: first on fresh memory, as a run of `v6bl ingest` is, then on the memory
    //    the first run freed (malloc keeps it, malloc_tuning.h): the difference is what
    //    faulting in the writer's memory costs.
    double writer_s[2] = {0, 0};
    double writer_mib = 0;
    std::uint64_t commit_ops = 0;
    std::size_t book_64s = 0, book_addresses = 0, book_table = 0, book_blocks = 0;
    for (int run = 0; run < 2 && argc == 3; ++run) {
        const std::string db = capture + ".stages-db";
        std::filesystem::remove_all(db);
        std::filesystem::copy(argv[2], db, std::filesystem::copy_options::recursive);
        store::store_options so;
        so.path = db;
        auto store = store::reputation_store::open_writer(so);
        ingest_counters counters;
        {
            reputation_writer writer(*store, counters);
            if (run == 0) perf_control("writer", "enable\n");
            const double rss0 = rss_mib();
            t0 = std::chrono::steady_clock::now();
            std::size_t next = 0;
            for (std::size_t i = 0; i < closed.size(); ++i) {
                for (; next < found_all.size() && found_all[next].after <= i; ++next)
                    writer.add_association(found_all[next].a, false, true);
                if (i + 16 < closed.size()) writer.prefetch(closed[i + 16]);
                writer.add_attempt(closed[i], 1);
            }
            for (; next < found_all.size(); ++next)
                writer.add_association(found_all[next].a, false, true);
            commit_ops = writer.pending_ops();
            book_64s = writer.book().prefixes();
            book_addresses = writer.book().addresses();
            book_table = writer.book().table_bytes();
            book_blocks = writer.book().address_block_bytes();
            writer.commit();
            writer_s[run] = seconds_since(t0);
            if (run == 0) writer_mib = rss_mib() - rss0;
            if (run == 0) perf_control("writer", "disable\n");
        }
        store.reset();
        std::filesystem::remove_all(db);
    }

    const double attempts = static_cast<double>(closed.size());
    std::printf("bench/ingest stages  %s: %llu packets, %zu SYNs, %zu attempts\n", capture.c_str(),
                static_cast<unsigned long long>(packets), syns.size(), closed.size());
    std::printf("read + decode : %6.3f s  %6.1f ns a packet\n", read_s, read_s * 1e9 / packets);
    std::printf("group         : %6.3f s  %6.1f ns a SYN (at most %zu attempts open)\n", group_s,
                group_s * 1e9 / static_cast<double>(syns.size()), max_open);
    std::printf(
        "engine        : %6.3f s  %6.1f ns an attempt (%zu associations, %llu IPv6 rounds "
        "evaluated, %llu candidates)\n",
        engine_s, engine_s * 1e9 / attempts, found_all.size(),
        static_cast<unsigned long long>(stats.evaluated_v6_rounds),
        static_cast<unsigned long long>(stats.candidates));
    if (argc == 3)
        std::printf(
            "writer        : %6.3f s  %6.1f ns an attempt (one commit of %llu operations; "
            "resident memory +%.0f MiB; %.3f s on memory already faulted in; address book %zu "
            "/64s, %zu addresses: table %.0f MiB, address blocks %.0f MiB)\n",
            writer_s[0], writer_s[0] * 1e9 / attempts, static_cast<unsigned long long>(commit_ops),
            writer_mib, writer_s[1], book_64s, book_addresses, book_table / 1048576.0,
            book_blocks / 1048576.0);
    const double sum = read_s + group_s + engine_s + writer_s[0];
    std::printf("sum           : %6.3f s  (%.2f M packets/s)\n", sum, packets / sum / 1e6);
    return 0;
}
