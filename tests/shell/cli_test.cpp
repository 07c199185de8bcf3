// The klite shell as scripts and other programs use it: the built binary
// with its stdin, stdout and stderr on files and pipes. Every output mode,
// every dot command, errors and exit statuses, binary values, empty
// results, a large .import and a .tail stopped by SIGINT.
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "engine/text.h"
#include "tests/engine/test_util.h"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef KLITE_SHELL_BIN
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Run {
  int status = -1; // exit status, or 128 + signal
  std::string out, err;
};

// A pid's exit status as a shell reports it.
int status_of(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// execv of the klite binary with `args`; never returns.
[[noreturn]] void exec_klite(const std::vector<std::string>& args) {
  std::vector<char*> argv{const_cast<char*>(KLITE_SHELL_BIN)};
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(KLITE_SHELL_BIN, argv.data());
  ::_exit(127);
}

struct Dir {
  klite::test::TempDir tmp;
  const fs::path& path = tmp.path();
  std::string db = tmp.file("db.klite");
  std::string file(const char* name) const { return tmp.file(name); }

  // klite ARGS < input > out 2> err.
  Run klite(const std::vector<std::string>& args, std::string_view input = "") const {
    const fs::path in = path / "stdin", out = path / "stdout", err = path / "stderr";
    std::ofstream(in, std::ios::binary) << input;
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const int fds[] = {::open(in.c_str(), O_RDONLY),
                         ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644),
                         ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644)};
      for (int i = 0; i < 3; ++i)
        if (fds[i] < 0 || ::dup2(fds[i], i) < 0)
          ::_exit(126);
      exec_klite(args);
    }
    Run r;
    r.status = status_of(pid);
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  // The records of `stream` as {timestamp as ISO-8601, ...}, to build
  // expected output.
  std::vector<std::string> times(std::string_view stream) const {
    std::vector<std::string> out;
    auto engine = klite::Engine::open(db);
    auto txn = engine.read();
    auto c = txn.cursor(stream);
    for (bool ok = c.first(); ok; ok = c.next())
      out.push_back(klite::text::format_iso8601(c.record().timestamp));
    return out;
  }
};

} // namespace

TEST_CASE("CLI: every output mode through a pipe, binary values and empty results") {
  Dir d;
  Run r = d.klite({d.db, "ADD 'plain, \"quoted\"', x'00ff0a' TO s"});
  CHECK(r.status == 0);
  CHECK(r.out == "{\"key\": 1}\n{\"key\": 2}\n"); // json: stdout is not a terminal
  CHECK(r.err.empty());
  const auto ts = d.times("s");
  REQUIRE(ts.size() == 2);
  const std::string get = "GET FIRST 2 FROM s";

  r = d.klite({"--mode", "json", d.db, get});
  CHECK(r.out == "{\"key\": 1, \"ts\": \"" + ts[0] +
                     "\", \"value\": \"plain, \\\"quoted\\\"\"}\n"
                     "{\"key\": 2, \"ts\": \"" +
                     ts[1] + "\", \"value\": \"AP8K\", \"value_encoding\": \"base64\"}\n");
  r = d.klite({"--mode", "table", d.db, get});
  CHECK(r.out == "key  ts                           value\n"
                 "---  ---------------------------  ---------------\n"
                 "1    " + ts[0] + "  plain, \"quoted\"\n"
                 "2    " + ts[1] + "  x'00ff0a'\n");
  r = d.klite({"--mode=line", d.db, get});
  CHECK(r.out == "  key = 1\n   ts = " + ts[0] + "\nvalue = plain, \"quoted\"\n\n"
                 "  key = 2\n   ts = " + ts[1] + "\nvalue = x'00ff0a'\n");
  r = d.klite({"--mode", "csv", d.db, get});
  CHECK(r.out == "key,ts,value\n1," + ts[0] + ",\"plain, \"\"quoted\"\"\"\n2," + ts[1] +
                     ",\"" + std::string("\x00\xff\n", 3) + "\"\n");
  r = d.klite({"--mode", "raw", d.db, get});
  CHECK(r.out == "plain, \"quoted\"\n" + std::string("\x00\xff\n\n", 4));

  for (const char* mode : {"table", "line", "json", "csv", "raw"}) {
    CAPTURE(mode);
    r = d.klite({"--mode", mode, d.db, "GET 9 FROM s; GET 5 AFTER 2 FROM s"});
    CHECK(r.status == 0);
    CHECK(r.out.empty());
    CHECK(r.err.empty());
  }
  // ADD prints keys in every mode.
  r = d.klite({"--mode", "csv", d.db, "ADD 'x' TO s"});
  CHECK(r.out == "key\n3\n");
  r = d.klite({"--mode", "raw", d.db, "ADD 'y' TO s"});
  CHECK(r.out == "4\n");
}

