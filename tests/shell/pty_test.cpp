// The klite shell on a terminal: the real binary on a pseudo-terminal,
// driven by keystrokes as a user types them (prompt, multi-line input,
// history across sessions, Ctrl-C while typing and while a statement
// runs, Ctrl-D).
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "tests/engine/test_util.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifdef KLITE_SHELL_BIN
namespace {

using namespace std::chrono_literals;

// `klite FILE` on a pseudo-terminal of 200x50, with its history file in
// `dir`. Output is kept with "\r" removed (the terminal turns "\n" into
// "\r\n").
class Pty {
public:
  Pty(const std::filesystem::path& dir, const std::string& db) {
    winsize size{};
    size.ws_row = 50;
    size.ws_col = 200;
    pid_ = forkpty(&fd_, nullptr, nullptr, &size);
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      const std::string history = (dir / "history").string();
      ::setenv("KLITE_HISTORY", history.c_str(), 1);
      ::setenv("HOME", dir.c_str(), 1); // no ~/.editrc of the user
      ::setenv("TERM", "xterm", 1);
      ::execl(KLITE_SHELL_BIN, KLITE_SHELL_BIN, db.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~Pty() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(fd_);
  }
  Pty(const Pty&) = delete;
  Pty& operator=(const Pty&) = delete;

  void send(std::string_view keys) {
    while (!keys.empty()) {
      const ssize_t n = ::write(fd_, keys.data(), keys.size());
      REQUIRE(n > 0);
      keys.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // Reads until `text` appears after what earlier expects consumed, then
  // consumes through it. False after 20 s without it.
  bool expect(std::string_view text) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    for (;;) {
      if (const auto at = out_.find(text, seen_); at != std::string::npos) {
        seen_ = at + text.size();
        return true;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        MESSAGE("waited for \"" << text << "\"; the terminal showed:\n" << out_.substr(seen_));
        return false;
      }
      read_some(100ms);
    }
  }

  // expect(prompt), then waits until the shell reads the terminal in
  // editing mode (libedit prints the prompt before it turns ICANON off; a
  // Ctrl-D or Ctrl-C typed in between would reach the line discipline).
  bool expect_prompt(std::string_view prompt = "klite> ") {
    if (!expect(prompt))
      return false;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    termios mode{};
    while (::tcgetattr(fd_, &mode) == 0 && (mode.c_lflag & ICANON) != 0) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      read_some(1ms);
    }
    return true;
  }

  // The exit status once the shell ends (draining its output), or -1
  // after 20 s.
  int wait_exit() {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        while (read_some(50ms)) {
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      read_some(50ms);
    }
    MESSAGE("the shell did not exit; the terminal showed:\n" << out_.substr(seen_));
    return -1;
  }

  // Everything not consumed by expect() yet.
  std::string unread() const { return out_.substr(seen_); }

private:
  // False if nothing arrived within `wait`.
  bool read_some(std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0)
      return false;
    char buf[65536];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0)
      return false; // EIO once the shell has exited
    for (ssize_t i = 0; i < n; ++i)
      if (buf[i] != '\r')
        out_ += buf[i];
    return true;
  }

  int fd_ = -1;
  pid_t pid_ = -1;
  std::string out_;
  std::size_t seen_ = 0;
};

struct Dir {
  klite::test::TempDir tmp;
  const std::filesystem::path& path = tmp.path();
  std::string db = tmp.file("db.klite");
};

} // namespace

TEST_CASE("Terminal: prompt, table output, a multi-line statement and Ctrl-D") {
  Dir dir;
  Pty pty(dir.path, dir.db);
  CHECK(pty.expect_prompt());
  pty.send("ADD 'hello' TO s;\r");
  CHECK(pty.expect("key\n---\n1\n"));
  CHECK(pty.expect_prompt());
  pty.send("GET 1\r");
  CHECK(pty.expect_prompt("   ...> "));
  pty.send("FROM s;\r");
  CHECK(pty.expect("hello\n"));
  CHECK(pty.expect_prompt());
  pty.send("\x04"); // Ctrl-D on an empty line
  CHECK(pty.wait_exit() == 0);
  CHECK(klite::Engine::open(dir.db).info("s").records == 1);
}

