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

// The decoded descriptor of one stream; find() and each() have checked its
// fields.
using Descriptor = format::Descriptor;

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
