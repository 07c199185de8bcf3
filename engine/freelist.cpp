#include "engine/freelist.h"

#include "engine/coding.h"
#include "engine/errors.h"
#include "engine/format.h"
#include "engine/pager.h"

#include <algorithm>
#include <cstring>

namespace klite {

namespace fmt = format;
using namespace coding;

FreeList::FreeList(Writer& writer) : w_(writer) {
  const Pages& pages = w_.pages();
  std::uint64_t txn = pages.meta().txn_id; // this writer's txn id
  bound_ = pages.pager().oldest_reader(pages.pager().reuse_bound(txn - 1));
  std::uint32_t ps = pages.page_size();
  std::size_t max_pages = pages.meta().page_count;
  for (std::uint32_t pg = pages.meta().free_root; pg != fmt::kNoPage;) {
    if (dir_pages_.size() >= max_pages)
      throw_corrupt(pages.path(), pg, "free-list directory has a cycle");
    const std::uint8_t* p =
        pages.checked(pg, fmt::kFreeDirPage, fmt::kFreeDirPage);
    dir_pages_.push_back(pg);
    std::uint16_t n = get_u16(p + fmt::checked::kCount);
    if (fmt::checked::kHeaderSize + std::size_t{n} * fmt::freedir::kEntrySize >
        ps)
      throw_corrupt(pages.path(), pg, "free-list directory count too large");
    for (std::uint16_t i = 0; i < n; ++i) {
      const std::uint8_t* e =
          p + fmt::checked::kHeaderSize + i * fmt::freedir::kEntrySize;
      Entry entry{get_u64(e + fmt::freedir::kTag),
                  get_u32(e + fmt::freedir::kChunk),
                  get_u16(e + fmt::freedir::kCount),
                  get_u16(e + fmt::freedir::kUsed)};
      if (entry.used > entry.count)
        throw_corrupt(pages.path(), pg, "free-list entry used > count");
      dir_.push_back(entry);
    }
    pg = get_u32(p + fmt::checked::kLink);
  }
}

std::optional<std::uint32_t> FreeList::take() {
  if (!recycled_.empty()) {
    std::uint32_t pg = recycled_.back();
    recycled_.pop_back();
    return pg;
  }
  while (!dir_.empty() && dir_.front().tag <= bound_) {
    Entry& e = dir_.front();
    changed_ = true;
    if (e.used == e.count) { // an empty chunk: only its own page is freed
      freed_.push_back(e.chunk);
      dir_.pop_front();
      continue;
    }
    const Pages& pages = w_.pages();
    const std::uint8_t* p =
        pages.checked(e.chunk, fmt::kFreeChunkPage, fmt::kFreeChunkPage);
    if (get_u16(p + fmt::checked::kCount) != e.count ||
        fmt::checked::kHeaderSize + std::size_t{e.count} * 4 >
            pages.page_size())
      throw_corrupt(pages.path(), e.chunk, "free-list chunk count mismatch");
    std::uint32_t pg = get_u32(p + fmt::checked::kHeaderSize + e.used * 4u);
    if (pg < 2 || pg >= pages.meta().page_count)
      throw_corrupt(pages.path(), e.chunk,
                    "free-list entry " + std::to_string(pg) + " out of range");
    if (++e.used == e.count) {
      freed_.push_back(e.chunk);
      dir_.pop_front();
    }
    return pg;
  }
  return std::nullopt;
}

std::size_t FreeList::freed_bound() const {
  // save() frees the old directory, and taking its own pages from the list
  // may free used-up chunk pages too: a few pages of slack for those.
  return freed_.size() + recycled_.size() + dir_pages_.size() + 8;
}

std::size_t FreeList::save_pages_bound() const {
  if (!changed_ && freed_.empty() && recycled_.empty())
    return 0;
  const std::uint32_t ps = w_.page_size();
  const std::size_t chunk_cap = (ps - fmt::checked::kHeaderSize) / 4;
  const std::size_t dir_cap =
      (ps - fmt::checked::kHeaderSize) / fmt::freedir::kEntrySize;
  const std::size_t chunks = freed_bound() / chunk_cap + 2;
  return chunks + (dir_.size() + chunks) / dir_cap + 1;
}

std::vector<std::uint32_t> FreeList::save() {
  if (!changed_ && freed_.empty() && recycled_.empty())
    return {};
  freed_.insert(freed_.end(), dir_pages_.begin(), dir_pages_.end());
  dir_pages_.clear();

  const std::uint32_t ps = w_.page_size();
  const std::size_t chunk_cap = (ps - fmt::checked::kHeaderSize) / 4;
  const std::size_t dir_cap =
      (ps - fmt::checked::kHeaderSize) / fmt::freedir::kEntrySize;
  auto ceil_div = [](std::size_t a, std::size_t b) { return (a + b - 1) / b; };
  // Pages for the new chunks and directory come from the free list itself
  // (first the pages this txn allocated and did not keep), which changes
  // what there is to save: iterate to a fixed point.
  std::vector<std::uint32_t> reserved;
  for (;;) {
    std::size_t chunks = ceil_div(freed_.size() + recycled_.size(), chunk_cap);
    std::size_t need = chunks + ceil_div(dir_.size() + chunks, dir_cap);
    if (reserved.size() < need) {
      reserved.push_back(w_.take_page());
    } else if (reserved.size() > need) {
      freed_.push_back(reserved.back());
      reserved.pop_back();
    } else {
      break;
    }
  }
  // The rest of those were never committed, but tagging them with this
  // txn is simpler and delays them by two commits.
  freed_.insert(freed_.end(), recycled_.begin(), recycled_.end());
  recycled_.clear();

  const std::uint64_t txn = w_.meta().txn_id;
  std::size_t next = 0;
  for (std::size_t i = 0; i < freed_.size(); i += chunk_cap) {
    std::uint32_t pg = reserved[next++];
    std::uint8_t* p = w_.install(pg, true, true);
    std::memset(p, 0, ps);
    auto n = static_cast<std::uint16_t>(std::min(chunk_cap, freed_.size() - i));
    p[fmt::checked::kType] = fmt::kFreeChunkPage;
    put_u16(p + fmt::checked::kCount, n);
    for (std::uint16_t j = 0; j < n; ++j)
      put_u32(p + fmt::checked::kHeaderSize + j * 4u, freed_[i + j]);
    dir_.push_back(Entry{txn, pg, n, 0});
  }
  std::vector<std::uint32_t> freed = std::move(freed_);
  freed_.clear();

  // The directory, written back to front so each page can link the next.
  std::uint32_t link = fmt::kNoPage;
  std::size_t dir_pages = ceil_div(dir_.size(), dir_cap);
  for (std::size_t d = dir_pages; d-- > 0;) {
    std::uint32_t pg = reserved[next++];
    std::uint8_t* p = w_.install(pg, true, true);
    std::memset(p, 0, ps);
    std::size_t first = d * dir_cap;
    auto n = static_cast<std::uint16_t>(std::min(dir_cap, dir_.size() - first));
    p[fmt::checked::kType] = fmt::kFreeDirPage;
    put_u16(p + fmt::checked::kCount, n);
    put_u32(p + fmt::checked::kLink, link);
    for (std::uint16_t j = 0; j < n; ++j) {
      const Entry& e = dir_[first + j];
      std::uint8_t* q =
          p + fmt::checked::kHeaderSize + j * fmt::freedir::kEntrySize;
      put_u64(q + fmt::freedir::kTag, e.tag);
      put_u32(q + fmt::freedir::kChunk, e.chunk);
      put_u16(q + fmt::freedir::kCount, e.count);
      put_u16(q + fmt::freedir::kUsed, e.used);
    }
    link = pg;
  }
  w_.meta().free_root = link;
  return freed;
}

} // namespace klite
