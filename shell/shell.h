// klite shell core: statement splitting, dot commands and running scripts,
// driven through streams so tests can run it in process. main.cpp only
// parses the command line and picks the streams.
#pragma once

#include "shell/output.h"

#include <klite/engine.h>

#include <istream>
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
  Shell(Engine& engine, std::ostream& out, std::ostream& err, Mode mode)
      : engine_(engine), out_(out), err_(err), mode_(mode) {}

  void set_keep_going(bool on) { keep_going_ = on; }
  void set_mode(Mode mode) { mode_ = mode; }
  Mode mode() const { return mode_; }

  // Runs text holding zero or more statements (the last ';' optional), or
  // one dot command if it starts with '.'. Returns false if it should stop
  // (an error without --keep-going, or .quit).
  bool run_text(std::string_view text);
  // Runs a script line by line: dot commands are lines starting with '.'
  // between statements. Returns false if stopped early.
  bool run_script(std::istream& in);
  // The interactive loop: prompts on `prompt`, errors never stop it.
  void run_interactive(std::istream& in, std::ostream& prompt);

  bool had_error() const { return error_; }
  bool quit_requested() const { return quit_; }

private:
  bool run_statement(std::string_view statement);
  bool run_dot(std::string_view line);
  bool run_query(const std::string& query);
  bool fail(std::string_view message);

  Engine& engine_;
  std::ostream& out_;
  std::ostream& err_;
  Mode mode_;
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