TEST_CASE("CLI: scripts with errors stop with status 1 and the message") {
  Dir d;
  const std::string script = "ADD 'a' TO s;\n"
                             "GET 1\n"
                             "  FORM s;\n"
                             "ADD 'b' TO s;\n";
  Run r = d.klite({"--mode", "raw", d.db}, script);
  CHECK(r.status == 1);
  CHECK(r.out == "1\n");
  CHECK(r.err == "Error: line 2, col 3: expected FROM, found \"FORM\"\n"); // no caret
  r = d.klite({"--mode", "raw", "--keep-going", d.db}, script);
  CHECK(r.status == 1);
  CHECK(r.out == "2\n3\n");
  CHECK(r.err == "Error: line 2, col 3: expected FROM, found \"FORM\"\n");
  r = d.klite({"--mode", "raw", d.db, "GET 1 FROM nope", "ADD 'c' TO s"});
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "Error: line 1, col 12: no such stream: nope\n");
  CHECK(d.klite({"--mode", "raw", d.db, "GET LAST 1 FROM s"}).out == "b\n");

  // A file that is not klite: status 1, nothing changed.
  const std::string junk = d.file("junk");
  std::ofstream(junk) << std::string(5000, 'j');
  r = d.klite({junk, "SHOW STREAMS"});
  CHECK(r.status == 1);
  CHECK(r.err.starts_with("Error: "));
  CHECK(slurp(junk) == std::string(5000, 'j'));

  // Bad command lines: status 2.
  CHECK(d.klite({}).status == 2);
  r = d.klite({"--mode", "xml", d.db});
  CHECK(r.status == 2);
  CHECK(r.err == "Error: unknown mode \"xml\": use table, line, json, csv or raw\n");
  r = d.klite({"--frobnicate", d.db});
  CHECK(r.status == 2);
  CHECK(r.err == "Error: unknown option --frobnicate\nTry klite --help\n");
  r = d.klite({"--help"});
  CHECK(r.status == 0);
  CHECK(r.out.find("Exit status") != std::string::npos);
}

TEST_CASE("CLI: dot commands in a script") {
  Dir d;
  const std::string other = d.file("other file.klite");
  const std::string lines = d.file("lines.txt");
  const std::string exported = d.file("exported.txt");
  const std::string script_file = d.file("more.sql");
  std::ofstream(lines) << "first\nsecond\r\nthird";
  std::ofstream(script_file) << "ADD 'from .read' TO s;\n.mode raw\n";
  const std::string script = ".help\n"
                             ".mode\n"
                             ".import " + lines + " s\n"
                             ".streams\n"
                             ".info s\n"
                             ".explain GET 1 FROM s\n"
                             ".timer on\n"
                             ".read " + script_file + "\n"
                             ".timer off\n"
                             "GET LAST 2 FROM s;\n"
                             ".export s " + exported + "\n"
                             ".open '" + other + "'\n"
                             "ADD 'elsewhere' TO t;\n"
                             ".quit\n"
                             "ADD 'never' TO t;\n";
  Run r = d.klite({d.db}, script);
  CHECK(r.status == 0);
  CHECK(r.err.find("Error") == std::string::npos);
  // .help, then .mode's answer.
  const auto mode_at = r.out.find("mode: json\n");
  REQUIRE(mode_at != std::string::npos);
  CHECK(r.out.substr(0, mode_at).find(".import FILE STREAM") != std::string::npos);
  // .streams and .info: json rows of s with its 3 imported records.
  CHECK(r.out.find("{\"name\": \"s\", \"records\": 3, \"bytes\": 16,") != std::string::npos);
  // .explain: the program's rows.
  CHECK(r.out.find("\"opcode\": \"Halt\"") != std::string::npos);
  // .read ran its ADD (key 4, json) and switched to raw for what follows.
  CHECK(r.out.ends_with("{\"key\": 4}\nthird\nfrom .read\n1\n"));
  // .timer on printed one time, for the ADD of .read.
  CHECK(r.err.starts_with("Run Time: "));
  CHECK(r.err.find("Run Time: ", 1) == std::string::npos);
  CHECK(slurp(exported) == "first\nsecond\nthird\nfrom .read\n");
  {
    auto engine = klite::Engine::open(d.db);
    CHECK(engine.info("s").records == 4);
    auto read = engine.read();
    CHECK_FALSE(read.has_stream("t"));
  }
  auto engine = klite::Engine::open(other);
  CHECK(engine.info("t").records == 1); // .quit stopped before "never"
  CHECK(engine.get("t", 1)->value == "elsewhere");
}

