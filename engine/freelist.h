// The free list: pages no committed state reaches, waiting to be reused.
//
// On disk (format.h): a chain of directory pages listing chunks in commit
// order; each chunk page holds the numbers of pages freed by one commit (its
// tag). Reuse takes pages from the oldest chunk whose tag is old enough
// (pager.h, invariant 3) and records how many of that chunk are used, so a
// commit writes only new chunks and the (small) directory, never the whole
// list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace klite {

class Writer;

class FreeList {
public:
  // Loads the directory of the writer's base snapshot.
  explicit FreeList(Writer& writer);

  // A page free for reuse by this transaction, or nullopt.
  std::optional<std::uint32_t> take();
  // A committed page this transaction made unreachable.
  void release(std::uint32_t pgno) { freed_.push_back(pgno); }
  // A page this transaction allocated and no longer needs: reusable at once.
  void recycle(std::uint32_t pgno) { recycled_.push_back(pgno); }

  // Writes new chunks and the directory; sets the writer's meta free_root.
  // Returns the pages it freed: every committed page this transaction made
  // unreachable (the old directory pages among them), and a few it did
  // not keep.
  std::vector<std::uint32_t> save();
  // At least as many pages as save() will write, and return.
  std::size_t save_pages_bound() const;
  std::size_t freed_bound() const;

private:
  struct Entry {
    std::uint64_t tag;
    std::uint32_t chunk;
    std::uint16_t count;
    std::uint16_t used;
  };

  Writer& w_;
  std::uint64_t bound_; // chunks with tag <= bound_ are reusable
  std::deque<Entry> dir_;
  std::vector<std::uint32_t> dir_pages_; // the committed directory's pages
  std::vector<std::uint32_t> freed_;
  std::vector<std::uint32_t> recycled_;
  bool changed_ = false;
};

} // namespace klite
