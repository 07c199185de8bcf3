// A disk that really fills up (issue 7): a 4 MiB tmpfs mounted by the test
// (as root; skipped with a message otherwise). Appends must fail with a
// clear "disk full" error, never SIGBUS; what was committed stays intact;
// and once space is freed, appends work again.
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "engine/inspect.h"
#include "test_util.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <sys/mount.h>
#include <unistd.h>

namespace {

// A small tmpfs at a fresh directory, unmounted at the end.
class SmallDisk {
public:
  explicit SmallDisk(const std::string& options) {
    if (::geteuid() != 0) {
      why_not_ = "not running as root";
      return;
    }
    if (::mount("klite-test", dir_.path().c_str(), "tmpfs", 0, options.c_str()) != 0) {
      why_not_ = std::string("mount: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~SmallDisk() {
    if (mounted_)
      ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& why_not() const { return why_not_; }
  std::string file(const std::string& name) const { return dir_.file(name); }

private:
  klite::test::TempDir dir_; // outlives the mount
  bool mounted_ = false;
  std::string why_not_;
};

} // namespace

TEST_CASE("Disk full: appends fail cleanly, committed data stays, space freed means appends work") {
  SmallDisk disk("size=4m");
  if (!disk.mounted()) {
    MESSAGE("disk-full test skipped: " << disk.why_not());
    return;
  }
  // 1 MiB of ballast to free later.
  const std::string ballast = disk.file("ballast");
  std::ofstream(ballast, std::ios::binary) << std::string(1 << 20, 'b');

  const std::string path = disk.file("db.klite");
  auto engine = klite::Engine::open(path); // Durability::Full
  const std::string value(20000, 'v');
  std::uint64_t committed = 0;
  std::string error;
  for (int t = 0; t < 1000 && error.empty(); ++t) {
    try {
      auto w = engine.write();
      for (int i = 0; i < 4; ++i)
        w.append("s", value + std::to_string(committed + static_cast<std::uint64_t>(i)));
      w.commit();
      committed += 4;
    } catch (const klite::Error& e) {
      CHECK(e.code() == klite::ErrorCode::IO);
      error = e.what();
    }
  }
  REQUIRE_FALSE(error.empty()); // 4 MiB cannot hold 1,000 x 80 kB
  CHECK(error.find("No space left on device (the disk is full: free some space, then retry)") !=
        std::string::npos);
  CHECK(committed > 0);

  // What was committed is intact, before and after a reopen.
  auto check_all = [&](klite::Engine& e) {
    CHECK(e.info("s").records == committed);
    auto r = e.read();
    auto c = r.cursor("s");
    std::uint64_t n = 0;
    for (bool ok = c.first(); ok; ok = c.next(), ++n)
      CHECK(c.record().value == value + std::to_string(n));
    CHECK(n == committed);
  };
  check_all(engine);
  CHECK(klite::inspect::check(klite::inspect::File(path)).clean());

  // Space freed: the same engine appends again (a failed grow is not a
  // failed sync, so the writer does not refuse).
  std::filesystem::remove(ballast);
  {
    auto w = engine.write();
    w.append("s", value + std::to_string(committed));
    w.commit();
    ++committed;
  }
  check_all(engine);
  engine = klite::Engine::open(path);
  check_all(engine);
  CHECK(klite::inspect::check(klite::inspect::File(path)).clean());
}
