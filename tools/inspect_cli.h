// The klite-inspect command line, as a function so the tests can run it in
// process; tools/klite-inspect.cpp is only main(). The decoding and checking
// live in engine/inspect.h; this file only parses arguments and prints.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace klite::inspect {

// Exit codes (docs/INSPECT.md).
inline constexpr int kExitOk = 0;       // done; for check: the file is clean
inline constexpr int kExitProblems = 1; // problems found (listed)
inline constexpr int kExitCannot = 2;   // cannot open the file, or bad usage

// Runs `klite-inspect args...` (args excludes the program name), writing
// results to `out` and errors and problems to `err`. Returns the exit code.
int run_cli(const std::vector<std::string>& args, std::ostream& out,
            std::ostream& err);

} // namespace klite::inspect
