// Fuzz target: SYNs through the attempt grouper into the association engine, in any order
// and at any pace, with checkpoints taken and restored, pending attempts dropped and input
// ending at any point; then the remaining bytes as a corrupt engine and grouper state.
// Inputs of odd length hold the engine to 6 one-round histories (of the 48 addresses), so
// that the bound forgets some and its threshold goes through checkpoints.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_input.h"
#include "v6bl/ingest/association_engine.h"
#include "v6bl/ingest/attempt_grouper.h"

using namespace v6bl::ingest;

namespace {

// A small world, so that addresses meet again: 16 IPv4s, 16 native IPv6s whose IIDs end in
// one of the IPv4s, and the 6to4 addresses of the IPv4s.
address_bytes address_of(std::uint8_t k) {
    const std::uint32_t v4 = 0xC6336400u + (k & 15u);  // 198.51.100.x
    address_bytes a{};
    switch ((k >> 4) % 3) {
        case 0:
            return address_from_ipv4(v4);
        case 1:
            a[0] = 0x20;
            a[1] = 0x01;
            a[2] = 0x0d;
            a[3] = 0xb8;
            a[7] = k;
            a[12] = static_cast<std::uint8_t>(v4 >> 24);
            a[13] = static_cast<std::uint8_t>(v4 >> 16);
            a[14] = static_cast<std::uint8_t>(v4 >> 8);
            a[15] = static_cast<std::uint8_t>(v4);
            return a;
        default:
            a[0] = 0x20;
            a[1] = 0x02;
            a[2] = static_cast<std::uint8_t>(v4 >> 24);
            a[3] = static_cast<std::uint8_t>(v4 >> 16);
            a[4] = static_cast<std::uint8_t>(v4 >> 8);
            a[5] = static_cast<std::uint8_t>(v4);
            a[15] = 1;
            return a;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    v6bl::fuzz::byte_stream in{data, size};
    association_options options;
    if (size & 1) options.max_one_round_histories = 6;
    attempt_grouper grouper;
    association_engine engine(options);
    std::vector<connect_attempt> closed;
    std::vector<association> out;
    std::int64_t now = 1'700'000'000LL * 1'000'000;
    std::size_t ops = 0;
    while (in.n > 0 && ops++ < 4096) {
        const std::uint8_t op = in.byte();
        switch (op % 8) {
            case 0:
            case 1:
            case 2:
            case 3: {  // a SYN, up to 12.8 s (or 640 s) before or after the last one
                syn_record s;
                const std::uint8_t k = in.byte();
                s.source = address_of(k);
                s.family = s.source[0] == 0 ? ip_family::v4 : ip_family::v6;
                s.source_port = static_cast<std::uint16_t>(40000 + in.byte());
                s.dest_port = 25;
                now += static_cast<std::int8_t>(in.byte()) * ((op & 8) ? 5'000'000LL : 100'000LL);
                s.time_us = now;
                const std::uint8_t os = in.byte();
                s.ttl = (os & 1) ? 117 : 52;
                s.window = (os & 2) ? 8192 : 64240;
                s.options = (os & 4) ? 0x0204010301010402ull : 0x0301080402ull;
                grouper.add(s, closed);
                for (const auto& a : closed) engine.add(a);
                closed.clear();
                engine.advance(now, out);
                break;
            }
            case 4:  // time passes: up to 42 minutes
                now += in.byte() * 10'000'000LL;
                grouper.advance(now, closed);
                for (const auto& a : closed) engine.add(a);
                closed.clear();
                engine.advance(now, out);
                break;
            case 5: {  // a checkpoint, and a restart from it
                std::string g, e;
                grouper.save(g);
                engine.save(e);
                grouper = attempt_grouper();
                engine = association_engine(options);
                if (!grouper.restore(g) || !engine.restore(e)) __builtin_trap();
                break;
            }
            case 6:
                engine.drop_pending();
                break;
            default:  // end of input
                grouper.flush(closed);
                for (const auto& a : closed) engine.add(a);
                closed.clear();
                engine.flush(out);
                break;
        }
        if (out.size() > 4096) out.clear();
    }
    // What is left, as checkpoints read from a damaged store: refused or taken, never a crash.
    const std::string_view rest(reinterpret_cast<const char*>(in.p), in.n);
    association_engine e2(options);
    std::string again;
    if (e2.restore(rest)) e2.save(again);
    attempt_grouper g2;
    if (g2.restore(rest)) g2.save(again);
    return 0;
}
