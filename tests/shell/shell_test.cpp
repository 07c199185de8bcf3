// The klite shell (shell/): output modes, statement splitting, errors and
// dot commands, driven in process through string streams. cli_test.cpp
// runs the built binary through pipes, pty_test.cpp on a terminal.
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "tests/engine/test_util.h"
#include "shell/output.h"
#include "shell/shell.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

namespace {

using klite::shell::Mode;
using klite::shell::Shell;

// 2023-11-14T22:13:20Z.
constexpr std::uint64_t kT = 1700000000000000;
constexpr const char* kIso = "2023-11-14T22:13:20.000000Z";

struct Fixture {
  klite::test::TempDir tmp; // outlives the engine
  const std::filesystem::path& dir = tmp.path();
  std::optional<klite::Engine> engine;
  std::ostringstream out, err;

  Fixture() {
    klite::Options options;
    options.clock = [] { return kT; };
    options.durability = klite::Durability::Off;
    engine.emplace(klite::Engine::open(tmp.file("db.klite"), options));
  }
  Shell shell(Mode mode) { return Shell(*engine, out, err, mode); }
};

std::string iso(const char* fmt) { // replaces each '@' with kIso
  std::string s;
  for (const char* p = fmt; *p; ++p)
    s += *p == '@' ? std::string(kIso) : std::string(1, *p);
  return s;
}

} // namespace

TEST_CASE("Shell: json mode prints ADD keys and GET rows with base64 for non-UTF-8") {
  Fixture f;
  Shell sh = f.shell(Mode::Json);
  CHECK(sh.run_text("ADD 'hi', x'00ff' TO s; GET FIRST 5 FROM s"));
  CHECK(f.out.str() ==
        iso("{\"key\": 1}\n"
            "{\"key\": 2}\n"
            "{\"key\": 1, \"ts\": \"@\", \"value\": \"hi\"}\n"
            "{\"key\": 2, \"ts\": \"@\", \"value\": \"AP8=\", "
            "\"value_encoding\": \"base64\"}\n"));
  CHECK(f.err.str().empty());
  CHECK_FALSE(sh.had_error());
}

TEST_CASE("Shell: json mode on SHOW STREAMS and INFO with an empty stream") {
  Fixture f;
  Shell sh = f.shell(Mode::Json);
  CHECK(sh.run_text("CREATE STREAM e; ADD 'abc' TO s; INFO e; SHOW STREAMS"));
  CHECK(f.out.str() ==
        iso("{\"key\": 1}\n"
            "{\"name\": \"e\", \"records\": 0, \"bytes\": 0, \"first_key\": null, "
            "\"last_key\": null, \"first_timestamp\": null, \"last_timestamp\": null, "
            "\"created\": \"@\", \"max_age\": 0, \"max_bytes\": 0, \"max_records\": 0}\n"
            "{\"name\": \"e\", \"records\": 0, \"bytes\": 0, \"first_key\": null, "
            "\"last_key\": null, \"first_timestamp\": null, \"last_timestamp\": null, "
            "\"created\": \"@\", \"max_age\": 0, \"max_bytes\": 0, \"max_records\": 0}\n"
            "{\"name\": \"s\", \"records\": 1, \"bytes\": 3, \"first_key\": 1, "
            "\"last_key\": 1, \"first_timestamp\": \"@\", \"last_timestamp\": \"@\", "
            "\"created\": \"@\", \"max_age\": 0, \"max_bytes\": 0, \"max_records\": 0}\n"));
}

TEST_CASE("Shell: json escaping of UTF-8 values") {
  Fixture f;
  Shell sh = f.shell(Mode::Json);
  CHECK(sh.run_text("ADD 'q\"b\\\\n\\n\\t\\x01\xc3\xa9/' TO s; GET 1 FROM s"));
  CHECK(f.out.str() ==
        iso("{\"key\": 1}\n"
            "{\"key\": 1, \"ts\": \"@\", "
            "\"value\": \"q\\\"b\\\\n\\n\\t\\u0001\xc3\xa9/\"}\n"));
}

