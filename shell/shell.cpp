#include "shell/shell.h"

#include "shell/transfer.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <thread>

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

// An error's message without its "line N, col M: " prefix, for errors of
// query text the user did not write.
std::string_view without_position(const Error& e) {
  std::string_view m = e.what();
  if (e.line() > 0)
    if (const auto colon = m.find(": "); colon != std::string_view::npos)
      m.remove_prefix(colon + 2);
  return m;
}

// The arguments of a dot command, split at spaces; an argument holding
// spaces goes inside '..' or "..".
std::vector<std::string> split_args(std::string_view text) {
  std::vector<std::string> args;
  std::size_t i = 0;
  while (i < text.size()) {
    if (is_space(text[i])) {
      ++i;
      continue;
    }
    std::string arg;
    if (const char q = text[i]; q == '\'' || q == '"') {
      const auto end = text.find(q, i + 1);
      arg = text.substr(i + 1, end == std::string_view::npos ? end : end - i - 1);
      i = end == std::string_view::npos ? text.size() : end + 1;
    } else {
      while (i < text.size() && !is_space(text[i]))
        arg += text[i++];
    }
    args.push_back(std::move(arg));
  }
  return args;
}

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

Engine& Shell::engine() {
  Engine* e = engine_.load();
  if (e == nullptr)
    throw Error(ErrorCode::Misuse, "no file is open; use .open FILE");
  return *e;
}

bool Shell::open(const std::string& path) {
  try {
    Engine next = Engine::open(path);
    engine_.store(nullptr); // interrupt() must not see a half-moved Engine
    owned_.reset();
    owned_.emplace(std::move(next));
    engine_.store(&*owned_);
    return true;
  } catch (const std::exception& e) {
    fail(e.what());
    return false;
  }
}

void Shell::interrupt() noexcept {
  interrupted_.store(true);
  if (Engine* e = engine_.load())
    e->interrupt();
}

bool Shell::fail(std::string_view message) {
  err_ << "Error: " << message << '\n';
  err_.flush();
  error_ = true;
  return interactive_ || keep_going_;
}

bool Shell::fail(const std::exception& e, std::string_view statement) {
  const auto* error = dynamic_cast<const Error*>(&e);
  if (error != nullptr && error->code() == ErrorCode::Interrupted) {
    if (interactive_)
      err_ << '\n'; // after the "^C" the terminal echoed
    fail(without_position(*error));
    return interactive_; // Ctrl-C stops a script even with --keep-going
  }
  const bool go_on = fail(e.what());
  if (!interactive_ || error == nullptr || error->line() == 0)
    return go_on;
  // The statement's line with a caret under the column (a byte offset;
  // tabs kept so the caret lines up, UTF-8 continuation bytes skipped).
  std::string_view text = statement;
  for (std::uint32_t n = 1; n < error->line(); ++n) {
    const auto nl = text.find('\n');
    if (nl == std::string_view::npos)
      return go_on;
    text.remove_prefix(nl + 1);
  }
  text = text.substr(0, text.find('\n'));
  std::string pad;
  for (std::size_t i = 0; i + 1 < error->column() && i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\t')
      pad += '\t';
    else if ((c & 0xC0u) != 0x80u)
      pad += ' ';
  }
  err_ << "  " << text << "\n  " << pad << "^\n";
  err_.flush();
  return go_on;
}

