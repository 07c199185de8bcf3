// klite: the command-line shell. `klite --help` documents it.
#include "shell/shell.h"

#include <klite/engine.h>

#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace {

constexpr std::string_view kUsage = R"(Usage: klite [OPTIONS] FILE [QUERY ...]

Opens the klite file FILE (created if missing). With QUERY arguments, runs
each (one may hold several statements separated by ';', or be one dot
command such as .streams), prints the results and exits. Without, reads a
script from stdin: statements end with ';' and may span lines, and lines
starting with '.' are dot commands (.help lists them). If stdin is a
terminal, prompts for input ("klite> ", "   ...> " inside a statement).

Each statement outside BEGIN ... COMMIT commits on its own, and stdout is
flushed after every statement. Errors go to stderr as "Error: <message>";
after an error one-shot and script runs stop with exit status 1.

Options:
  --mode MODE     output mode (default: table if stdout is a terminal,
                  json otherwise)
  --keep-going    after an error, go on with the next statement (the exit
                  status is still 1)
  --help          this text

Output modes:
  table  aligned columns under a header and a rule of dashes
  line   one "column = value" line per column, a blank line between rows
  json   one JSON object per row, e.g. for GET:
           {"key": 1, "timestamp": "2026-11-25T10:00:00.000000Z", "value": "hello"}
         integers are numbers, NULL is null; timestamp columns (timestamp,
         ts, first_timestamp, last_timestamp, created) are ISO-8601 UTC
         strings with microseconds and a Z; a byte value that is valid
         UTF-8 is a JSON string (\" \\ \b \f \n \r \t escaped, other control
         bytes as \u00XX), any other byte value is its standard base64
         (with padding) plus a field "<column>_encoding": "base64":
           {"key": 2, "timestamp": "...", "value": "AP8=", "value_encoding": "base64"}
         ADD prints {"key": 42} per record added
  csv    a header line, then one line per row (RFC 4180 quoting, "\n" line
         ends); timestamps as in json, bytes as they are, NULL empty
  raw    values only: for rows with a value column (GET) the value bytes
         and a newline; other rows their values separated by tabs
         (timestamps as integer microseconds)
In table and line mode timestamps are ISO-8601 as in json, and a byte value
that is not printable UTF-8 is shown as a blob literal x'00ff'. In every
mode an ADD prints the key of each new record.
)";

} // namespace

int main(int argc, char** argv) {
  using klite::shell::Mode;
  std::optional<Mode> mode;
  bool keep_going = false;
  std::vector<std::string> positional;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (options_done || a.empty() || a[0] != '-' || a == "-") {
      positional.emplace_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
    } else if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--keep-going") {
      keep_going = true;
    } else if (a == "--mode" || a.starts_with("--mode=")) {
      std::string_view name;
      if (a == "--mode") {
        if (i + 1 >= argc) {
          std::cerr << "Error: --mode needs a value\n";
          return 2;
        }
        name = argv[++i];
      } else {
        name = a.substr(7);
      }
      mode = klite::shell::parse_mode(name);
      if (!mode) {
        std::cerr << "Error: unknown mode \"" << name
                  << "\": use table, line, json, csv or raw\n";
        return 2;
      }
    } else {
      std::cerr << "Error: unknown option " << a << "\n" << "Try klite --help\n";
      return 2;
    }
  }
  if (positional.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  if (!mode)
    mode = isatty(STDOUT_FILENO) ? Mode::Table : Mode::Json;

  try {
    klite::Engine engine = klite::Engine::open(positional[0]);
    klite::shell::Shell shell(engine, std::cout, std::cerr, *mode);
    shell.set_keep_going(keep_going);
    if (positional.size() > 1) {
      for (std::size_t i = 1; i < positional.size(); ++i)
        if (!shell.run_text(positional[i]))
          break;
    } else if (isatty(STDIN_FILENO)) {
      std::cout << "klite shell; .help for help, .quit to leave\n";
      shell.run_interactive(std::cin, std::cout);
    } else {
      shell.run_script(std::cin);
    }
    std::cout.flush();
    return shell.had_error() ? 1 : 0;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "Error: " << e.what() << '\n';
    return 1;
  }
}