TEST_CASE("Shell: output helpers") {
  // UTF-8, base64, JSON strings and times: tests/engine/text_test.cpp.
  using namespace klite::shell;
  CHECK(csv_field("plain") == "plain");
  CHECK(csv_field("a,b") == "\"a,b\"");
  CHECK(csv_field("say \"x\"") == "\"say \"\"x\"\"\"");
  CHECK(csv_field("l1\nl2") == "\"l1\nl2\"");
  CHECK(parse_mode("csv") == Mode::Csv);
  CHECK_FALSE(parse_mode("xml"));
}

TEST_CASE("Shell: table mode") {
  Fixture f;
  Shell sh = f.shell(Mode::Table);
  CHECK(sh.run_text("ADD 'hello', x'00ff' TO s; GET FIRST 2 FROM s; SHOW STREAMS"));
  CHECK(f.out.str() ==
        iso("key\n"
            "---\n"
            "1\n"
            "2\n"
            "key  ts                           value\n"
            "---  ---------------------------  -------\n"
            "1    @  hello\n"
            "2    @  x'00ff'\n"
            "name  records  bytes  first_key  last_key  first_timestamp              "
            "last_timestamp               created                      max_age  "
            "max_bytes  max_records\n"
            "----  -------  -----  ---------  --------  ---------------------------  "
            "---------------------------  ---------------------------  -------  "
            "---------  -----------\n"
            "s     2        7      1          2         @  @  @  0        0          0\n"));
}

TEST_CASE("Shell: line mode") {
  Fixture f;
  Shell sh = f.shell(Mode::Line);
  CHECK(sh.run_text("ADD 'a', 'b' TO s; GET FIRST 2 FROM s; INFO s"));
  CHECK(f.out.str() ==
        iso("key = 1\n"
            "\n"
            "key = 2\n"
            "  key = 1\n"
            "   ts = @\n"
            "value = a\n"
            "\n"
            "  key = 2\n"
            "   ts = @\n"
            "value = b\n"
            "           name = s\n"
            "        records = 2\n"
            "          bytes = 2\n"
            "      first_key = 1\n"
            "       last_key = 2\n"
            "first_timestamp = @\n"
            " last_timestamp = @\n"
            "        created = @\n"
            "        max_age = 0\n"
            "      max_bytes = 0\n"
            "    max_records = 0\n"));
}

TEST_CASE("Shell: csv mode quotes per RFC 4180") {
  Fixture f;
  Shell sh = f.shell(Mode::Csv);
  CHECK(sh.run_text("ADD 'a,b', 'say \"x\"', 'l1\\nl2', x'' TO s; GET FIRST 4 FROM s"));
  CHECK(f.out.str() ==
        iso("key\n1\n2\n3\n4\n"
            "key,ts,value\n"
            "1,@,\"a,b\"\n"
            "2,@,\"say \"\"x\"\"\"\n"
            "3,@,\"l1\nl2\"\n"
            "4,@,\n"));
}

TEST_CASE("Shell: raw mode prints values only") {
  Fixture f;
  Shell sh = f.shell(Mode::Raw);
  CHECK(sh.run_text("ADD 'one', 'two' TO s; GET FIRST 2 FROM s; INFO s"));
  CHECK(f.out.str() == "1\n2\none\ntwo\n"
                       "s\t2\t6\t1\t2\t1700000000000000\t1700000000000000\t"
                       "1700000000000000\t0\t0\t0\n");
}

TEST_CASE("Shell: splitter handles lines and strings and comments") {
  klite::shell::Splitter sp;
  sp.feed("ADD 'a;b', \"c;\\\"d\", x'3b' -- not; the end\n");
  CHECK(sp.take().empty());
  CHECK(sp.pending());
  sp.feed("TO s; GET 1\n");
  auto done = sp.take();
  REQUIRE(done.size() == 1);
  CHECK(done[0] == "ADD 'a;b', \"c;\\\"d\", x'3b' -- not; the end\nTO s");
  CHECK(sp.pending());
  sp.feed("FROM s;;  -- trailing comment\n");
  done = sp.take();
  REQUIRE(done.size() == 1);
  CHECK(done[0] == " GET 1\nFROM s");
  CHECK_FALSE(sp.pending());
  sp.feed("a-b");
  CHECK(sp.pending());
}

