// The machine's floor for bench/ingest: what fresh memory and random memory accesses cost
// here, measured the same way on any machine, so that the ingest figure can be read against
// them. Ingest's state (round histories, the address book, a commit's batch) is hundreds of
// MiB touched once and then read at random: both costs are its floor, and both vary by
// an order of magnitude between virtual machines and bare metal.
#include <sys/mman.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct touch_figures {
    double first_ms_per_mib = 0, again_ms_per_mib = 0;
};

// Writes every byte of `mib` MiB of fresh anonymous memory, then again.
touch_figures touch(std::size_t mib, bool huge) {
    const std::size_t bytes = mib << 20;
    void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        std::perror("ingest_floor: mmap");
        std::exit(1);
    }
    if (huge) madvise(m, bytes, MADV_HUGEPAGE);
    auto* p = static_cast<unsigned char*>(m);
    touch_figures f;
    auto t0 = std::chrono::steady_clock::now();
    std::memset(p, 1, bytes);
    f.first_ms_per_mib = seconds_since(t0) * 1e3 / static_cast<double>(mib);
    t0 = std::chrono::steady_clock::now();
    std::memset(p, 2, bytes);
    f.again_ms_per_mib = seconds_since(t0) * 1e3 / static_cast<double>(mib);
    if (p[bytes / 2] != 2) std::puts("");
    munmap(m, bytes);
    return f;
}

std::uint64_t xorshift(std::uint64_t& x) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

struct random_figures {
    double independent_ns = 0, prefetched_ns = 0;
};

// Random 8-byte loads in a working set of `mib` MiB (huge or 4 KiB pages): independent of each
// other (as many in flight as the core allows), with each address prefetched 16 loads
// ahead (how ingest's tables are read). bench/store measures dependent loads.
random_figures random_loads(std::size_t mib, bool huge) {
    const std::size_t n = (mib << 20) / 8;
    void* m = mmap(nullptr, n * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        std::perror("ingest_floor: mmap");
        std::exit(1);
    }
    madvise(m, n * 8, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    auto* a = static_cast<std::uint64_t*>(m);
    std::uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (std::size_t i = 0; i < n; ++i) a[i] = xorshift(seed);
    const std::size_t loads = 5'000'000;
    random_figures f;
    std::uint64_t sum = 0, x = 88172645463325252ull;
    auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < loads; ++i) sum += a[xorshift(x) % n];
    f.independent_ns = seconds_since(t0) * 1e9 / loads;
    std::uint64_t ahead = x, now = x;
    for (int k = 0; k < 16; ++k) xorshift(ahead);
    t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < loads; ++i) {
        __builtin_prefetch(&a[xorshift(ahead) % n]);
        sum += a[xorshift(now) % n];
    }
    f.prefetched_ns = seconds_since(t0) * 1e9 / loads;
    if (sum == 42) std::puts("");  // keeps the loads
    munmap(m, n * 8);
    return f;
}

// Whether a virtio balloon of this guest reports free pages to the host (feature bit 5,
// VIRTIO_BALLOON_F_REPORTING): the host then takes memory a process freed back a few
// seconds later, and the next process to touch it faults in the host too. "none" when no
// balloon is there (bare metal, or no such device).
const char* balloon_reporting() {
    std::error_code ec;
    const std::filesystem::path devices = "/sys/bus/virtio/devices";
    if (!std::filesystem::is_directory(devices, ec)) return "none";
    const char* found = "none";
    for (const auto& d : std::filesystem::directory_iterator(devices, ec)) {
        std::string id, features;
        std::ifstream(d.path() / "device") >> id;
        if (id != "0x0005") continue;  // the balloon's device id
        std::ifstream(d.path() / "features") >> features;
        if (features.size() > 5 && features[5] == '1') return "on";
        found = "off";
    }
    return found;
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t touch_mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
    if (touch_mib == 0 || touch_mib > 65536) {
        std::fprintf(stderr, "usage: ingest_floor [MIB]  (fresh memory to touch, 1..65536)\n");
        return 64;
    }
    // Huge pages first: small pages would take memory the guest may have just been given.
    const touch_figures huge = touch(touch_mib, true);
    const touch_figures small = touch(touch_mib, false);
    std::printf(
        "floor: first touch of %zu MiB fresh memory: %.2f ms/MiB on huge pages, %.2f ms/MiB "
        "on 4 KiB pages; touched again: %.3f ms/MiB\n",
        touch_mib, huge.first_ms_per_mib, small.first_ms_per_mib, huge.again_ms_per_mib);
    // Memory a process freed a moment ago is the guest's and the host's still: the figure
    // above. An ingest started after an idle spell gets memory the host may have taken
    // back since (balloon free page reporting): the same touch after a pause.
    constexpr int idle_s = 10;
    std::this_thread::sleep_for(std::chrono::seconds(idle_s));
    const touch_figures idle = touch(touch_mib, true);
    std::printf(
        "floor: first touch of %zu MiB fresh memory on huge pages after %d s idle: %.2f ms/MiB "
        "(virtio-balloon free page reporting: %s)\n",
        touch_mib, idle_s, idle.first_ms_per_mib, balloon_reporting());
    for (bool huge_pages : {true, false})
        for (std::size_t mib : {32, 1024}) {
            const random_figures r = random_loads(mib, huge_pages);
            std::printf(
                "floor: random 8-byte loads in %4zu MiB on %s pages: %.1f ns each independent, "
                "%.1f ns prefetched 16 ahead\n",
                mib, huge_pages ? "huge " : "4 KiB", r.independent_ns, r.prefetched_ns);
        }
    return 0;
}
