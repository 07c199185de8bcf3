#include "shell/shell.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>

namespace klite::shell {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

constexpr int kMaxReadDepth = 16;

} // namespace

// --- Splitter ---------------------------------------------------------------

void Splitter::feed(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (comment_) {
      buf_ += c;
      if (c == '\n')
        comment_ = false;
      continue;
    }
    if (quote_ != 0) {
      buf_ += c;
      if (escape_)
        escape_ = false;
      else if (c == '\\')
        escape_ = true;
      else if (c == quote_)
        quote_ = 0;
      continue;
    }
    if (dash_) {
      dash_ = false;
      if (c == '-') {
        buf_ += c;
        comment_ = true;
        continue;
      }
      content_ = true;
    }
    if (c == ';') {
      if (content_)
        done_.push_back(std::move(buf_));
      buf_.clear();
      content_ = false;
      continue;
    }
    buf_ += c;
    if (c == '-') {
      dash_ = true;
    } else if (c == '\'' || c == '"') {
      quote_ = c;
      content_ = true;
    } else if (!is_space(c)) {
      content_ = true;
    }
  }
}

std::vector<std::string> Splitter::take() {
  std::vector<std::string> out;
  out.swap(done_);
  return out;
}

std::string Splitter::rest() {
  std::string out;
  out.swap(buf_);
  quote_ = 0;
  escape_ = comment_ = dash_ = content_ = false;
  return out;
}

// --- Shell ------------------------------------------------------------------

bool Shell::fail(std::string_view message) {
  err_ << "Error: " << message << '\n';
  err_.flush();
  error_ = true;
  return interactive_ || keep_going_;
}

bool Shell::run_query(const std::string& query) {
  Printer printer(out_, mode_);
  try {
    Result result = engine_.exec(query);
    while (result.next())
      printer.row(result.row());
    printer.finish();
    out_.flush();
    return true;
  } catch (const std::exception& e) {
    printer.finish();
    out_.flush();
    return fail(e.what());
  }
}

bool Shell::run_statement(std::string_view statement) {
  const auto start = std::chrono::steady_clock::now();
  // Leading blank lines dropped, so an error's "line N" counts from the
  // statement's first line.
  while (!statement.empty() && is_space(statement.front()))
    statement.remove_prefix(1);
  const bool go_on = run_query(std::string(statement));
  if (timer_) {
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    char buf[64];
    std::snprintf(buf, sizeof buf, "Run Time: %.6f s\n", took.count());
    err_ << buf;
    err_.flush();
  }
  return go_on;
}

bool Shell::run_text(std::string_view text) {
  if (std::string_view t = trim(text); !t.empty() && t.front() == '.')
    return run_dot(t);
  Splitter splitter;
  splitter.feed(text);
  for (const auto& s : splitter.take())
    if (!run_statement(s))
      return false;
  if (splitter.pending())
    return run_statement(splitter.rest());
  return true;
}

bool Shell::run_script(std::istream& in) {
  Splitter splitter;
  std::string line;
  while (std::getline(in, line)) {
    if (!splitter.pending()) {
      if (std::string_view t = trim(line); !t.empty() && t.front() == '.') {
        splitter.rest(); // drop comments and blanks before the command
        if (!run_dot(t))
          return false;
        continue;
      }
    }
    splitter.feed(line);
    splitter.feed("\n");
    for (const auto& s : splitter.take())
      if (!run_statement(s))
        return false;
  }
  if (splitter.pending())
    return run_statement(splitter.rest());
  return true;
}

void Shell::run_interactive(std::istream& in, std::ostream& prompt) {
  interactive_ = true;
  Splitter splitter;
  std::string line;
  for (;;) {
    prompt << (splitter.pending() ? "   ...> " : "klite> ");
    prompt.flush();
    if (!std::getline(in, line)) {
      prompt << '\n';
      prompt.flush();
      break;
    }
    if (!splitter.pending()) {
      if (std::string_view t = trim(line); !t.empty() && t.front() == '.') {
        splitter.rest();
        run_dot(t);
        if (quit_)
          break;
        continue;
      }
    }
    splitter.feed(line);
    splitter.feed("\n");
    for (const auto& s : splitter.take())
      run_statement(s);
  }
  interactive_ = false;
}

