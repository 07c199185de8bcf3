// Copy-on-write B+tree over pages, with byte-string keys (compared as
// unsigned bytes) and byte-string values. One implementation serves the
// catalog (stream name -> descriptor) and every stream's key index
// (big-endian key -> data page). Page layout: format.h, "B+tree cells".
//
// Writes never modify a committed page: each changed node is copied
// (Writer::cow) and the new page numbers propagate to the root, which the
// caller stores. Underfull nodes are not merged; empty ones are removed.
#pragma once

#include "engine/pager.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>

namespace klite::btree {

struct Entry {
  std::string_view key;
  std::string_view value;
  std::uint32_t page; // the leaf holding it, for error messages
};

// Views point into the page and stay valid while the snapshot lives and,
// for a writer, until its next change to the tree.
std::optional<Entry> get(const Pages& pages, std::uint32_t root,
                         std::string_view key);
// The entry with the largest key <= `key`.
std::optional<Entry> floor(const Pages& pages, std::uint32_t root,
                           std::string_view key);
// Calls fn for each entry with key >= `from`, in key order, until it
// returns false.
void scan(const Pages& pages, std::uint32_t root, std::string_view from,
          const std::function<bool(const Entry&)>& fn);
// Every page of the tree, for freeing and checking.
void pages_of(const Pages& pages, std::uint32_t root,
              const std::function<void(std::uint32_t)>& fn);

// Inserts or replaces. REQUIRES: key and value fit a quarter page.
void put(Writer& w, std::uint32_t& root, std::string_view key,
         std::string_view value);
// Returns false if the key was not there.
bool erase(Writer& w, std::uint32_t& root, std::string_view key);
// Erases every entry with a key < `bound` and returns how many there were:
// whole subtrees are freed (their pages read, and checked, only for their
// leaves' counts), and one node per level is rewritten (expiry drops the
// oldest keys of an index).
std::size_t erase_below(Writer& w, std::uint32_t& root,
                        std::string_view bound);
// Frees every page of the tree.
void destroy(Writer& w, std::uint32_t root);

} // namespace klite::btree
