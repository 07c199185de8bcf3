// klite: the command-line shell. `klite --help` documents it.
#include "shell/shell.h"

#include <klite/engine.h>

#include <atomic>
#include <clocale>
#include <csignal>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <signal.h>
#include <unistd.h>

namespace {

constexpr std::string_view kUsage = R"(Usage: klite [OPTIONS] FILE [QUERY ...]

Opens the klite file FILE (created if missing). With QUERY arguments, runs
each (one may hold several statements separated by ';', or be one dot
command such as .streams), prints the results and exits. Without, reads a
script from stdin: statements end with ';' and may span lines, and lines
starting with '.' are dot commands (.help lists them).

If stdin is a terminal, prompts for input ("klite> ", "   ...> " inside a
statement) with line editing (libedit, emacs keys; ~/.editrc applies) and
history, kept in $KLITE_HISTORY if set (empty: none), else
~/.klite_history. Ctrl-C drops the statement being typed, or stops the
running statement or .tail; Ctrl-D on an empty line leaves. Errors in
query text show the line with a caret under the place.

Each statement outside BEGIN ... COMMIT commits on its own, and stdout is
flushed after every statement. Errors go to stderr as "Error: <message>".
Exit status: 0; 1 if FILE cannot be opened, or a statement or command of
a one-shot or script run failed (such runs stop at the first error unless
--keep-going); 2 for a bad command line; 130 if Ctrl-C (SIGINT) stopped a
one-shot or script run. An interactive session exits with 0.

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
           {"key": 1, "ts": "2026-11-25T10:00:00.000000Z", "value": "hello"}
         integers are numbers, NULL is null; timestamp columns (ts,
         first_timestamp, last_timestamp, created) are ISO-8601 UTC
         strings with microseconds and a Z; a byte value that is valid
         UTF-8 is a JSON string (\" \\ \b \f \n \r \t escaped, other control
         bytes as \u00XX), any other byte value is its standard base64
         (with padding) plus a field "<column>_encoding": "base64":
           {"key": 2, "ts": "...", "value": "AP8=", "value_encoding": "base64"}
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

std::atomic<klite::shell::Shell*> g_shell{nullptr};
static_assert(std::atomic<klite::shell::Shell*>::is_always_lock_free);

// Ctrl-C stops the running statement, .tail or .import, not the shell.
void on_sigint(int) {
  if (klite::shell::Shell* shell = g_shell.load())
    shell->interrupt();
}

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

  klite::shell::Shell shell(std::cout, std::cerr, *mode);
  shell.set_keep_going(keep_going);
  if (!shell.open(positional[0]))
    return 1;
  g_shell.store(&shell);
  struct sigaction action {};
  action.sa_handler = on_sigint;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  bool interactive = false;
  try {
    if (positional.size() > 1) {
      for (std::size_t i = 1; i < positional.size(); ++i)
        if (!shell.run_text(positional[i]))
          break;
    } else if (isatty(STDIN_FILENO)) {
    interactive = true;
      std::setlocale(LC_CTYPE, ""); // libedit edits UTF-8 as characters
      klite::shell::LineEditor editor(argv[0],
                                      klite::shell::LineEditor::default_history_path());
      std::cout << "klite shell on " << positional[0] << "; .help for help, .quit to leave\n";
      shell.run_interactive(editor);
    } else {
      shell.run_script(std::cin);
    }
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "Error: " << e.what() << '\n';
    g_shell.store(nullptr);
    return 1;
  }
  g_shell.store(nullptr);
  std::cout.flush();
  if (shell.interrupted())
    return 128 + SIGINT;
  // Interactive errors were shown to the person who made them.
  return shell.had_error() && !interactive ? 1 : 0;
}
