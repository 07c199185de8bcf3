// klite shell core: statement splitting, dot commands and running scripts,
// driven through streams so tests can run it in process. main.cpp only
// parses the command line and picks the streams.
#pragma once

#include "shell/line_editor.h"
#include "shell/output.h"

#include <klite/engine.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace klite::shell {

// Splits text fed in pieces into statements ending at ';' outside string
// literals ('..', "..", x'..', with backslash escapes) and `--` comments.
class Splitter {
public:
  // Appends text; complete statements (without their ';') go to take().
  void feed(std::string_view text);
  std::vector<std::string> take();
  // True if text after the last ';' holds more than whitespace and comments.
  bool pending() const { return content_ || dash_; }
  // The incomplete statement, cleared.
  std::string rest();

private:
  std::string buf_;
  std::vector<std::string> done_;
  char quote_ = 0;
  bool escape_ = false;
  bool comment_ = false;
  bool content_ = false;
  bool dash_ = false; // the last byte was a '-' outside strings and comments
};

class Shell {
public:
  // A shell on `engine`, which the caller owns and keeps open while the
  // shell uses it (until a .open switches to a file the shell opens).
  Shell(Engine& engine, std::ostream& out, std::ostream& err, Mode mode)
      : engine_(&engine), out_(out), err_(err), mode_(mode) {}
  // A shell with no file yet: call open().
  Shell(std::ostream& out, std::ostream& err, Mode mode) : out_(out), err_(err), mode_(mode) {}

  // Opens the klite file at `path` (created if missing) and switches to
  // it, closing the file the shell opened before (an open BEGIN there is
  // rolled back). On failure prints the error, keeps the current file and
  // returns false.
  bool open(const std::string& path);

  void set_keep_going(bool on) { keep_going_ = on; }
  void set_mode(Mode mode) { mode_ = mode; }
  Mode mode() const { return mode_; }
  // Polling interval of .tail.
  void set_tail_interval(std::chrono::milliseconds interval) { tail_interval_ = interval; }

  // Runs text holding zero or more statements (the last ';' optional), or
  // one dot command if it starts with '.'. Returns false if it should stop
  // (an error without --keep-going, an interrupt, or .quit).
  bool run_text(std::string_view text);
  // Runs a script line by line: dot commands are lines starting with '.'
  // between statements. Returns false if stopped early.
  bool run_script(std::istream& in);
  // The interactive loop: errors and interrupts never stop it, Ctrl-C
  // drops a half-typed statement, End quits.
  void run_interactive(LineSource& in);

  // Stops the running statement (through Engine::interrupt), .tail or
  // .import. Thread-safe and async-signal-safe: main() calls it from its
  // SIGINT handler. Outside the interactive loop it also stops the script.
  void interrupt() noexcept;

  bool had_error() const { return error_; }
  bool quit_requested() const { return quit_; }
  // True once interrupt() stopped a non-interactive run.
  bool interrupted() const { return interrupted_.load(); }

private:
  bool run_statement(std::string_view statement);
  bool run_dot(std::string_view line);
  bool run_query(const std::string& query);
  bool tail(std::string_view stream);
  bool fail(std::string_view message);
  bool fail(const std::exception& e, std::string_view statement);
  Engine& engine();

  std::optional<Engine> owned_; // the file .open opened
  std::atomic<Engine*> engine_{nullptr};
  std::ostream& out_;
  std::ostream& err_;
  Mode mode_;
  std::chrono::milliseconds tail_interval_{100};
  std::atomic<bool> interrupted_{false};
  bool keep_going_ = false;
  bool interactive_ = false;
  bool timer_ = false;
  bool error_ = false;
  bool quit_ = false;
  int read_depth_ = 0;
};

// The text of `.help`.
std::string_view help_text();

} // namespace klite::shell