TEST_CASE("Shell: a script with statements spanning lines") {
  Fixture f;
  Shell sh = f.shell(Mode::Json);
  std::istringstream in("-- a script\n"
                        "ADD 'x;y' -- comment; with ;\n"
                        "  TO s;\n"
                        "GET 1\n"
                        "  FROM s; ADD 'z'\n"
                        "TO s\n");
  CHECK(sh.run_script(in));
  CHECK(f.out.str() == iso("{\"key\": 1}\n"
                           "{\"key\": 1, \"ts\": \"@\", \"value\": \"x;y\"}\n"
                           "{\"key\": 2}\n"));
  CHECK_FALSE(sh.had_error());
}

TEST_CASE("Shell: an error stops a script unless keep-going") {
  SUBCASE("stop") {
    Fixture f;
    Shell sh = f.shell(Mode::Json);
    std::istringstream in("ADD 'a' TO s;\nGET 1 FROM nope;\nADD 'b' TO s;\n");
    CHECK_FALSE(sh.run_script(in));
    CHECK(sh.had_error());
    CHECK(f.out.str() == "{\"key\": 1}\n");
    CHECK(f.err.str().starts_with("Error: "));
    CHECK(f.err.str().find("nope") != std::string::npos);
    CHECK(f.engine->info("s").records == 1);
  }
  SUBCASE("keep going") {
    Fixture f;
    Shell sh = f.shell(Mode::Json);
    sh.set_keep_going(true);
    std::istringstream in("ADD 'a' TO s;\nGET 1 FORM s;\nADD 'b' TO s;\n");
    CHECK(sh.run_script(in));
    CHECK(sh.had_error());
    CHECK(f.out.str() == "{\"key\": 1}\n{\"key\": 2}\n");
    CHECK(f.err.str().starts_with("Error: line 1, col 7"));
  }
  SUBCASE("one-shot") {
    Fixture f;
    Shell sh = f.shell(Mode::Json);
    CHECK_FALSE(sh.run_text("ADD 'a' TO s; DROP STREAM nope; ADD 'b' TO s"));
    CHECK(sh.had_error());
    CHECK(f.out.str() == "{\"key\": 1}\n");
  }
}

TEST_CASE("Shell: dot commands") {
  Fixture f;
  Shell sh = f.shell(Mode::Json);
  const auto script_path = f.dir / "inner.sql";
  {
    std::ofstream script(script_path);
    script << "ADD 'from file' TO r;\n.mode raw\nGET 1 FROM r;\n";
  }
  std::istringstream in(".help\n"
                        ".mode\n"
                        ".mode csv\n"
                        "ADD 'v' TO s;\n"
                        ".mode json\n"
                        ".streams\n"
                        ".info s\n"
                        ".explain GET 1 FROM s;\n"
                        ".timer on\n"
                        "GET 1 FROM s;\n"
                        ".timer off\n"
                        ".read " +
                        script_path.string() +
                        "\n"
                        ".quit\n"
                        "ADD 'never' TO s;\n");
  CHECK_FALSE(sh.run_script(in));
  CHECK(sh.quit_requested());
  CHECK_FALSE(sh.had_error());
  const std::string out = f.out.str();
  CHECK(out.starts_with(std::string(klite::shell::help_text()) +
                        "mode: json\nkey\n1\n" +
                        iso("{\"name\": \"s\", \"records\": 1, \"bytes\": 1, "
                            "\"first_key\": 1, \"last_key\": 1, \"first_timestamp\": \"@\", "
                            "\"last_timestamp\": \"@\", \"created\": \"@\", "
                            "\"max_age\": 0, \"max_bytes\": 0, \"max_records\": 0}\n") +
                        iso("{\"name\": \"s\", \"records\": 1, \"bytes\": 1, "
                            "\"first_key\": 1, \"last_key\": 1, \"first_timestamp\": \"@\", "
                            "\"last_timestamp\": \"@\", \"created\": \"@\", "
                            "\"max_age\": 0, \"max_bytes\": 0, \"max_records\": 0}\n") +
                        "{\"addr\": 0, \"opcode\": \"Integer\""));
  CHECK(out.find("\"opcode\": \"Halt\"") != std::string::npos);
  CHECK(out.ends_with(iso("{\"key\": 1, \"ts\": \"@\", \"value\": \"v\"}\n") +
                      "{\"key\": 1}\nfrom file\n"));
  CHECK(sh.mode() == Mode::Raw);
  CHECK(f.err.str().starts_with("Run Time: "));
  CHECK(f.err.str().find("Run Time: ", 1) == std::string::npos);
  CHECK(f.engine->info("s").records == 1);
  for (std::string_view word : {"ADD ", "GET ", "AFTER", "BEFORE", "FIRST", "LAST", "TIME",
                                "CREATE STREAM", "DROP STREAM", "SHOW STREAMS", "INFO ",
                                "BEGIN", "COMMIT", "ROLLBACK", "EXPIRE", "EXPLAIN",
                                "ALTER STREAM", " WITH (", "max_age", "max_bytes",
                                "max_records", "OLDER THAN"})
    CHECK(klite::shell::help_text().find(word) != std::string_view::npos);
}

