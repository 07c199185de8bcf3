// The catalog: a B+tree from stream name to stream descriptor (format.h).
#pragma once

#include "engine/format.h"
#include "engine/pager.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

namespace klite::catalog {

// The decoded descriptor of one stream.
struct Descriptor {
  std::uint64_t id = 0;
  std::uint32_t index_root = 0;
  std::uint32_t head = 0;
  std::uint32_t tail = 0;
  std::uint32_t tail_offset = 0;
  std::uint64_t first_key = 1;
  std::uint64_t next_key = 1;
  std::uint64_t bytes = 0;
  std::uint64_t first_ts = 0;
  std::uint64_t last_ts = 0;
  std::uint64_t created = 0;
  std::uint64_t max_age = 0;
  std::uint64_t max_bytes = 0;
  std::uint64_t max_records = 0;
  std::uint32_t data_pages = 0;
  std::uint32_t flags = 0; // format::desc::kHasTtl

  std::uint64_t records() const noexcept { return next_key - first_key; }
  // Some record of the stream had a TTL, so reads must ask the clock.
  bool has_ttl() const noexcept { return flags & format::desc::kHasTtl; }
  // Whether reads hide records by the clock (chain::Reader's `now`).
  bool read_by_clock() const noexcept { return has_ttl() || max_age != 0; }
};

// Throws InvalidArgument unless `name` is 1..kMaxStreamNameSize bytes of
// [A-Za-z0-9_.-] starting with a letter or '_'.
void check_name(std::string_view name);

// The descriptor overlay (format.h, meta page) holds the descriptors of
// streams in the catalog tree that commits changed since the tree last
// got them. find() and each() return them in place of the tree's. A
// commit that changes only such descriptors puts them there (stage()),
// so that it writes no catalog page, and frees none for the free list to
// record: a one-record commit then writes its record and the meta page.

// The descriptor of `name`, or nullopt. Throws Corrupt on a bad entry.
std::optional<Descriptor> find(const Pages& pages, std::string_view name);
// Calls fn for every stream in name order.
void each(const Pages& pages,
          const std::function<void(std::string_view, const Descriptor&)>& fn);

// The tree: put() inserts or replaces, erase() removes; both drop the
// name's overlay entry, which would hide the change.
void put(Writer& w, std::string_view name, const Descriptor& d);
void erase(Writer& w, std::string_view name);

// One changed stream, for stage().
struct Change {
  std::string_view name;
  const Descriptor* d;
};
// Puts `changes` into the overlay (replacing their earlier entries), if it
// then fits its meta page (format::meta::max_overlay); returns false,
// changing nothing, if not. REQUIRES: the tree holds every name.
bool stage(Writer& w, std::span<const Change> changes);
// Writes every overlay entry into the tree and empties the overlay.
void flush(Writer& w);

} // namespace klite::catalog
