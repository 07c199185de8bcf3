// klite-inspect FILE COMMAND [ARGS] [--json]: decode, dump, analyze and check
// a klite file without trusting the engine (docs/INSPECT.md).
#include "tools/inspect_cli.h"

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  std::vector<std::string> args(argv + 1, argv + argc);
  int rc = klite::inspect::run_cli(args, std::cout, std::cerr);
  std::cout.flush();
  return rc;
}
