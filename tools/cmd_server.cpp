// The server subcommands (placeholder until the server stage lands).
#include "commands.h"

namespace v6bl::tools {
void add_server_commands(CLI::App&, int&) {}
}  // namespace v6bl::tools
