// The ingest subcommands (placeholder until the ingest stage lands).
#include "commands.h"

namespace v6bl::tools {
void add_ingest_commands(CLI::App&, int&) {}
}  // namespace v6bl::tools