TEST_CASE("CLI: dot command errors") {
  Dir d;
  struct Case {
    const char* command;
    const char* error;
  };
  const Case cases[] = {
      {".frobnicate", "Error: unknown command \".frobnicate\"; try .help\n"},
      {".import", "Error: usage: .import FILE STREAM\n"},
      {".import only-one-arg", "Error: usage: .import FILE STREAM\n"},
      {".export s", "Error: usage: .export STREAM FILE\n"},
      {".export nope /tmp/klite-never-written", "Error: no such stream: nope\n"},
      {".open", "Error: usage: .open FILE\n"},
      {".read", "Error: usage: .read FILE\n"},
      {".tail", "Error: usage: .tail STREAM\n"},
      {".tail nope", "Error: .tail nope: no such stream: nope\n"},
      {".info", "Error: usage: .info STREAM\n"},
      {".explain", "Error: usage: .explain QUERY\n"},
      {".streams extra", "Error: .streams takes no argument\n"},
      {".timer maybe", "Error: usage: .timer on|off\n"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.command);
    const Run r = d.klite({d.db, c.command});
    CHECK(r.status == 1);
    CHECK(r.err == c.error);
    CHECK(r.out.empty());
  }
  CHECK_FALSE(fs::exists("/tmp/klite-never-written"));
  const Run r = d.klite({d.db, ".import /nonexistent/klite/in.txt s"});
  CHECK(r.status == 1);
  CHECK(r.err == "Error: cannot open /nonexistent/klite/in.txt: No such file or directory; "
                 "nothing was imported\n");
}

TEST_CASE("CLI: .import of a large file, and .export of it") {
  Dir d;
  constexpr int kLines = 300'000;
  const std::string in = d.file("big.txt");
  std::string expected;
  {
    std::ofstream out(in, std::ios::binary);
    for (int i = 0; i < kLines; ++i) {
      std::string line = "event " + std::to_string(i) + " ";
      line.resize(99, static_cast<char>('a' + i % 26));
      out << line << '\n';
      expected += line + '\n';
    }
  }
  Run r = d.klite({d.db, ".import " + in + " events"});
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  CHECK(r.out.empty()); // a script's .import prints nothing
  {
    auto engine = klite::Engine::open(d.db);
    const auto info = engine.info("events");
    CHECK(info.records == kLines);
    CHECK(info.bytes == static_cast<std::uint64_t>(kLines) * 99);
    CHECK(engine.get("events", 123'457)->value.starts_with("event 123456 "));
  }
  const std::string out = d.file("back.txt");
  r = d.klite({d.db, ".export events " + out});
  CHECK(r.status == 0);
  CHECK(slurp(out) == expected);
}

TEST_CASE("CLI: .tail follows a stream until SIGINT, then exits 130") {
  Dir d;
  REQUIRE(d.klite({d.db, "ADD 'a', 'b' TO s"}).status == 0);
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(pipe_fds[1], 1);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    exec_klite({"--mode", "raw", d.db, ".tail s", "ADD 'never' TO s"});
  }
  ::close(pipe_fds[1]);
  std::string seen;
  // Reads the pipe until `text` is in it, for at most 20 s.
  auto wait_for = [&](std::string_view text) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (seen.find(text) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      pollfd p{pipe_fds[0], POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        char buf[4096];
        const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
        if (n <= 0)
          return false;
        seen.append(buf, static_cast<std::size_t>(n));
      }
    }
    return true;
  };
  CHECK(wait_for("a\nb\n"));
  CHECK(d.klite({d.db, "ADD 'c' TO s"}).status == 0); // another process appends
  CHECK(wait_for("a\nb\nc\n"));
  ::kill(pid, SIGINT);
  CHECK(status_of(pid) == 130);
  ::close(pipe_fds[0]);
  CHECK(seen == "a\nb\nc\n");
  CHECK(klite::Engine::open(d.db).info("s").records == 3); // "never" did not run
}
#endif