TEST_CASE("Terminal: Ctrl-C drops the input, not the shell") {
  Dir dir;
  Pty pty(dir.path, dir.db);
  CHECK(pty.expect_prompt());
  pty.send("ADD 'never' TO s");
  pty.send("\x03");
  CHECK(pty.expect_prompt("^C\nklite> "));
  // Inside a statement that spans lines, Ctrl-C drops all its lines.
  pty.send("ADD 'also never'\r");
  CHECK(pty.expect_prompt("   ...> "));
  pty.send("TO s\x03");
  CHECK(pty.expect_prompt("^C\nklite> "));
  pty.send("ADD 'kept' TO t;\r");
  CHECK(pty.expect_prompt());
  pty.send(".quit\r");
  CHECK(pty.wait_exit() == 0);
  auto engine = klite::Engine::open(dir.db);
  auto read = engine.read();
  CHECK_FALSE(read.has_stream("s"));
  CHECK(read.info("t").records == 1);
}

TEST_CASE("Terminal: Ctrl-C stops a running statement and .tail") {
  Dir dir;
  {
    klite::Options options;
    options.durability = klite::Durability::Off;
    auto engine = klite::Engine::open(dir.db, options);
    auto txn = engine.write();
    const std::string value(100, 'v');
    for (int i = 0; i < 1'000'000; ++i)
      txn.append("big", value);
    txn.commit();
  }
  Pty pty(dir.path, dir.db);
  CHECK(pty.expect_prompt());
  pty.send(".mode line\r");
  CHECK(pty.expect_prompt());
  pty.send("GET 1000000 AFTER 0 FROM big;\r");
  CHECK(pty.expect("value = vvvv"));
  pty.send("\x03");
  CHECK(pty.expect("Error: interrupted\n"));
  CHECK(pty.expect_prompt());
  pty.send(".tail big\r");
  CHECK(pty.expect("key = 1000000\n"));
  pty.send("\x03");
  CHECK(pty.expect_prompt());
  pty.send("INFO big;\r");
  CHECK(pty.expect("records = 1000000\n"));
  CHECK(pty.expect_prompt());
  pty.send("\x04");
  CHECK(pty.wait_exit() == 0);
}

TEST_CASE("Terminal: history is recalled in the next session") {
  Dir dir;
  {
    Pty pty(dir.path, dir.db);
    CHECK(pty.expect_prompt());
    pty.send("ADD 'again' TO s;\r");
    CHECK(pty.expect_prompt());
    pty.send(".quit\r");
    CHECK(pty.wait_exit() == 0);
  }
  std::ifstream history(dir.path / "history");
  const std::string saved{std::istreambuf_iterator<char>(history), {}};
  CHECK(saved.find("again") != std::string::npos);
  Pty pty(dir.path, dir.db);
  CHECK(pty.expect_prompt());
  pty.send("\x1b[A"); // Up: the last line, .quit
  CHECK(pty.expect(".quit"));
  pty.send("\x1b[A"); // Up again: the ADD
  CHECK(pty.expect("ADD 'again' TO s;"));
  pty.send("\r");
  CHECK(pty.expect("key\n---\n2\n"));
  CHECK(pty.expect_prompt());
  pty.send("\x04");
  CHECK(pty.wait_exit() == 0);
  CHECK(klite::Engine::open(dir.db).info("s").records == 2);
}

TEST_CASE("Terminal: an error shows a caret under the query") {
  Dir dir;
  Pty pty(dir.path, dir.db);
  CHECK(pty.expect_prompt());
  pty.send("GET 5 FORM s;\r");
  CHECK(pty.expect("Error: line 1, col 7: "));
  CHECK(pty.expect("\n  GET 5 FORM s\n        ^\n"));
  CHECK(pty.expect_prompt());
  pty.send("GET 1,\r");
  CHECK(pty.expect_prompt("   ...> "));
  pty.send("  2 FROM nope;\r");
  CHECK(pty.expect("Error: line 2, col 10: "));
  CHECK(pty.expect("\n    2 FROM nope\n           ^\n"));
  CHECK(pty.expect_prompt());
  pty.send("\x04");
  CHECK(pty.wait_exit() == 0);
}
#endif
