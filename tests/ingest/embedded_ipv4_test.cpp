// Structural IPv4-in-IPv6 detection: 6to4, Teredo, ISATAP, IID suffix, and non-global IPv4.
#include <catch2/catch.hpp>

#include "ingest_test_support.h"
#include "v6bl/ingest/embedded_ipv4.h"

using namespace v6bl::ingest;
using v6bl::ingest_test::v4;
using v6bl::ingest_test::v6;

TEST_CASE("6to4 names its gateway", "[embedded_ipv4]") {
    const auto e = find_embedded_ipv4(v6("2002:0102:0304:1::1"));
    CHECK(e.kind == embedding_kind::six_to_four);
    CHECK(e.ipv4 == v4(1, 2, 3, 4));
    CHECK(is_6to4(v6("2002:0102:0304:1::1")));
    CHECK(find_embedded_ipv4(v6("2002:0a00:0001::1")).kind == embedding_kind::none);  // 10/8
}

TEST_CASE("Teredo's client IPv4 is the last 32 bits inverted", "[embedded_ipv4]") {
    // client 1.2.3.4 → ~0x01020304 = fefd:fcfb
    const auto e = find_embedded_ipv4(v6("2001:0:4136:e378:8000:63bf:fefd:fcfb"));
    CHECK(e.kind == embedding_kind::teredo);
    CHECK(e.ipv4 == v4(1, 2, 3, 4));
}

TEST_CASE("ISATAP and ::a.b.c.d interface identifiers", "[embedded_ipv4]") {
    auto e = find_embedded_ipv4(v6("2001:db8:1:2:0:5efe:102:304"));
    CHECK(e.kind == embedding_kind::isatap);
    CHECK(e.ipv4 == v4(1, 2, 3, 4));
    e = find_embedded_ipv4(v6("2001:db8:1:2:200:5efe:506:708"));
    CHECK(e.kind == embedding_kind::isatap);
    CHECK(e.ipv4 == v4(5, 6, 7, 8));
    e = find_embedded_ipv4(v6("2001:db8:1:2::5.6.7.8"));
    CHECK(e.kind == embedding_kind::iid_suffix);
    CHECK(e.ipv4 == v4(5, 6, 7, 8));
    CHECK(find_embedded_ipv4(v6("2001:db8:1:2::1")).kind == embedding_kind::none);
    CHECK(find_embedded_ipv4(v6("2001:db8:1:2:abcd:ef01:506:708")).kind == embedding_kind::none);
    CHECK(find_embedded_ipv4(v6("2001:db8:1:2::c0a8:101")).kind ==
          embedding_kind::none);  // 192.168
}