TEST_CASE("Shell: bad dot commands are errors") {
  Fixture f;
  Shell sh = f.shell(Mode::Json);
  sh.set_keep_going(true);
  CHECK(sh.run_text(".frobnicate"));
  CHECK(sh.run_text(".mode xml"));
  CHECK(sh.run_text(".timer maybe"));
  CHECK(sh.run_text(".info"));
  CHECK(sh.run_text(".read /nonexistent/klite/file"));
  CHECK(sh.had_error());
  CHECK(f.err.str() ==
        "Error: unknown command \".frobnicate\"; try .help\n"
        "Error: unknown mode \"xml\": use table, line, json, csv or raw\n"
        "Error: usage: .timer on|off\n"
        "Error: usage: .info STREAM\n"
        "Error: cannot open \"/nonexistent/klite/file\"\n");
  Shell strict = f.shell(Mode::Json);
  CHECK_FALSE(strict.run_text(".nope"));
}

// Lines for the interactive loop, as a terminal would give them; "^C"
// stands for Ctrl-C.
class Lines final : public klite::shell::LineSource {
public:
  explicit Lines(std::vector<std::string> lines) : lines_(std::move(lines)) {}
  Status read(std::string_view prompt, std::string& line) override {
    prompts += prompt;
    if (next_ == lines_.size())
      return Status::End;
    line = lines_[next_++];
    return line == "^C" ? Status::Cancelled : Status::Line;
  }
  void remember(std::string_view line) override { remembered.emplace_back(line); }

  std::string prompts;
  std::vector<std::string> remembered;

private:
  std::vector<std::string> lines_;
  std::size_t next_ = 0;
};

TEST_CASE("Shell: interactive prompts and errors do not stop it") {
  Fixture f;
  Shell sh = f.shell(Mode::Json);
  Lines in({"ADD 'a'", "TO s;", "GET 1 FROM nope;", "GET 1 FROM s;", ".quit", "ADD 'x' TO s;"});
  sh.run_interactive(in);
  CHECK(in.prompts == "klite>    ...> klite> klite> klite> ");
  CHECK(in.remembered ==
        std::vector<std::string>{"ADD 'a'", "TO s;", "GET 1 FROM nope;", "GET 1 FROM s;", ".quit"});
  CHECK(f.out.str() ==
        iso("{\"key\": 1}\n{\"key\": 1, \"ts\": \"@\", \"value\": \"a\"}\n"));
  CHECK(f.err.str() == "Error: line 1, col 12: no such stream: nope\n"
                       "  GET 1 FROM nope\n"
                       "             ^\n");
  CHECK(f.engine->info("s").records == 1);
}

TEST_CASE("Shell: Ctrl-C while typing drops the statement being typed") {
  Fixture f;
  Shell sh = f.shell(Mode::Raw);
  Lines in({"ADD 'a'", "^C", "ADD 'b' TO s;", "GET 1", "^C", "GET 1 FROM s;"});
  sh.run_interactive(in);
  CHECK(in.prompts == "klite>    ...> klite> klite>    ...> klite> klite> ");
  CHECK(f.out.str() == "1\nb\n");
  CHECK(f.err.str().empty());
  CHECK(f.engine->info("s").records == 1);
}

