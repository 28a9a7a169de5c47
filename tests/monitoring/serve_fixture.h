// A real `v6bl serve` with --metrics on free loopback ports, over a small imported store.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon_process.h"
#include "exposition_text.h"

namespace v6bl::monitoring::test {

inline constexpr const char* fixture_zone = "dnsbl6.example.org";
// Two imported /64s (code 2 and code 10) and an address under neither.
inline constexpr const char* listed_address = "2001:db8:1:2::25";
inline constexpr const char* manual_address = "2001:db8:aa:bb::1";
inline constexpr const char* unlisted_address = "2001:db8:9:9::1";

class serve_fixture {
  public:
    // Empty when the v6bl executable is not built (the caller skips).
    static std::string binary();

    // Imports, starts (with `extra` flags), waits for "ready" and a first scrape; REQUIREs.
    explicit serve_fixture(const std::vector<std::string>& extra = {});
    ~serve_fixture();

    std::uint16_t dns_port() const { return dns_port_; }
    std::uint16_t metrics_port() const { return metrics_port_; }
    const std::string& dir() const { return dir_.path(); }
    daemon_process& process() { return *server_; }

    // Imports more listings while the server runs (the writer is free: serve only reads).
    void import(const std::string& lines);
    // GET /metrics, raw text; REQUIREs a 200.
    std::string scrape_text();
    exposition_samples scrape();

  private:
    temp_dir dir_{"v6bl-monitoring-"};
    std::uint16_t dns_port_ = 0;
    std::uint16_t metrics_port_ = 0;
    std::unique_ptr<daemon_process> server_;
};

}  // namespace v6bl::monitoring::test
