// klite-demo FILE: a tour of the native API. Opens (or creates) FILE, fills
// the stream "demo" with sample events if it is empty, then prints the last
// five records and the stream's statistics.
#include <klite/engine.h>

// Not public API: the text helpers klite's own tools share.
#include "engine/text.h"

#include <cstdint>
#include <exception>
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace {

using klite::text::format_iso8601; // 2026-11-25T10:00:00.123456Z
using klite::text::quote;          // values are opaque bytes: "\x00 and text"

constexpr std::string_view kStream = "demo";

constexpr std::string_view kSampleEvents[] = {
    "user 7 signed in",
    "cart 311 created by user 7",
    "item 88 added to cart 311",
    "item 12 added to cart 311",
    "order 17 placed",
    "payment 42 authorized for order 17",
    "payment 42 settled",
    "order 17 packed",
    "order 17 shipped",
    "user 9 signed in",
    "cart 312 created by user 9",
    "item 88 added to cart 312",
    "order 18 placed",
    "payment 43 declined for order 18",
    "payment 44 settled",
    "order 18 shipped",
    "order 17 delivered",
    "user 7 left a review for item 88",
    "user 9 signed out",
    "order 18 delivered",
};

void fill_if_empty(klite::Engine& engine) {
  {
    klite::ReadTxn txn = engine.read();
    if (txn.has_stream(kStream) && txn.info(kStream).records > 0) {
      return;
    }
  }
  klite::WriteTxn txn = engine.write();
  std::uint64_t first = 0;
  for (const std::string_view event : kSampleEvents) {
    const std::uint64_t key = txn.append(kStream, event);
    if (first == 0) {
      first = key;
    }
  }
  txn.commit();
  std::cout << "appended " << std::size(kSampleEvents)
            << " records to stream \"" << kStream << "\" (keys from " << first
            << ")\n\n";
}

void print_last(klite::Engine& engine, int count) {
  klite::ReadTxn txn = engine.read();
  klite::Cursor cursor = txn.cursor(kStream);
  // Walk backwards from the newest record, formatting each one before the
  // cursor moves (the record's views are only valid until then).
  std::vector<std::string> lines;
  for (bool ok = cursor.last(); ok && static_cast<int>(lines.size()) < count;
       ok = cursor.prev()) {
    const klite::Record& r = cursor.record();
    lines.push_back(std::to_string(r.key) + "  " + format_iso8601(r.timestamp) +
                    "  " + quote(r.value));
  }
  std::cout << "last " << lines.size() << " records of \"" << kStream
            << "\":\n";
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    std::cout << "  " << *it << '\n';
  }

  const klite::StreamInfo info = txn.info(kStream);
  std::cout << "\nstream \"" << info.name << "\"\n"
            << "  id               " << info.id << '\n'
            << "  records          " << info.records << '\n'
            << "  bytes            " << info.bytes << '\n'
            << "  first key        " << info.first_key << '\n'
            << "  last key         " << info.last_key << '\n'
            << "  next key         " << info.next_key << '\n'
            << "  first timestamp  " << format_iso8601(info.first_timestamp)
            << '\n'
            << "  last timestamp   " << format_iso8601(info.last_timestamp)
            << '\n'
            << "  created          " << format_iso8601(info.created) << '\n';
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: klite-demo FILE\n";
    return 2;
  }
  try {
    klite::Engine engine = klite::Engine::open(argv[1]);
    fill_if_empty(engine);
    print_last(engine, 5);
  } catch (const klite::Error& e) {
    std::cerr << "Error: " << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
