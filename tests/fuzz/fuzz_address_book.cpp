// Fuzz target: the address book under any sequence of attempts, addresses known from the
// store, commits, expiry at any capture time and checkpoints restored, with and without a
// bound of /64s; then the remaining bytes as a corrupt checkpoint.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_input.h"
#include "v6bl/ingest/address_book.h"

using namespace v6bl::ingest;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    v6bl::fuzz::byte_stream in{data, size};
    address_book::options o;
    o.max_addresses = 40;  // reached by a few hundred bytes of input
    o.horizon_s = 3600;
    o.stored_horizon_s = 7200;
    // Inputs of odd length keep at most 12 of the 32 /64s in play (forgetting at the bound).
    o.max_prefixes = size % 2 ? 12 : 0;
    address_book book(o);
    std::uint32_t now = 1'700'000'000;
    std::size_t ops = 0;
    while (in.n > 0 && ops++ < 8192) {
        const std::uint8_t op = in.byte();
        // 32 /64s, 256 interface identifiers each: /64s fill up, blocks move between classes
        const std::uint8_t which = in.byte();
        const std::uint64_t p64 = 0x20010db800000000ull + (which & 31u);
        const std::uint64_t iid = 0x0200000000000000ull + (op >> 3) + 32u * (which >> 5);
        bool created = false;
        switch (op & 7) {
            case 0:
            case 1:
            case 2: {
                address_book::prefix& p = book.touch(p64, now, created);
                book.add_attempt(p, iid, now, 1 + (op & 1));
                book.mark_dirty(p);
                break;
            }
            case 3:
                book.add_known(book.touch(p64, now, created), iid);
                break;
            case 4:
                book.set_in_store(book.touch(p64, now, created));
                break;
            case 5:  // capture time passes (up to 3.5 hours), expiring /64s
                now += in.byte() * 50u;
                book.expire(now);
                break;
            case 6:
                book.clear_dirty();
                break;
            default: {  // a checkpoint and a restart from it
                std::string s;
                book.save(s);
                book = address_book(o);
                if (!book.restore(s)) __builtin_trap();
                break;
            }
        }
        if (o.max_prefixes) {
            // Past the bound only by /64s whose addresses are in the store (and one more).
            std::size_t stored = 0;
            for (std::uint64_t k = 0; k < 32; ++k)
                if (const address_book::prefix* q = book.find(0x20010db800000000ull + k))
                    stored += q->in_store();
            if (book.prefixes() > o.max_prefixes && book.prefixes() > stored + 1) __builtin_trap();
        }
        if (address_book::prefix* p = book.find(p64)) {
            // What the writer reads of a /64: its addresses and their tallies.
            const std::uint64_t* iids = book.iids_of(*p);
            const address_book::tally* t = book.tallies_of(*p);
            std::uint64_t sum = 0;
            for (std::uint16_t i = 0; i < p->count; ++i) sum += iids[i] + t[i].count;
            if (p->count > o.max_addresses) __builtin_trap();
            (void)sum;
        }
    }
    const std::string_view rest(reinterpret_cast<const char*>(in.p), in.n);
    address_book damaged(o);
    std::string again;
    if (damaged.restore(rest)) damaged.save(again);
    return 0;
}
