#include "engine/catalog.h"

#include "engine/btree.h"
#include "engine/coding.h"
#include "engine/errors.h"
#include "engine/format.h"

namespace klite::catalog {

namespace fmt = format;
namespace d = format::desc;
using namespace coding;

namespace {

Descriptor decode(const Pages& pages, const btree::Entry& e) {
  const std::string name(e.key);
  const std::string_view v = e.value;
  if (v.size() < d::kSize)
    throw_corrupt(pages.path(), e.page,
                  "catalog entry for \"" + name + "\" is too short");
  auto p = reinterpret_cast<const std::uint8_t*>(v.data());
  Descriptor x;
  x.id = get_u64(p + d::kId);
  x.index_root = get_u32(p + d::kIndexRoot);
  x.head = get_u32(p + d::kHead);
  x.tail = get_u32(p + d::kTail);
  x.tail_offset = get_u32(p + d::kTailOffset);
  x.first_key = get_u64(p + d::kFirstKey);
  x.next_key = get_u64(p + d::kNextKey);
  x.bytes = get_u64(p + d::kBytes);
  x.first_ts = get_u64(p + d::kFirstTs);
  x.last_ts = get_u64(p + d::kLastTs);
  x.created = get_u64(p + d::kCreated);
  x.max_age = get_u64(p + d::kMaxAge);
  x.max_bytes = get_u64(p + d::kMaxBytes);
  x.max_records = get_u64(p + d::kMaxRecords);
  x.data_pages = get_u32(p + d::kDataPages);
  x.flags = get_u32(p + d::kFlags);
  const std::uint32_t ps = pages.page_size();
  const std::uint32_t count = pages.meta().page_count;
  bool empty = x.tail == fmt::kNoPage;
  if (x.first_key == 0 || x.first_key > x.next_key ||
      x.index_root >= count || x.head >= count || x.tail >= count ||
      (empty != (x.head == fmt::kNoPage)) ||
      (!empty && (x.tail_offset < fmt::data::kHeaderSize ||
                  x.tail_offset > ps)) ||
      (x.flags & ~fmt::desc::kHasTtl) != 0)
    throw_corrupt(pages.path(), e.page,
                  "catalog entry for \"" + name + "\" has fields out of range");
  return x;
}

} // namespace

void check_name(std::string_view name) {
  auto bad = [&](const std::string& why) {
    throw Error(ErrorCode::InvalidArgument,
                "invalid stream name \"" + std::string(name) + "\": " + why);
  };
  if (name.empty())
    bad("empty");
  if (name.size() > kMaxStreamNameSize)
    bad("longer than " + std::to_string(kMaxStreamNameSize) + " bytes");
  auto alpha = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  if (!alpha(name[0]))
    bad("must start with a letter or '_'");
  for (char c : name)
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '.' && c != '-')
      bad("only letters, digits, '_', '.' and '-' are allowed");
}

std::optional<Descriptor> find(const Pages& pages, std::string_view name) {
  auto e = btree::get(pages, pages.meta().catalog_root, name);
  if (!e)
    return std::nullopt;
  return decode(pages, *e);
}

void each(const Pages& pages,
          const std::function<void(std::string_view, const Descriptor&)>& fn) {
  btree::scan(pages, pages.meta().catalog_root, {},
              [&](const btree::Entry& e) {
                fn(e.key, decode(pages, e));
                return true;
              });
}

void put(Writer& w, std::string_view name, const Descriptor& x) {
  std::uint8_t p[d::kSize] = {};
  put_u64(p + d::kId, x.id);
  put_u32(p + d::kIndexRoot, x.index_root);
  put_u32(p + d::kHead, x.head);
  put_u32(p + d::kTail, x.tail);
  put_u32(p + d::kTailOffset, x.tail_offset);
  put_u64(p + d::kFirstKey, x.first_key);
  put_u64(p + d::kNextKey, x.next_key);
  put_u64(p + d::kBytes, x.bytes);
  put_u64(p + d::kFirstTs, x.first_ts);
  put_u64(p + d::kLastTs, x.last_ts);
  put_u64(p + d::kCreated, x.created);
  put_u64(p + d::kMaxAge, x.max_age);
  put_u64(p + d::kMaxBytes, x.max_bytes);
  put_u64(p + d::kMaxRecords, x.max_records);
  put_u32(p + d::kDataPages, x.data_pages);
  put_u32(p + d::kFlags, x.flags);
  btree::put(w, w.meta().catalog_root, name,
             {reinterpret_cast<const char*>(p), sizeof p});
}

void erase(Writer& w, std::string_view name) {
  btree::erase(w, w.meta().catalog_root, name);
}

} // namespace klite::catalog
