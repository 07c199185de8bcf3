// The shell's .import and .export engines (shell/transfer.h): the line
// format both ways, batching, and every error with what it leaves behind.
#include <doctest/doctest.h>
#include <klite/engine.h>

#include "tests/engine/test_util.h"
#include "shell/transfer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using klite::ErrorCode;
using klite::kMaxValueSize;
using klite::shell::export_lines;
using klite::shell::import_lines;
using klite::shell::ImportOptions;
using klite::shell::ImportResult;

struct Fixture {
  klite::test::TempDir tmp; // outlives the engine
  const fs::path& dir = tmp.path();
  std::optional<klite::Engine> engine;

  explicit Fixture(klite::Options options = quiet()) {
    engine.emplace(klite::Engine::open(db(), options));
  }
  static klite::Options quiet() {
    klite::Options o;
    o.durability = klite::Durability::Off;
    return o;
  }
  std::string db() const { return (dir / "db.klite").string(); }
  std::string file(const char* name) const { return (dir / name).string(); }

  // Writes `bytes` to the scratch file `name` and imports it into `stream`.
  ImportResult import(std::string_view bytes, std::string_view stream = "s",
                      const ImportOptions& options = {}) {
    const std::string path = write("in.txt", bytes);
    return import_lines(*engine, path, stream, options);
  }
  std::string write(const char* name, std::string_view bytes) const {
    std::ofstream out(file(name), std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return file(name);
  }
  std::vector<std::string> values(std::string_view stream = "s") {
    std::vector<std::string> out;
    klite::ReadTxn t = engine->read();
    klite::Cursor c = t.cursor(stream);
    for (bool ok = c.first(); ok; ok = c.next())
      out.emplace_back(c.record().value);
    return out;
  }
  // The names in the scratch directory, to see no temporary file is left.
  std::vector<std::string> listing() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Caught {
  ErrorCode code;
  std::string message;
};

template <class F> std::optional<Caught> error_of(F&& f) {
  try {
    f();
  } catch (const klite::Error& e) {
    return Caught{e.code(), e.what()};
  }
  return std::nullopt;
}

using Values = std::vector<std::string>;
using namespace std::string_literals;

} // namespace

// --- import: the line format ------------------------------------------------

TEST_CASE("Transfer: import of plain lines") {
  Fixture f;
  ImportResult r = f.import("alpha\nbeta\ngamma delta\n");
  CHECK(r.records == 3);
  CHECK(r.first_key == 1);
  CHECK(r.last_key == 3);
  CHECK(f.values() == Values{"alpha", "beta", "gamma delta"});

  SUBCASE("keys continue the stream's") {
    ImportResult again = f.import("x\ny\n");
    CHECK(again.records == 2);
    CHECK(again.first_key == 4);
    CHECK(again.last_key == 5);
    CHECK(f.values() == Values{"alpha", "beta", "gamma delta", "x", "y"});
  }
}

TEST_CASE("Transfer: import line ends") {
  Fixture f;
  SUBCASE("CRLF: the \\r before \\n is dropped, other \\r bytes kept") {
    CHECK(f.import("a\r\nb\r\n\r\nx\ry\r\n\r\r\n").records == 5);
    CHECK(f.values() == Values{"a", "b", "", "x\ry", "\r"});
  }
  SUBCASE("a last line without \\n is a record") {
    CHECK(f.import("a\nlast").records == 2);
    CHECK(f.values() == Values{"a", "last"});
  }
  SUBCASE("a last line's \\r is kept when no \\n follows") {
    CHECK(f.import("a\r\nb\r").records == 2);
    CHECK(f.values() == Values{"a", "b\r"});
  }
  SUBCASE("empty lines are empty records, no record after the final \\n") {
    ImportResult r = f.import("\n\n\nx\n\n");
    CHECK(r.records == 5);
    CHECK(r.last_key == 5);
    CHECK(f.values() == Values{"", "", "", "x", ""});
  }
  SUBCASE("a single line end is one empty record") {
    CHECK(f.import("\n").records == 1);
    CHECK(f.values() == Values{""});
  }
}

TEST_CASE("Transfer: import of an empty file creates the stream, no records") {
  Fixture f;
  ImportResult r = f.import("");
  CHECK(r.records == 0);
  CHECK(r.first_key == 0);
  CHECK(r.last_key == 0);
  klite::StreamInfo info = f.engine->info("s");
  CHECK(info.records == 0);
  CHECK(info.next_key == 1);
}

TEST_CASE("Transfer: import keeps bytes as they are (not UTF-8, NUL)") {
  Fixture f;
  std::string all; // every byte value but '\n', over two lines
  for (int b = 0; b < 256; ++b)
    if (b != '\n')
      all += static_cast<char>(b);
  std::string first = all.substr(0, 100), second = all.substr(100);
  CHECK(f.import(first + "\n" + second + "\n\xc3\x28\xff\n").records == 3);
  CHECK(f.values() == Values{first, second, "\xc3\x28\xff"});
}

TEST_CASE("Transfer: import of 200,000 lines, checked record by record") {
  Fixture f;
  // Lengths vary from 8 to ~60 bytes, so lines straddle the 4 MiB read
  // buffer's edges (the file is ~7 MB).
  auto line = [](std::uint64_t i) {
    return "line " + std::to_string(i) + " " +
           std::string(static_cast<std::size_t>(i % 53), 'a' + i % 26);
  };
  constexpr std::uint64_t kLines = 200000;
  std::string text;
  for (std::uint64_t i = 1; i <= kLines; ++i)
    text += line(i) + (i % 3 == 0 ? "\r\n" : "\n");

  ImportOptions options;
  SUBCASE("one batch") {}
  SUBCASE("many batches by lines") { options.batch_lines = 7777; }
  SUBCASE("many batches by bytes") { options.batch_bytes = 100000; }
  CAPTURE(options.batch_lines);
  CAPTURE(options.batch_bytes);

  ImportResult r = f.import(text, "s", options);
  CHECK(r.records == kLines);
  CHECK(r.first_key == 1);
  CHECK(r.last_key == kLines);
  klite::ReadTxn t = f.engine->read();
  klite::Cursor c = t.cursor("s");
  std::uint64_t i = 0;
  for (bool ok = c.first(); ok; ok = c.next()) {
    ++i;
    if (c.record().key != i || c.record().value != line(i)) {
      CAPTURE(i);
      CHECK(c.record().key == i);
      CHECK(c.record().value == line(i));
      break;
    }
  }
  CHECK(i == kLines);
}

TEST_CASE("Transfer: import of lines longer than the read buffer") {
  Fixture f;
  // 10 MiB and exactly kMaxValueSize (with a CRLF: the \r does not count),
  // between short lines; the buffer grows to hold them.
  const std::string ten(std::size_t{10} << 20, 'x');
  std::string text =
      "a\n" + ten + "\nb\n" + std::string(kMaxValueSize, 'y') + "\r\nc";
  CHECK(f.import(text).records == 5);
  klite::ReadTxn t = f.engine->read();
  CHECK(t.get("s", 1)->value == "a");
  CHECK(t.get("s", 2)->value == ten);
  CHECK(t.get("s", 3)->value == "b");
  std::string_view max = t.get("s", 4)->value;
  CHECK(max.size() == kMaxValueSize);
  CHECK(max.find_first_not_of('y') == std::string_view::npos);
  CHECK(t.get("s", 5)->value == "c");
}

TEST_CASE("Transfer: import with Durability::Full survives reopening") {
  Fixture f(klite::Options{});
  CHECK(f.import("one\ntwo\nthree\n", "s", {.batch_lines = 2}).records == 3);
  f.engine.reset();
  f.engine.emplace(klite::Engine::open(f.db()));
  CHECK(f.values() == Values{"one", "two", "three"});
}

// --- import: errors ---------------------------------------------------------

TEST_CASE("Transfer: import of a missing or unreadable file") {
  Fixture f;
  SUBCASE("missing") {
    const std::string path = f.file("nope.txt");
    auto e = error_of([&] { import_lines(*f.engine, path, "s"); });
    REQUIRE(e);
    CHECK(e->code == ErrorCode::NotFound);
    CHECK(e->message ==
          "cannot open " + path +
              ": No such file or directory; nothing was imported");
  }
  SUBCASE("a directory") {
    const std::string path = f.dir.string();
    auto e = error_of([&] { import_lines(*f.engine, path, "s"); });
    REQUIRE(e);
    CHECK(e->code == ErrorCode::IO);
    CHECK(e->message ==
          "cannot read " + path + ": Is a directory; nothing was imported");
  }
  CHECK_FALSE(f.engine->read().has_stream("s"));
}

TEST_CASE("Transfer: import into a bad or missing stream") {
  SUBCASE("bad name, even for an empty file") {
    Fixture f;
    auto e = error_of([&] { f.import("", "no spaces"); });
    REQUIRE(e);
    CHECK(e->code == ErrorCode::InvalidArgument);
    CHECK(e->message ==
          "invalid stream name \"no spaces\": only letters, digits, '_', '.' "
          "and '-' are allowed; nothing was imported");
    CHECK(f.engine->streams().empty());
  }
  SUBCASE("missing with auto-create off") {
    klite::Options o = Fixture::quiet();
    o.auto_create_streams = false;
    Fixture f(o);
    auto e = error_of([&] { f.import("a\n"); });
    REQUIRE(e);
    CHECK(e->code == ErrorCode::NoSuchStream);
    CHECK(e->message.ends_with("; nothing was imported"));
    f.engine->create_stream("s");
    CHECK(f.import("a\n").records == 1);
  }
}

TEST_CASE("Transfer: import while a write transaction is open is Busy") {
  Fixture f;
  std::optional<klite::WriteTxn> w(f.engine->write());
  auto e = error_of([&] { f.import("a\n"); });
  REQUIRE(e);
  CHECK(e->code == ErrorCode::Busy);
  CHECK(e->message == "cannot import into \"s\": " + f.db() +
                          ": a write transaction is already open (commit or "
                          "roll it back first); nothing was imported");
  w->abort();
  w.reset();
  CHECK(f.import("a\n").records == 1);
}

TEST_CASE(
    "Transfer: a line over the limit in the first batch imports nothing") {
  Fixture f;
  // No "\n" after it: the size is known at the end of the file.
  auto e = error_of([&] { f.import(std::string(kMaxValueSize + 1, 'z')); });
  REQUIRE(e);
  CHECK(e->code == ErrorCode::TooBig);
  CHECK(e->message == f.file("in.txt") +
                          ": line 1: value of 67108865 bytes is over the 64 "
                          "MiB limit; nothing was imported");
  CHECK_FALSE(f.engine->read().has_stream("s")); // its creation rolled back
}

TEST_CASE("Transfer: a line over the limit after some batches") {
  Fixture f;
  f.import("old 1\nold 2\nold 3\n"); // keys 1..3
  // Lines 1..25 are "new 01".."new 25" (6 bytes), line 26 is too long,
  // line 27 is never read. Each way of batching commits the batches before
  // line 26's and none of the lines of its own.
  auto line = [](int i) {
    return "new " + std::string(i < 10 ? "0" : "") + std::to_string(i);
  };
  std::string text;
  for (int i = 1; i <= 25; ++i)
    text += line(i) + "\n";
  text += std::string(kMaxValueSize + 5, 'z') + "\r\n" + line(27) + "\n";

  ImportOptions options;
  int committed = 0;
  SUBCASE("batches of 10 lines: 21..25 are rolled back") {
    options.batch_lines = 10;
    committed = 20;
  }
  SUBCASE("batches of 24 bytes (4 lines): 25 is rolled back") {
    options.batch_bytes = 24;
    committed = 24;
  }
  SUBCASE("one-line batches") {
    options.batch_lines = 1;
    committed = 25;
  }
  const std::string imported = "lines 1.." + std::to_string(committed) +
                               " were imported into \"s\" as keys 4.." +
                               std::to_string(3 + committed);
  auto e = error_of([&] { f.import(text, "s", options); });
  REQUIRE(e);
  CHECK(e->code == ErrorCode::TooBig);
  CHECK(e->message == f.file("in.txt") +
                          ": line 26: value of 67108869 bytes is over the 64 "
                          "MiB limit; " +
                          imported);
  Values values = f.values();
  REQUIRE(values.size() == 3u + committed);
  CHECK(values[2] == "old 3");
  CHECK(values[3] == "new 01");
  CHECK(values.back() == line(committed));
  // No key was used by the rolled-back lines.
  CHECK(f.engine->info("s").next_key == 4u + committed);
}

TEST_CASE("Transfer: the message for one committed line is singular") {
  Fixture f;
  auto e = error_of([&] {
    f.import("only\n" + std::string(kMaxValueSize + 1, 'z') + "\n", "s",
             {.batch_lines = 1});
  });
  REQUIRE(e);
  CHECK(e->code == ErrorCode::TooBig);
  CHECK(e->message.ends_with(": line 2: value of 67108865 bytes is over the "
                             "64 MiB limit; line 1 was imported into \"s\" "
                             "as key 1"));
  CHECK(f.values() == Values{"only"});
}

TEST_CASE("Transfer: a set stop flag interrupts the import") {
  Fixture f;
  f.import("a\nb\n", "s", {.batch_lines = 1});
  std::atomic<bool> stop{true};
  auto e = error_of([&] { f.import("c\nd\n", "s", {.batch_lines = 1, .stop = &stop}); });
  REQUIRE(e);
  CHECK(e->code == ErrorCode::Interrupted);
  CHECK(e->message == f.file("in.txt") + ": interrupted at line 1; nothing was imported");
  CHECK(f.values() == Values{"a", "b"});
  stop = false;
  CHECK(f.import("c\n", "s", {.stop = &stop}).first_key == 3);
}

// --- export -----------------------------------------------------------------

TEST_CASE("Transfer: export writes one value per line") {
  Fixture f;
  f.import("a\n\nb c\n\xff\x00z\n"s);
  const std::string path = f.file("out.txt");
  CHECK(export_lines(*f.engine, "s", path) == 4);
  CHECK(slurp(path) == "a\n\nb c\n\xff\x00z\n"s);
  CHECK(f.listing() == Values{"db.klite", "db.klite-lock", "in.txt", "out.txt"});

  SUBCASE("an empty stream gives an empty file") {
    f.engine->create_stream("e");
    CHECK(export_lines(*f.engine, "e", path) == 0);
    CHECK(fs::exists(path));
    CHECK(slurp(path).empty());
  }
  SUBCASE("an existing file is replaced and keeps its permissions") {
    f.write("old.txt", "previous contents, longer than the new ones\n");
    ::chmod(f.file("old.txt").c_str(), 0640);
    CHECK(export_lines(*f.engine, "s", f.file("old.txt")) == 4);
    CHECK(slurp(f.file("old.txt")) == "a\n\nb c\n\xff\x00z\n"s);
    CHECK((fs::status(f.file("old.txt")).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write |
           fs::perms::group_read));
  }
  SUBCASE("a symbolic link is followed, not replaced") {
    f.write("target.txt", "old\n");
    fs::create_symlink(f.file("target.txt"), f.file("link.txt"));
    CHECK(export_lines(*f.engine, "s", f.file("link.txt")) == 4);
    CHECK(fs::is_symlink(f.file("link.txt")));
    CHECK(slurp(f.file("target.txt")) == "a\n\nb c\n\xff\x00z\n"s);
  }
  SUBCASE("a device is written to, not replaced") {
    CHECK(export_lines(*f.engine, "s", "/dev/null") == 4);
    CHECK(fs::is_character_file("/dev/null"));
  }
}

TEST_CASE("Transfer: export then import gives the same values") {
  Fixture f;
  std::vector<std::string> values = {"plain",
                                     "",
                                     "tab\there",
                                     "\r middle",
                                     std::string("nul\0byte", 8),
                                     "\xc3\x28 not UTF-8",
                                     "last"};
  for (int i = 0; i < 1000; ++i)
    values.push_back(std::string(static_cast<std::size_t>(i), 'a' + i % 26));
  values.push_back(std::string(std::size_t{3} << 20, 'L')); // > the buffer
  {
    klite::WriteTxn w = f.engine->write();
    for (const std::string& v : values)
      w.append("s", v);
    w.commit();
  }
  const std::string path = f.file("out.txt");
  CHECK(export_lines(*f.engine, "s", path) == values.size());
  ImportResult r = import_lines(*f.engine, path, "t");
  CHECK(r.records == values.size());
  CHECK(f.values("t") == values);
}

TEST_CASE("Transfer: export refuses values one line cannot carry") {
  Fixture f;
  const std::string path = f.file("out.txt");
  SUBCASE("a newline byte") {
    f.engine->append("s", "fine");
    f.engine->append("s", "two\nlines");
    auto e = error_of([&] { export_lines(*f.engine, "s", path); });
    REQUIRE(e);
    CHECK(e->code == ErrorCode::InvalidArgument);
    CHECK(e->message == "record 2 of stream \"s\" holds a newline byte, which "
                        "one value per line cannot carry; " +
                            path + " was not written");
    CHECK(f.listing() == Values{"db.klite", "db.klite-lock"}); // no file, no temporary file
  }
  SUBCASE("a final carriage return") {
    for (int i = 0; i < 16; ++i)
      f.engine->append("s", "fine");
    f.engine->append("s", "crlf\r");
    f.write("out.txt", "kept\n");
    auto e = error_of([&] { export_lines(*f.engine, "s", path); });
    REQUIRE(e);
    CHECK(e->code == ErrorCode::InvalidArgument);
    CHECK(e->message == "record 17 of stream \"s\" ends in a carriage return "
                        "byte (\"\\r\"), which import would drop as part of a "
                        "CRLF line end; " +
                            path + " was not written");
    CHECK(slurp(path) == "kept\n"); // the old file untouched
    CHECK(f.listing() == Values{"db.klite", "db.klite-lock", "out.txt"});
  }
  SUBCASE("written straight to a device, the message says how far it got") {
    f.engine->append("s", "fine");
    f.engine->append("s", "also fine");
    f.engine->append("s", "not\nfine");
    auto e = error_of([&] { export_lines(*f.engine, "s", "/dev/null"); });
    REQUIRE(e);
    CHECK(e->code == ErrorCode::InvalidArgument);
    CHECK(e->message.ends_with(
        "; the 2 records before it were written to /dev/null"));
  }
}

TEST_CASE("Transfer: export errors leave no file") {
  Fixture f;
  f.engine->append("s", "v");
  SUBCASE("missing stream") {
    auto e =
        error_of([&] { export_lines(*f.engine, "nope", f.file("out.txt")); });
    REQUIRE(e);
    CHECK(e->code == ErrorCode::NoSuchStream);
    CHECK(e->message.find("nope") != std::string::npos);
  }
  SUBCASE("a directory that does not exist") {
    const std::string path = f.file("no/such/dir.txt");
    auto e = error_of([&] { export_lines(*f.engine, "s", path); });
    REQUIRE(e);
    CHECK(e->code == ErrorCode::IO);
    CHECK(e->message == "cannot write " + path + ": No such file or directory");
  }
  SUBCASE("a path that is a directory") {
    fs::create_directory(f.dir / "sub");
    const std::string path = f.file("sub");
    auto e = error_of([&] { export_lines(*f.engine, "s", path); });
    REQUIRE(e);
    CHECK(e->code == ErrorCode::IO);
    CHECK(e->message == "cannot write " + path + ": Is a directory");
    CHECK(fs::is_empty(f.dir / "sub"));
  }
  SUBCASE("the database file itself") {
    auto e = error_of([&] { export_lines(*f.engine, "s", f.db()); });
    REQUIRE(e);
    CHECK(e->code == ErrorCode::InvalidArgument);
    CHECK(e->message ==
          "cannot export to " + f.db() + ": it is the database file itself");
    f.engine.reset();
    f.engine.emplace(klite::Engine::open(f.db(), Fixture::quiet()));
    CHECK(f.values() == Values{"v"});
  }
  SUBCASE("a full device") {
    // /dev/full accepts the open and fails every write with ENOSPC.
    if (fs::exists("/dev/full")) {
      auto e = error_of([&] { export_lines(*f.engine, "s", "/dev/full"); });
      REQUIRE(e);
      CHECK(e->code == ErrorCode::IO);
      CHECK(e->message == "cannot write /dev/full: No space left on device");
    }
  }
  Values names = f.listing();
  CHECK(std::find(names.begin(), names.end(), "out.txt") == names.end());
  CHECK(names.size() == (fs::exists(f.dir / "sub") ? 3u : 2u)); // db.klite, its -lock
}

#ifdef KLITE_LONG_TESTS
// Import speed: 3 million 100-byte lines with Durability::Full.
TEST_CASE("Transfer: import speed (long)") {
  Fixture f(klite::Options{});
  constexpr std::uint64_t kLines = 3000000;
  {
    std::ofstream out(f.file("big.txt"), std::ios::binary);
    std::string line(99, 'v');
    line += '\n';
    for (std::uint64_t i = 0; i < kLines; ++i) {
      std::string n = std::to_string(i);
      line.replace(0, n.size(), n);
      out << line;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  ImportResult r = import_lines(*f.engine, f.file("big.txt"), "s");
  const double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  CHECK(r.records == kLines);
  MESSAGE("import: " << kLines << " lines of 100 bytes in " << s << " s, "
                     << static_cast<std::uint64_t>(kLines / s) << " lines/s");
}
#endif
