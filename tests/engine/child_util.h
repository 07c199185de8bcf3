// A forked child process that stops at a point the parent waits for, and
// goes on when the parent says so: the multi-process tests use it to hold a
// write lock or a read transaction in another process.
#pragma once

#include <doctest/doctest.h>

#include <csignal>

#include <sys/wait.h>
#include <unistd.h>

namespace klite::test {

class Child {
public:
  // Forks; the child runs `body(at_point)`, where `at_point()` tells the
  // parent it got there, then waits for go(), and returns false if the
  // parent went away. body's result is the child's exit status; an
  // exception is status 4. The constructor returns once the child is at
  // its point.
  template <class F> explicit Child(F&& body) {
    REQUIRE(::pipe(up_) == 0);
    REQUIRE(::pipe(down_) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      int code = 4;
      try {
        code = body([this] {
          char c = 'p';
          return ::write(up_[1], &c, 1) == 1 && ::read(down_[0], &c, 1) == 1;
        });
      } catch (...) {
      }
      ::_exit(code);
    }
    char c = 0;
    REQUIRE(::read(up_[0], &c, 1) == 1);
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    for (int fd : {up_[0], up_[1], down_[0], down_[1]})
      ::close(fd);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Lets it go on from its point.
  void go() {
    char c = 'g';
    REQUIRE(::write(down_[1], &c, 1) == 1);
  }
  // Waits for it to end; its exit status.
  int wait() {
    int status = 0;
    REQUIRE(::waitpid(pid_, &status, 0) == pid_);
    pid_ = -1;
    REQUIRE(WIFEXITED(status));
    return WEXITSTATUS(status);
  }
  void kill() {
    REQUIRE(::kill(pid_, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid_, &status, 0) == pid_);
    CHECK(WIFSIGNALED(status));
    pid_ = -1;
  }

private:
  pid_t pid_ = -1;
  int up_[2] = {-1, -1}, down_[2] = {-1, -1};
};

} // namespace klite::test