TEST_CASE("Shell: a caret only in interactive mode, under the right byte") {
  Fixture f;
  Shell sh = f.shell(Mode::Json);
  sh.set_keep_going(true);
  CHECK(sh.run_text("GET 5 FORM s"));
  CHECK(f.err.str() == "Error: line 1, col 7: expected FROM, found \"FORM\"\n");
  f.err.str("");
  // Tabs are kept and a multi-byte character is one column wide.
  Lines in({"ADD 'é' TO\t\"s\" ;"});
  sh.run_interactive(in);
  const std::string err = f.err.str();
  CHECK(err == "Error: line 1, col 13: expected a stream name, found \"\\\"s\\\"\"\n"
               "  ADD 'é' TO\t\"s\" \n"
               "            \t^\n");
}

// A stream buffer that calls `on_flush` each time the stream is flushed,
// so a test can act between the polls of a running .tail.
class FlushHook final : public std::stringbuf {
public:
  std::function<void()> on_flush;

protected:
  int sync() override {
    if (on_flush)
      on_flush();
    return 0;
  }
};

TEST_CASE("Shell: .tail prints the last 10 records, then new ones as they come") {
  Fixture f;
  for (int i = 1; i <= 12; ++i)
    f.engine->append("s", "old " + std::to_string(i));
  FlushHook hook;
  std::ostream out(&hook);
  Shell sh(*f.engine, out, f.err, Mode::Raw);
  sh.set_tail_interval(std::chrono::milliseconds(1));
  int flushes = 0;
  hook.on_flush = [&] {
    // Flushed after the backlog and after each poll that found records.
    ++flushes;
    if (flushes == 1) {
      f.engine->append("s", "new 1");
      f.engine->append("s", "new 2");
    } else if (flushes == 2) {
      f.engine->append("s", "new 3");
    } else {
      sh.interrupt();
    }
  };
  CHECK_FALSE(sh.run_text(".tail s")); // ended by interrupt(): a script stops
  CHECK(sh.interrupted());
  std::string expected;
  for (int i = 3; i <= 12; ++i)
    expected += "old " + std::to_string(i) + "\n";
  CHECK(hook.str() == expected + "new 1\nnew 2\nnew 3\n");
  CHECK(f.err.str().empty());
  CHECK(flushes >= 3);
}

TEST_CASE("Shell: .tail errors") {
  Fixture f;
  Shell sh = f.shell(Mode::Json);
  sh.set_keep_going(true);
  CHECK(sh.run_text(".tail"));
  CHECK(sh.run_text(".tail nope"));
  CHECK(f.err.str() == "Error: usage: .tail STREAM\n"
                       "Error: .tail nope: no such stream: nope\n");
}

TEST_CASE("Shell: .open switches files and keeps the old one on failure") {
  Fixture f;
  Shell sh = f.shell(Mode::Raw);
  sh.set_keep_going(true);
  CHECK(sh.run_text("ADD 'in first' TO s"));
  const auto second = (f.dir / "second file.klite").string();
  CHECK(sh.run_text(".open '" + second + "'"));
  CHECK(sh.run_text("ADD 'in second' TO s; GET 1 FROM s"));
  const auto not_klite = (f.dir / "not.klite").string();
  std::ofstream(not_klite) << std::string(8192, 'x');
  CHECK(sh.run_text(".open " + not_klite));
  CHECK(sh.run_text("GET 1 FROM s")); // still the second file
  CHECK(sh.run_text(".open"));
  CHECK(f.out.str() == "1\n1\nin second\nin second\n");
  const std::string err = f.err.str();
  CHECK(err.starts_with("Error: "));
  CHECK(err.find("not.klite") != std::string::npos);
  CHECK(err.ends_with("Error: usage: .open FILE\n"));
  CHECK(f.engine->get("s", 1)->value == "in first");
  Shell strict = f.shell(Mode::Raw);
  CHECK_FALSE(strict.run_text(".open " + not_klite));
}

TEST_CASE("Shell: interrupt() stops a script between statements") {
  Fixture f;
  FlushHook hook;
  std::ostream out(&hook);
  Shell sh(*f.engine, out, f.err, Mode::Raw);
  sh.set_keep_going(true); // an interrupt stops even a keep-going script
  hook.on_flush = [&] { sh.interrupt(); };
  std::istringstream script("ADD 'a' TO s;\nADD 'b' TO s;\n");
  CHECK_FALSE(sh.run_script(script));
  CHECK(sh.interrupted());
  CHECK(hook.str() == "1\n");
  CHECK(f.engine->info("s").records == 1);
}

