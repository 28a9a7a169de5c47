// The versioned record encoding and the additive merge.
#include <catch2/catch.hpp>

#include "v6bl/store/record.h"

using namespace v6bl::store;

namespace {
reputation_record sample() {
    reputation_record r;
    r.reason_bits = bit_associated;
    r.first_seen = 1700000000;
    r.last_seen = 1700000500;
    r.attempts = 7;
    r.addresses = 2;
    r.rejected_ipv4s = 1;
    r.strength_milli = 800;
    r.sensors = 0x5;
    r.text = "hello";
    return r;
}
}  // namespace

TEST_CASE("records, evidence and allow entries round-trip") {
    const auto r = sample();
    CHECK(decode_record(encode_record(r)) == r);
    evidence_item e{10, 20, 3, 900, 0x11};
    CHECK(decode_evidence(encode_evidence(e)) == e);
    allow_entry a{123, "partner MTA"};
    CHECK(decode_allow(encode_allow(a)) == a);
}

TEST_CASE("decoders refuse unknown versions, wrong kinds, short and long input") {
    std::string bytes = encode_record(sample());
    std::string other_version = bytes;
    other_version[0] = 9;
    CHECK_FALSE(decode_record(other_version));
    CHECK_FALSE(decode_evidence(bytes));  // a record is not evidence
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        INFO(n);
        CHECK_FALSE(decode_record(std::string_view(bytes).substr(0, n)));
    }
    CHECK_FALSE(decode_record(bytes + "x"));
    CHECK_FALSE(decode_record(""));
}

TEST_CASE("merge is additive, order-free and keeps min/max where it should") {
    reputation_record a = sample(), b;
    b.reason_bits = bit_structural;
    b.first_seen = 1600000000;
    b.last_seen = 1800000000;
    b.attempts = 3;
    b.strength_milli = 400;
    b.sensors = 0x8;
    reputation_record ab = a, ba = b;
    merge_into(ab, b);
    merge_into(ba, a);
    CHECK(ab.attempts == 10);
    CHECK(ab.first_seen == 1600000000);
    CHECK(ab.last_seen == 1800000000);
    CHECK(ab.strength_milli == 800);
    CHECK(ab.reason_bits == (bit_associated | bit_structural));
    CHECK(ab.sensors == 0xd);
    ab.text = ba.text = "";
    CHECK(ab == ba);
    // grouping does not matter: (a+b)+c == a+(b+c)
    reputation_record c;
    c.attempts = 5;
    c.last_seen = 1;
    reputation_record left = a;
    merge_into(left, b);
    merge_into(left, c);
    reputation_record bc = b;
    merge_into(bc, c);
    reputation_record right = a;
    merge_into(right, bc);
    CHECK(left == right);
    // an unset first_seen does not win the minimum
    reputation_record unset;
    unset.attempts = 1;
    merge_into(unset, a);
    CHECK(unset.first_seen == a.first_seen);
    // counters saturate instead of wrapping
    reputation_record big;
    big.attempts = 0xfffffff0u;
    reputation_record more;
    more.attempts = 0x100;
    merge_into(big, more);
    CHECK(big.attempts == 0xffffffffu);
}

TEST_CASE("a manual listing in a merge sets code and text") {
    reputation_record r = sample();
    reputation_record manual;
    manual.manual_code = 10;
    manual.text = "by hand";
    merge_into(r, manual);
    CHECK(r.manual_code == 10);
    CHECK(r.text == "by hand");
    CHECK(r.attempts == 7);
}