bool Shell::run_dot(std::string_view line) {
  line = trim(line);
  std::size_t end = 0;
  while (end < line.size() && !is_space(line[end]))
    ++end;
  const std::string_view cmd = line.substr(0, end);
  const std::string_view arg = trim(line.substr(end));

  if (cmd == ".help") {
    out_ << help_text();
    out_.flush();
    return true;
  }
  if (cmd == ".quit" || cmd == ".exit") {
    quit_ = true;
    return false;
  }
  if (cmd == ".mode") {
    if (arg.empty()) {
      out_ << "mode: " << mode_name(mode_) << '\n';
      out_.flush();
      return true;
    }
    auto mode = parse_mode(arg);
    if (!mode)
      return fail("unknown mode \"" + std::string(arg) +
                  "\": use table, line, json, csv or raw");
    mode_ = *mode;
    return true;
  }
  if (cmd == ".streams") {
    if (!arg.empty())
      return fail(".streams takes no argument");
    return run_statement("SHOW STREAMS");
  }
  if (cmd == ".info") {
    if (arg.empty())
      return fail("usage: .info STREAM");
    return run_statement("INFO " + std::string(arg));
  }
  if (cmd == ".explain") {
    std::string_view q = arg;
    while (!q.empty() && (q.back() == ';' || is_space(q.back())))
      q.remove_suffix(1);
    if (q.empty())
      return fail("usage: .explain QUERY");
    return run_statement("EXPLAIN " + std::string(q));
  }
  if (cmd == ".timer") {
    if (arg == "on")
      timer_ = true;
    else if (arg == "off")
      timer_ = false;
    else
      return fail("usage: .timer on|off");
    return true;
  }
  if (cmd == ".read") {
    if (arg.empty())
      return fail("usage: .read FILE");
    if (read_depth_ >= kMaxReadDepth)
      return fail(".read nested too deeply");
    std::ifstream file{std::string(arg), std::ios::binary};
    if (!file)
      return fail("cannot open \"" + std::string(arg) + "\"");
    ++read_depth_;
    const bool was_interactive = interactive_;
    interactive_ = false; // an error stops the file, not the shell
    const bool go_on = run_script(file);
    interactive_ = was_interactive;
    --read_depth_;
    if (quit_)
      return false;
    return go_on || interactive_;
  }
  return fail("unknown command \"" + std::string(cmd) + "\"; try .help");
}

std::string_view help_text() {
  return R"(Statements end with ';' (a statement may span lines):
  ADD 'payment 42 settled' TO payments;     append records, prints their keys
  ADD 'a', "b", x'00ff' TO payments;        several values in one commit
  GET 7 FROM payments;                      one record by key
  GET 1, 5, 9 FROM payments;                several keys
  GET 10 AFTER 5 FROM payments;             the first 10 records with key > 5
  GET 3 BEFORE 10 FROM payments;            the last 3 records with key < 10
  GET FIRST 5 FROM payments;                the oldest 5 records
  GET LAST 5 FROM payments;                 the newest 5 records
  GET 10 AFTER TIME '2026-11-25T10:00:00Z' FROM payments;
  CREATE STREAM payments;                   create an empty stream
  DROP STREAM payments;                     remove a stream and its records
  SHOW STREAMS;                             every stream with its counts
  INFO payments;                            one stream's counts
  BEGIN; ADD 'x' TO a; ADD 'y' TO b; COMMIT;  one transaction (or ROLLBACK)
  EXPIRE payments OLDER THAN 7d;            (parsed, not supported yet)
  EXPLAIN GET LAST 5 FROM payments;         the statement's program
  -- a comment runs to the end of the line
Dot commands:
  .help                this text
  .mode [MODE]         show or set the output mode: table line json csv raw
  .streams             same as SHOW STREAMS
  .info STREAM         same as INFO STREAM
  .explain QUERY       same as EXPLAIN QUERY
  .timer on|off        print each statement's run time to stderr
  .read FILE           run the statements and commands in FILE
  .quit                leave the shell
)";
}

} // namespace klite::shell
