// Loopback ports for tests and the servers they start.
#pragma once

#include <cstdint>

namespace v6bl::test {

// A port that is free on 127.0.0.1 and ::1 over UDP and TCP, chosen at random *below* the
// kernel's ephemeral range (net.ipv4.ip_local_port_range). A port from inside that range can
// be handed to a client socket as its source port while the server is down — a TCP connect
// to a closed port even connects to itself — and a restarted server then cannot bind it.
std::uint16_t free_port();

}  // namespace v6bl::test
