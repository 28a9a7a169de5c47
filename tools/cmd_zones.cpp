// The zones subcommands (placeholder until the zones stage lands).
#include "commands.h"

namespace v6bl::tools {
void add_zones_commands(CLI::App&, int&) {}
}  // namespace v6bl::tools
