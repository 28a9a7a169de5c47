// A store built with the real CLI (`v6bl import`, `v6bl allow`) and `v6bl serve` running on
// loopback (127.0.0.1 and ::1) on a free port, shared by the loopback tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dns_text.h"
#include "loopback_util.h"

namespace v6bl::server::test {

struct serve_fixture {
    std::string dir;
    std::string db;
    std::string config_file;
    std::uint16_t port = 0;
    std::unique_ptr<child_process> server;

    // Listings of the shared fixture (import format: PREFIX 127.0.0.CODE TEXT).
    static const char* listings();
    static const char* hole() { return "2001:db8:ff:10::/64"; }

    // Builds the store and starts `v6bl serve` with `extra` flags; throws when it fails.
    serve_fixture(const std::string& tag, const std::vector<std::string>& extra = {});
    ~serve_fixture();

    // Runs `v6bl <args>` against this fixture's database.
    std::string v6bl(const std::string& args, int* status = nullptr) const;
    // Asks over "udp"/"tcp" to host and renders the answer (dns_text.h).
    std::string ask(const std::string& name, const std::string& type,
                    const std::string& transport = "udp", const std::string& host = "127.0.0.1",
                    const query_options& o = {}) const;
};

// The shared fixture, started on first use.
serve_fixture& shared_server();

}  // namespace v6bl::server::test
