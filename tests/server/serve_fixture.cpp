// A store built with the real CLI and `v6bl serve` running on loopback, for loopback tests.
#include "serve_fixture.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace v6bl::server::test {

const char* serve_fixture::listings() {
    return "2001:db8:1:2::/64 127.0.0.2 associated-test\n"
           "2001:db8:3::/56 127.0.0.3\n"
           "2001:db8:ff::/48 127.0.0.4\n"
           "2001:db8:ff:20::/64 127.0.0.2\n"
           "2001:db8:ab::/48 127.0.0.10 operator-listed\n"
           "2001:db8:9::1/128 127.0.0.10\n";
}

serve_fixture::serve_fixture(const std::string& tag, const std::vector<std::string>& extra) {
    dir = temp_dir(tag);
    db = dir + "/db";
    { std::ofstream(dir + "/listings.txt") << listings(); }
    int st = 0;
    const std::string out = v6bl("import --db " + db + " " + dir + "/listings.txt", &st);
    if (st != 0) throw std::runtime_error("v6bl import failed: " + out);
    v6bl("allow --db " + db + " " + hole(), &st);
    if (st != 0) throw std::runtime_error("v6bl allow failed");
    config_file = dir + "/serve.toml";
    { std::ofstream(config_file) << "ttl = 300\n"; }
    port = free_port();
    std::vector<std::string> argv = {V6BL_BINARY, "serve",
                                     "--db",      db,
                                     "--config",  config_file,
                                     "--listen",  "127.0.0.1:" + std::to_string(port),
                                     "--listen",  "[::1]:" + std::to_string(port)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    server = std::make_unique<child_process>(argv, dir + "/serve.log");
    if (!server->wait_for_log("ready", std::chrono::seconds(30)))
        throw std::runtime_error("v6bl serve did not start:\n" + server->log());
}

serve_fixture::~serve_fixture() {
    if (server) server->stop();
    // V6BL_KEEP_TEST_DIRS=1 keeps the store and the serve logs for a post-mortem.
    if (const char* keep = std::getenv("V6BL_KEEP_TEST_DIRS"); keep && *keep == '1') return;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

std::string serve_fixture::v6bl(const std::string& args, int* status) const {
    return run_command(std::string(V6BL_BINARY) + " " + args + " 2>&1", status);
}

std::string serve_fixture::ask(const std::string& name, const std::string& type,
                               const std::string& transport, const std::string& host,
                               const query_options& o) const {
    const auto q = make_query(expand_name(name, "dnsbl6.example.org"), type, o);
    const auto r = transport == "tcp" ? tcp_exchange(host, port, q) : udp_exchange(host, port, q);
    return describe_response(r);
}

serve_fixture& shared_server() {
    static serve_fixture f("serve");
    return f;
}

}  // namespace v6bl::server::test
