#include "engine/catalog.h"

#include "engine/btree.h"
#include "engine/errors.h"
#include "engine/format.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace klite::catalog {

namespace fmt = format;
namespace d = format::desc;

namespace {

// The overlay's entries are read only after the meta page's overlay CRC
// held, but a writer bug must still give Corrupt, not a wild read.
static_assert(1 + kMaxStreamNameSize + d::kSize <=
                  fmt::meta::max_overlay(fmt::kMinPageSize),
              "an overlay entry of the longest name fits the smallest page");

// The descriptor `v` of stream `name`, found on page `page`.
Descriptor decode(const Pages& pages, std::string_view name,
                  std::string_view v, std::uint32_t page) {
  if (v.size() < d::kSize)
    throw_corrupt(pages.path(), page,
                  "catalog entry for \"" + std::string(name) +
                      "\" is too short");
  auto p = reinterpret_cast<const std::uint8_t*>(v.data());
  const Descriptor x = d::decode(p);
  const std::uint32_t ps = pages.page_size();
  const std::uint32_t count = pages.meta().page_count;
  bool empty = x.tail == fmt::kNoPage;
  if (x.first_key == 0 || x.first_key > x.next_key ||
      x.index_root >= count || x.head >= count || x.tail >= count ||
      (empty != (x.head == fmt::kNoPage)) ||
      (!empty && (x.tail_offset < fmt::data::kHeaderSize ||
                  x.tail_offset > ps)) ||
      (x.flags & ~fmt::desc::kHasTtl) != 0)
    throw_corrupt(pages.path(), page,
                  "catalog entry for \"" + std::string(name) +
                      "\" has fields out of range");
  return x;
}

// One overlay entry: the stream's name and its descriptor's bytes.
struct OverlayEntry {
  std::string_view name;
  std::string_view desc;
};

// The meta page a snapshot's overlay came from, for error messages: the
// writer's view carries its own txn id, one past its base's.
std::uint32_t meta_page(const Pages& pages) {
  const std::uint64_t txn = pages.meta().txn_id - (pages.has_dirty() ? 1 : 0);
  return static_cast<std::uint32_t>(txn % 2);
}

// Calls fn for every entry of `overlay`, until it returns false. Throws
// Corrupt (naming the meta page) if an entry runs past it.
template <class F>
void each_overlay(const Pages& pages, const std::string* overlay, F&& fn) {
  if (!overlay)
    return;
  std::string_view rest = *overlay;
  while (!rest.empty()) {
    const std::size_t k = static_cast<std::uint8_t>(rest[0]);
    if (k == 0 || k > kMaxStreamNameSize || rest.size() < 1 + k + d::kSize)
      throw_corrupt(pages.path(), meta_page(pages),
                    "meta page overlay entry runs past the overlay");
    if (!fn(OverlayEntry{rest.substr(1, k), rest.substr(1 + k, d::kSize)}))
      return;
    rest.remove_prefix(1 + k + d::kSize);
  }
}

// The tree's entry for `name`, made or replaced.
void put_tree(Writer& w, std::string_view name, std::string_view desc) {
  btree::put(w, w.meta().catalog_root, name, desc);
}

// The overlay entry of `name`, if any. Every entry is read, so that a
// malformed one is Corrupt wherever it lies, and so is a name given twice.
std::optional<OverlayEntry> overlay_entry(const Pages& pages,
                                          std::string_view name) {
  std::optional<OverlayEntry> found;
  each_overlay(pages, pages.meta().overlay.get(), [&](const OverlayEntry& e) {
    if (e.name == name) {
      if (found)
        throw_corrupt(pages.path(), meta_page(pages),
                      "meta page overlay names stream \"" + std::string(name) +
                          "\" twice");
      found = e;
    }
    return true;
  });
  return found;
}

// The overlay without the entries named in `drop`, plus `add` encoded
// (its names being in `drop`), or null when that leaves nothing.
std::shared_ptr<const std::string>
rebuilt_overlay(const Pages& pages, std::span<const std::string_view> drop,
                std::span<const Change> add) {
  auto out = std::make_shared<std::string>();
  each_overlay(pages, pages.meta().overlay.get(), [&](const OverlayEntry& e) {
    if (std::find(drop.begin(), drop.end(), e.name) == drop.end()) {
      out->push_back(static_cast<char>(e.name.size()));
      out->append(e.name);
      out->append(e.desc);
    }
    return true;
  });
  for (const Change& c : add) {
    std::uint8_t p[d::kSize] = {};
    d::encode(p, *c.d);
    out->push_back(static_cast<char>(c.name.size()));
    out->append(c.name);
    out->append(reinterpret_cast<const char*>(p), sizeof p);
  }
  if (out->empty())
    return nullptr;
  return out;
}

// put() and erase(): `name` leaves the overlay.
void unstage(Writer& w, std::string_view name) {
  if (overlay_entry(w.pages(), name)) {
    const std::string_view drop[] = {name};
    w.meta().overlay = rebuilt_overlay(w.pages(), drop, {});
  }
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
  if (auto o = overlay_entry(pages, name))
    return decode(pages, name, o->desc, meta_page(pages));
  auto e = btree::get(pages, pages.meta().catalog_root, name);
  if (!e)
    return std::nullopt;
  return decode(pages, e->key, e->value, e->page);
}

void each(const Pages& pages,
          const std::function<void(std::string_view, const Descriptor&)>& fn) {
  std::size_t entries = 0, used = 0;
  each_overlay(pages, pages.meta().overlay.get(), [&](const OverlayEntry&) {
    ++entries;
    return true;
  });
  btree::scan(pages, pages.meta().catalog_root, {},
              [&](const btree::Entry& e) {
                if (auto o = entries ? overlay_entry(pages, e.key) : std::nullopt) {
                  ++used;
                  fn(e.key, decode(pages, e.key, o->desc, meta_page(pages)));
                } else {
                  fn(e.key, decode(pages, e.key, e.value, e.page));
                }
                return true;
              });
  // An entry for a stream the tree lacks: find() would see a stream that
  // this listing does not.
  if (used != entries)
    throw_corrupt(pages.path(), meta_page(pages),
                  "meta page overlay names a stream the catalog does not hold");
}

void put(Writer& w, std::string_view name, const Descriptor& x) {
  unstage(w, name);
  std::uint8_t p[d::kSize] = {};
  d::encode(p, x);
  put_tree(w, name, {reinterpret_cast<const char*>(p), sizeof p});
}

void erase(Writer& w, std::string_view name) {
  unstage(w, name);
  btree::erase(w, w.meta().catalog_root, name);
}

bool stage(Writer& w, std::span<const Change> changes) {
  std::vector<std::string_view> names;
  names.reserve(changes.size());
  for (const Change& c : changes)
    names.push_back(c.name);
  auto overlay = rebuilt_overlay(w.pages(), names, changes);
  const std::size_t size = overlay ? overlay->size() : 0;
  if (size > fmt::meta::max_overlay(w.page_size()))
    return false;
  w.meta().overlay = std::move(overlay);
  return true;
}

void flush(Writer& w) {
  const std::shared_ptr<const std::string> staged = w.meta().overlay;
  w.meta().overlay = nullptr;
  each_overlay(w.pages(), staged.get(), [&](const OverlayEntry& e) {
    put_tree(w, e.name, e.desc);
    return true;
  });
}

} // namespace klite::catalog