bool Shell::run_query(const std::string& query) {
  Printer printer(out_, mode_);
  try {
    Result result = engine().exec(query);
    while (result.next())
      printer.row(result.row());
    printer.flush();
    out_.flush();
    return true;
  } catch (const std::exception& e) {
    printer.flush();
    out_.flush();
    return fail(e, query);
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
  while (!interrupted_.load() && std::getline(in, line)) {
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
  if (interrupted_.load())
    return false;
  if (splitter.pending())
    return run_statement(splitter.rest());
  return true;
}

void Shell::run_interactive(LineSource& in) {
  interactive_ = true;
  Splitter splitter;
  std::string line;
  for (;;) {
    const auto status = in.read(splitter.pending() ? "   ...> " : "klite> ", line);
    if (status == LineSource::Status::End)
      break;
    interrupted_.store(false); // a Ctrl-C that came after its statement ended
    if (status == LineSource::Status::Cancelled) {
      splitter.rest();
      continue;
    }
    in.remember(line);
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
  const std::vector<std::string> args = split_args(arg);
  if (cmd == ".open") {
    if (args.size() != 1)
      return fail("usage: .open FILE");
    return open(args[0]) || interactive_ || keep_going_;
  }
  if (cmd == ".import") {
    if (args.size() != 2)
      return fail("usage: .import FILE STREAM");
    try {
      ImportOptions options;
      options.stop = &interrupted_;
      const ImportResult r = import_lines(engine(), args[0], args[1], options);
      if (interactive_)
        out_ << "imported " << r.records << " records into " << args[1]
             << (r.records > 0 ? " as keys " + std::to_string(r.first_key) + ".." +
                                     std::to_string(r.last_key)
                               : std::string())
             << '\n';
      out_.flush();
      return true;
    } catch (const std::exception& e) {
      return fail(e, "");
    }
  }
  if (cmd == ".export") {
    if (args.size() != 2)
      return fail("usage: .export STREAM FILE");
    try {
      const std::uint64_t n = export_lines(engine(), args[0], args[1]);
      if (interactive_)
        out_ << "exported " << n << " records of " << args[0] << " to " << args[1] << '\n';
      out_.flush();
      return true;
    } catch (const std::exception& e) {
      return fail(e, "");
    }
  }
  if (cmd == ".tail") {
    if (arg.empty())
      return fail("usage: .tail STREAM");
    return tail(arg);
  }
  if (cmd == ".read") {
    if (args.size() != 1)
      return fail("usage: .read FILE");
    if (read_depth_ >= kMaxReadDepth)
      return fail(".read nested too deeply");
    const std::string& path = args[0];
    std::ifstream file{path, std::ios::binary};
    if (!file)
      return fail("cannot open \"" + path + "\"");
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

bool Shell::tail(std::string_view stream) {
  Printer printer(out_, mode_);
  std::uint64_t last = 0;
  // Prints the rows of `st`, remembering the last key; false if none.
  auto print = [&](Statement& st) {
    bool any = false;
    while (st.step()) {
      printer.row(st.row());
      last = st.row()[0].as_integer();
      any = true;
    }
    st.reset();
    if (any) {
      printer.flush();
      out_.flush();
    }
    return any;
  };
  try {
    const std::string name(stream);
    engine().info(name); // NoSuchStream before any query text is involved
    // prepare() takes exactly one statement: `stream` cannot add another.
    Statement backlog = engine().prepare("GET LAST 10 FROM " + name);
    Statement more = engine().prepare("GET 1000 AFTER ? FROM " + name);
    print(backlog);
    while (!interrupted_.load()) {
      more.bind(1, last);
      if (!print(more))
        std::this_thread::sleep_for(tail_interval_);
    }
  } catch (const Error& e) {
    printer.flush();
    out_.flush();
    if (e.code() != ErrorCode::Interrupted)
      return fail(".tail " + std::string(stream) + ": " + std::string(without_position(e)));
  }
  if (interactive_) {
    out_ << '\n'; // after the "^C" the terminal echoed
    out_.flush();
  }
  return interactive_; // ended by Ctrl-C: a script stops there
}

std::string_view help_text() {
  return R"(Statements end with ';' (a statement may span lines):
  ADD 'payment 42 settled' TO payments;     append records, prints their keys
  ADD 'a', "b", x'00ff' TO payments;        several values in one commit
  ADD 'x' TO payments TTL 60s;              a record that expires in a minute
  GET 7 FROM payments;                      one record by key
  GET 1, 5, 9 FROM payments;                several keys
  GET 10 AFTER 5 FROM payments;             the first 10 records with key > 5
  GET 3 BEFORE 10 FROM payments;            the last 3 records with key < 10
  GET FIRST 5 FROM payments;                the oldest 5 records
  GET LAST 5 FROM payments;                 the newest 5 records
  GET 10 AFTER TIME '2026-11-25T10:00:00Z' FROM payments;
  CREATE STREAM payments;                   create an empty stream
  CREATE STREAM payments WITH (max_age = 7d, max_bytes = 1GiB, max_records = 1000000);
  ALTER STREAM payments SET (max_records = 500);  change retention limits
  DROP STREAM payments;                     remove a stream and its records
  SHOW STREAMS;                             every stream with its counts
  INFO payments;                            one stream's counts and limits
  BEGIN; ADD 'x' TO a; ADD 'y' TO b; COMMIT;  one transaction (or ROLLBACK)
  EXPIRE payments BEFORE 1000;              drop the records with keys < 1000
  EXPIRE payments OLDER THAN 7d;            drop the records older than 7 days
  VACUUM;                                   give free space back to the OS
  EXPLAIN GET LAST 5 FROM payments;         the statement's program
  -- a comment runs to the end of the line
Dot commands (put a FILE holding spaces in quotes):
  .help                this text
  .open FILE           close this file and open FILE (created if missing)
  .mode [MODE]         show or set the output mode: table line json csv raw
  .streams             same as SHOW STREAMS
  .info STREAM         same as INFO STREAM
  .explain QUERY       same as EXPLAIN QUERY
  .timer on|off        print each statement's run time to stderr
  .read FILE           run the statements and commands in FILE
  .import FILE STREAM  append each line of FILE to STREAM as one record
  .export STREAM FILE  write each record's value to FILE as one line
  .tail STREAM         print the last 10 records, then new ones as they
                       are added, until Ctrl-C
  .quit                leave the shell (or Ctrl-D)
Ctrl-C stops a running statement, or drops the line being typed.
)";
}

} // namespace klite::shell
