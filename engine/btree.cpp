#include "engine/btree.h"

#include "engine/coding.h"
#include "engine/errors.h"
#include "engine/format.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace klite::btree {

namespace fmt = format;
using namespace coding;

namespace {

constexpr std::size_t kHeader = fmt::checked::kHeaderSize;

// A read-only view of one B+tree page that checks every offset it follows.
class NodeView {
public:
  NodeView(const Pages& pages, std::uint32_t pgno)
      : pages_(pages), pgno_(pgno),
        p_(pages.checked(pgno, fmt::kBranchPage, fmt::kLeafPage)),
        ps_(pages.page_size()), count_(get_u16(p_ + fmt::checked::kCount)),
        content_(get_u16(p_ + fmt::checked::kContentStart)) {
    if (kHeader + 2u * count_ > ps_)
      corrupt("cell count too large");
    if (content_ < kHeader + 2u * count_ || content_ > ps_)
      corrupt("cell area start out of range");
  }

  // Bytes free between the slot array and the cell area.
  std::size_t free_space() const { return content_ - kHeader - 2 * count_; }
  std::size_t content_start() const { return content_; }
  // Offsets within the page, for changing a copy of it in place.
  std::size_t value_offset(std::size_t i) const {
    return reinterpret_cast<const std::uint8_t*>(value(i).data()) - p_;
  }
  std::size_t child_offset(std::size_t i) const {
    if (i == 0)
      return fmt::checked::kLink;
    child(i); // checks bounds
    return reinterpret_cast<const std::uint8_t*>(key(i - 1).end()) - p_;
  }

  bool leaf() const { return p_[fmt::checked::kType] == fmt::kLeafPage; }
  std::size_t count() const { return count_; }
  std::uint32_t pgno() const { return pgno_; }

  std::string_view key(std::size_t i) const {
    std::size_t off = cell(i);
    std::uint64_t len;
    std::size_t n = get_varint(p_ + off, p_ + ps_, len);
    if (n == 0 || len > ps_ - off - n)
      corrupt("bad key in cell " + std::to_string(i));
    return {reinterpret_cast<const char*>(p_ + off + n),
            static_cast<std::size_t>(len)};
  }
  // Leaf only.
  std::string_view value(std::size_t i) const {
    std::string_view k = key(i);
    const std::uint8_t* v = reinterpret_cast<const std::uint8_t*>(k.end());
    std::uint64_t len;
    std::size_t n = get_varint(v, p_ + ps_, len);
    if (n == 0 || len > static_cast<std::size_t>(p_ + ps_ - v) - n)
      corrupt("bad value in cell " + std::to_string(i));
    return {reinterpret_cast<const char*>(v + n), static_cast<std::size_t>(len)};
  }
  // Branch only: child 0 is the leftmost, child i > 0 belongs to cell i - 1.
  std::uint32_t child(std::size_t i) const {
    if (i == 0)
      return get_u32(p_ + fmt::checked::kLink);
    std::string_view k = key(i - 1);
    const std::uint8_t* c = reinterpret_cast<const std::uint8_t*>(k.end());
    if (c + 4 > p_ + ps_)
      corrupt("bad child in cell " + std::to_string(i - 1));
    return get_u32(c);
  }
  // The first index whose key is > `key`.
  std::size_t upper_bound(std::string_view key) const {
    if (key.size() == 8 && count_ >= 4)
      return upper_bound_u64(key);
    std::size_t lo = 0, hi = count_;
    while (lo < hi) {
      std::size_t mid = (lo + hi) / 2;
      if (this->key(mid) <= key)
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo;
  }

  [[noreturn]] void corrupt(const std::string& what) const {
    throw_corrupt(pages_.path(), pgno_, what);
  }

private:
  // upper_bound for an 8-byte key. 8-byte keys (the key index) compare as
  // big-endian integers, the same order as memcmp. A key index holds the
  // first keys of consecutive data pages, which grow almost linearly along
  // a node, so one interpolation step lands on or next to the answer: two
  // or three probes instead of a binary search's log2(count), each probe a
  // likely cache miss. Bisection finishes whatever the guess leaves.
  std::size_t upper_bound_u64(std::string_view key) const {
    const std::uint64_t want =
        get_u64_be(reinterpret_cast<const std::uint8_t*>(key.data()));
    // <=: whether cell i's key sorts at or before `key` (by memcmp order,
    // also for cells whose keys are not 8 bytes long).
    auto le = [&](std::size_t i, std::uint64_t& v) {
      std::string_view k = this->key(i);
      if (k.size() != 8)
        return k <= key;
      v = get_u64_be(reinterpret_cast<const std::uint8_t*>(k.data()));
      return v <= want;
    };
    std::uint64_t first = 0, last = 0;
    if (!le(0, first))
      return 0;
    if (le(count_ - 1, last))
      return count_;
    // Now cell 0 <= key < cell count-1: the answer is in [1, count-1].
    std::size_t lo = 1, hi = count_ - 1;
    if (last > first && want >= first) {
      double f = static_cast<double>(want - first) /
                 static_cast<double>(last - first);
      std::size_t g = static_cast<std::size_t>(f * static_cast<double>(count_ - 1));
      g = std::clamp<std::size_t>(g, lo, hi);
      std::uint64_t v;
      if (le(g, v)) { // answer > g: is it g + 1?
        lo = g + 1;
        if (lo < hi && !le(lo, v))
          return lo;
        if (lo < hi)
          ++lo;
      } else { // answer <= g: is it g?
        hi = g;
        if (hi > lo && le(hi - 1, v))
          return hi;
        if (hi > lo)
          --hi;
      }
    }
    while (lo < hi) {
      std::size_t mid = (lo + hi) / 2;
      std::uint64_t v;
      if (le(mid, v))
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo;
  }

  std::size_t cell(std::size_t i) const {
    std::size_t off = get_u16(p_ + kHeader + 2 * i);
    if (off < kHeader + 2u * count_ || off >= ps_)
      corrupt("cell offset out of range");
    return off;
  }

  const Pages& pages_;
  std::uint32_t pgno_;
  const std::uint8_t* p_;
  std::uint32_t ps_;
  std::size_t count_;
  std::size_t content_;
};

// A node decoded for modification. For a branch, vals hold 4-byte children
// and `leftmost` the child left of the first key.
struct Node {
  bool leaf = true;
  std::uint32_t leftmost = 0;
  std::vector<std::string> keys;
  std::vector<std::string> vals;

  static Node load(const Pages& pages, std::uint32_t pgno) {
    NodeView v(pages, pgno);
    Node n;
    n.leaf = v.leaf();
    n.keys.reserve(v.count() + 1);
    n.vals.reserve(v.count() + 1);
    if (!n.leaf)
      n.leftmost = v.child(0);
    for (std::size_t i = 0; i < v.count(); ++i) {
      n.keys.emplace_back(v.key(i));
      if (n.leaf) {
        n.vals.emplace_back(v.value(i));
      } else {
        std::uint8_t c[4];
        put_u32(c, v.child(i + 1));
        n.vals.emplace_back(reinterpret_cast<const char*>(c), 4);
      }
    }
    return n;
  }

  std::size_t cell_size(std::size_t i) const {
    std::size_t s = varint_size(keys[i].size()) + keys[i].size();
    return s + (leaf ? varint_size(vals[i].size()) + vals[i].size() : 4);
  }
  std::size_t size(std::size_t from, std::size_t to) const {
    std::size_t s = kHeader;
    for (std::size_t i = from; i < to; ++i)
      s += 2 + cell_size(i);
    return s;
  }

  // Encodes cells [from, to) into page p (already zeroed or reused).
  void store(std::uint8_t* p, std::uint32_t ps, std::size_t from,
             std::size_t to, std::uint32_t left) const {
    std::memset(p, 0, ps);
    p[fmt::checked::kType] = leaf ? fmt::kLeafPage : fmt::kBranchPage;
    put_u16(p + fmt::checked::kCount, static_cast<std::uint16_t>(to - from));
    put_u32(p + fmt::checked::kLink, leaf ? 0 : left);
    std::size_t end = ps;
    for (std::size_t i = from; i < to; ++i) {
      end -= cell_size(i);
      put_u16(p + kHeader + 2 * (i - from), static_cast<std::uint16_t>(end));
      std::uint8_t* c = p + end;
      c += put_varint(c, keys[i].size());
      std::memcpy(c, keys[i].data(), keys[i].size());
      c += keys[i].size();
      if (leaf)
        c += put_varint(c, vals[i].size());
      std::memcpy(c, vals[i].data(), vals[i].size());
    }
    put_u16(p + fmt::checked::kContentStart, static_cast<std::uint16_t>(end));
  }
};

std::uint32_t child_of(const Node& n, std::size_t i) {
  return i == 0 ? n.leftmost
                : get_u32(reinterpret_cast<const std::uint8_t*>(
                      n.vals[i - 1].data()));
}
void set_child(Node& n, std::size_t i, std::uint32_t c) {
  if (i == 0) {
    n.leftmost = c;
  } else {
    put_u32(reinterpret_cast<std::uint8_t*>(n.vals[i - 1].data()), c);
  }
}
std::string child_bytes(std::uint32_t c) {
  std::string s(4, '\0');
  put_u32(reinterpret_cast<std::uint8_t*>(s.data()), c);
  return s;
}

struct Split {
  std::string key;
  std::uint32_t right;
};

// Writes n back to its page (copying it first if committed), splitting it
// in two if it no longer fits. `appended`: the change was at the right
// end, so keep the left node full (append workloads then fill pages).
std::optional<Split> store(Writer& w, std::uint32_t& pgno, Node& n,
                           bool appended) {
  const std::uint32_t ps = w.page_size();
  std::size_t count = n.keys.size();
  if (n.size(0, count) <= ps) {
    n.store(w.cow(pgno), ps, 0, count, n.leftmost);
    return std::nullopt;
  }
  std::size_t mid;
  if (appended) {
    mid = count - 1;
  } else {
    mid = 1;
    std::size_t total = n.size(0, count), left = n.size(0, 1);
    while (mid + 1 < count && left + 2 + n.cell_size(mid) < total / 2)
      left += 2 + n.cell_size(mid++);
  }
  Split split{n.keys[mid], 0};
  std::uint32_t right_left = 0;
  std::size_t right_from = mid;
  if (!n.leaf) { // the middle key moves up; its child leads the right node
    right_left = child_of(n, mid + 1);
    right_from = mid + 1;
  }
  std::uint8_t* r = w.alloc(split.right, true);
  n.store(r, ps, right_from, count, right_left);
  n.store(w.cow(pgno), ps, 0, mid, n.leftmost);
  return split;
}

// Adds a cell at slot i of page pgno in place, if it fits: no decoding,
// which keeps appends to the key index cheap. `leaf`: value is a byte
// string (else a u32 child).
bool insert_in_place(Writer& w, std::uint32_t& pgno, const NodeView& v,
                     std::size_t i, std::string_view key,
                     std::string_view value) {
  const bool leaf = v.leaf();
  std::size_t size = varint_size(key.size()) + key.size() +
                     (leaf ? varint_size(value.size()) : 0) + value.size();
  if (v.free_space() < size + 2)
    return false;
  const std::size_t count = v.count(), start = v.content_start() - size;
  std::uint8_t* p = w.cow(pgno);
  std::uint8_t* c = p + start;
  c += put_varint(c, key.size());
  std::memcpy(c, key.data(), key.size());
  c += key.size();
  if (leaf)
    c += put_varint(c, value.size());
  std::memcpy(c, value.data(), value.size());
  std::uint8_t* slots = p + kHeader;
  std::memmove(slots + 2 * (i + 1), slots + 2 * i, 2 * (count - i));
  put_u16(slots + 2 * i, static_cast<std::uint16_t>(start));
  put_u16(p + fmt::checked::kCount, static_cast<std::uint16_t>(count + 1));
  put_u16(p + fmt::checked::kContentStart, static_cast<std::uint16_t>(start));
  return true;
}

// Inserts into a node that has no room, through a decoded copy.
std::optional<Split> insert_decoded(Writer& w, std::uint32_t& pgno,
                                    std::size_t i, std::string_view key,
                                    std::string_view value) {
  Node n = Node::load(w.pages(), pgno);
  n.keys.emplace(n.keys.begin() + static_cast<std::ptrdiff_t>(i), key);
  n.vals.emplace(n.vals.begin() + static_cast<std::ptrdiff_t>(i), value);
  return store(w, pgno, n, i + 1 == n.keys.size());
}

std::optional<Split> insert(Writer& w, std::uint32_t& pgno,
                            std::string_view key, std::string_view value) {
  NodeView v(w.pages(), pgno);
  std::size_t i = v.upper_bound(key);
  if (v.leaf()) {
    if (i > 0 && v.key(i - 1) == key) {
      if (v.value(i - 1).size() == value.size()) { // e.g. a descriptor
        std::size_t off = v.value_offset(i - 1);
        std::memcpy(w.cow(pgno) + off, value.data(), value.size());
        return std::nullopt;
      }
      Node n = Node::load(w.pages(), pgno);
      n.vals[i - 1] = value;
      return store(w, pgno, n, false);
    }
    if (insert_in_place(w, pgno, v, i, key, value))
      return std::nullopt;
    return insert_decoded(w, pgno, i, key, value);
  }
  const std::uint32_t old_child = v.child(i);
  const std::size_t child_off = v.child_offset(i);
  std::uint32_t c = old_child;
  std::optional<Split> s = insert(w, c, key, value);
  if (c != old_child)
    put_u32(w.cow(pgno) + child_off, c);
  if (!s)
    return std::nullopt;
  std::string right = child_bytes(s->right);
  NodeView now(w.pages(), pgno);
  if (insert_in_place(w, pgno, now, i, s->key, right))
    return std::nullopt;
  return insert_decoded(w, pgno, i, s->key, right);
}

// Returns whether the key was found; sets `emptied` if the node at pgno
// was removed because it became empty.
bool remove(Writer& w, std::uint32_t& pgno, std::string_view key,
            bool& emptied) {
  Node n = Node::load(w.pages(), pgno);
  auto it = std::upper_bound(n.keys.begin(), n.keys.end(), key,
                             [](std::string_view k, const std::string& s) {
                               return k < std::string_view(s);
                             });
  auto i = static_cast<std::size_t>(it - n.keys.begin());
  if (n.leaf) {
    if (i == 0 || n.keys[i - 1] != key)
      return false;
    n.keys.erase(n.keys.begin() + static_cast<std::ptrdiff_t>(i - 1));
    n.vals.erase(n.vals.begin() + static_cast<std::ptrdiff_t>(i - 1));
  } else {
    std::uint32_t c = child_of(n, i);
    bool child_emptied = false;
    if (!remove(w, c, key, child_emptied))
      return false;
    if (!child_emptied) {
      set_child(n, i, c);
    } else if (n.keys.empty()) {
      w.free(pgno);
      emptied = true;
      return true;
    } else if (i == 0) {
      n.leftmost = child_of(n, 1);
      n.keys.erase(n.keys.begin());
      n.vals.erase(n.vals.begin());
    } else {
      n.keys.erase(n.keys.begin() + static_cast<std::ptrdiff_t>(i - 1));
      n.vals.erase(n.vals.begin() + static_cast<std::ptrdiff_t>(i - 1));
    }
  }
  if (n.leaf && n.keys.empty()) {
    w.free(pgno);
    emptied = true;
    return true;
  }
  store(w, pgno, n, false); // removing never overflows a node
  return true;
}

// Frees the subtree at pgno; returns the entries its leaves held.
std::size_t free_subtree(Writer& w, std::uint32_t pgno, int depth) {
  if (depth > 64)
    throw_corrupt(w.pages().path(), pgno, "B+tree deeper than 64 levels");
  std::size_t n = 0;
  std::vector<std::uint32_t> children;
  {
    NodeView v(w.pages(), pgno); // not kept across the frees below
    if (v.leaf())
      n = v.count();
    else
      for (std::size_t c = 0; c <= v.count(); ++c)
        children.push_back(v.child(c));
  }
  w.free(pgno);
  for (std::uint32_t c : children)
    n += free_subtree(w, c, depth + 1);
  return n;
}

// erase_below for the subtree at pgno; sets `emptied` if it was removed.
std::size_t remove_below(Writer& w, std::uint32_t& pgno,
                         std::string_view bound, bool& emptied, int depth) {
  if (depth > 64)
    throw_corrupt(w.pages().path(), pgno, "B+tree deeper than 64 levels");
  std::size_t i, count, n = 0;
  bool leaf;
  std::uint32_t straddling = 0; // branch: child i, which may straddle bound
  {
    // Leaf: the entries before i are below bound. Branch: child c < i lies
    // below separator c <= bound, so wholly below. (The view does not
    // outlive the changes below.)
    NodeView v(w.pages(), pgno);
    i = v.upper_bound(bound);
    count = v.count();
    leaf = v.leaf();
    if (leaf) {
      if (i > 0 && v.key(i - 1) == bound)
        --i;
      if (i == 0)
        return 0;
      if (i == count) {
        w.free(pgno);
        emptied = true;
        return i;
      }
      n = i;
    } else {
      straddling = v.child(i);
    }
  }
  std::size_t drop = i; // leading cells to remove
  std::optional<Node> node;
  if (!leaf) {
    if (i > 0)
      node = Node::load(w.pages(), pgno);
    for (std::size_t c = 0; c < i; ++c)
      n += free_subtree(w, child_of(*node, c), depth + 1);
    std::uint32_t c = straddling;
    bool child_emptied = false;
    n += remove_below(w, c, bound, child_emptied, depth + 1);
    if (child_emptied && i == count) { // no child is left
      w.free(pgno);
      emptied = true;
      return n;
    }
    if (!child_emptied && i == 0) { // only child 0 changed: in place
      if (c != straddling)
        put_u32(w.cow(pgno) + fmt::checked::kLink, c);
      return n;
    }
    if (!node)
      node = Node::load(w.pages(), pgno);
    if (child_emptied) { // child i + 1 leads
      node->leftmost = child_of(*node, i + 1);
      ++drop;
    } else {
      node->leftmost = c;
    }
  } else {
    node = Node::load(w.pages(), pgno);
  }
  node->keys.erase(node->keys.begin(),
                   node->keys.begin() + static_cast<std::ptrdiff_t>(drop));
  node->vals.erase(node->vals.begin(),
                   node->vals.begin() + static_cast<std::ptrdiff_t>(drop));
  store(w, pgno, *node, false); // removing never overflows a node
  return n;
}

std::optional<Entry> last_of(const Pages& pages, std::uint32_t pgno,
                             int depth);

std::optional<Entry> floor_in(const Pages& pages, std::uint32_t pgno,
                              std::string_view key, int depth) {
  if (depth > 64)
    throw_corrupt(pages.path(), pgno, "B+tree deeper than 64 levels");
  NodeView v(pages, pgno);
  std::size_t i = v.upper_bound(key);
  if (v.leaf()) {
    if (i == 0)
      return std::nullopt;
    return Entry{v.key(i - 1), v.value(i - 1), v.pgno()};
  }
  if (auto e = floor_in(pages, v.child(i), key, depth + 1))
    return e;
  for (std::size_t c = i; c-- > 0;)
    if (auto e = last_of(pages, v.child(c), depth + 1))
      return e;
  return std::nullopt;
}

std::optional<Entry> last_of(const Pages& pages, std::uint32_t pgno,
                             int depth) {
  if (depth > 64)
    throw_corrupt(pages.path(), pgno, "B+tree deeper than 64 levels");
  NodeView v(pages, pgno);
  if (v.leaf()) {
    if (v.count() == 0)
      return std::nullopt;
    return Entry{v.key(v.count() - 1), v.value(v.count() - 1), v.pgno()};
  }
  for (std::size_t c = v.count() + 1; c-- > 0;)
    if (auto e = last_of(pages, v.child(c), depth + 1))
      return e;
  return std::nullopt;
}

bool scan_in(const Pages& pages, std::uint32_t pgno, std::string_view from,
             const std::function<bool(const Entry&)>& fn, int depth) {
  if (depth > 64)
    throw_corrupt(pages.path(), pgno, "B+tree deeper than 64 levels");
  NodeView v(pages, pgno);
  if (v.leaf()) {
    std::size_t i = v.upper_bound(from);
    if (i > 0 && v.key(i - 1) == from)
      --i;
    for (; i < v.count(); ++i)
      if (!fn(Entry{v.key(i), v.value(i), v.pgno()}))
        return false;
    return true;
  }
  for (std::size_t c = v.upper_bound(from); c <= v.count(); ++c) {
    if (!scan_in(pages, v.child(c), from, fn, depth + 1))
      return false;
  }
  return true;
}

void pages_in(const Pages& pages, std::uint32_t pgno,
              const std::function<void(std::uint32_t)>& fn, int depth) {
  if (depth > 64)
    throw_corrupt(pages.path(), pgno, "B+tree deeper than 64 levels");
  NodeView v(pages, pgno);
  if (!v.leaf())
    for (std::size_t c = 0; c <= v.count(); ++c)
      pages_in(pages, v.child(c), fn, depth + 1);
  fn(pgno);
}

// A root branch left with only its leftmost child is replaced by that
// child, down to a node with keys or a leaf.
void collapse(Writer& w, std::uint32_t& root) {
  for (;;) {
    NodeView v(w.pages(), root);
    if (v.leaf() || v.count() > 0)
      return;
    std::uint32_t child = v.child(0);
    w.free(root);
    root = child;
  }
}

} // namespace

std::optional<Entry> get(const Pages& pages, std::uint32_t root,
                         std::string_view key) {
  if (root == fmt::kNoPage)
    return std::nullopt;
  std::uint32_t pgno = root;
  for (int depth = 0;; ++depth) {
    if (depth > 64)
      throw_corrupt(pages.path(), pgno, "B+tree deeper than 64 levels");
    NodeView v(pages, pgno);
    std::size_t i = v.upper_bound(key);
    if (v.leaf()) {
      if (i > 0 && v.key(i - 1) == key)
        return Entry{v.key(i - 1), v.value(i - 1), pgno};
      return std::nullopt;
    }
    pgno = v.child(i);
  }
}

std::optional<Entry> floor(const Pages& pages, std::uint32_t root,
                           std::string_view key) {
  if (root == fmt::kNoPage)
    return std::nullopt;
  return floor_in(pages, root, key, 0);
}

void scan(const Pages& pages, std::uint32_t root, std::string_view from,
          const std::function<bool(const Entry&)>& fn) {
  if (root != fmt::kNoPage)
    scan_in(pages, root, from, fn, 0);
}

void pages_of(const Pages& pages, std::uint32_t root,
              const std::function<void(std::uint32_t)>& fn) {
  if (root != fmt::kNoPage)
    pages_in(pages, root, fn, 0);
}

void put(Writer& w, std::uint32_t& root, std::string_view key,
         std::string_view value) {
  if (root == fmt::kNoPage) {
    Node n;
    n.keys.emplace_back(key);
    n.vals.emplace_back(value);
    n.store(w.alloc(root, true), w.page_size(), 0, 1, 0);
    return;
  }
  std::optional<Split> s = insert(w, root, key, value);
  if (!s)
    return;
  Node n;
  n.leaf = false;
  n.leftmost = root;
  n.keys.push_back(std::move(s->key));
  n.vals.push_back(child_bytes(s->right));
  n.store(w.alloc(root, true), w.page_size(), 0, 1, n.leftmost);
}

bool erase(Writer& w, std::uint32_t& root, std::string_view key) {
  if (root == fmt::kNoPage)
    return false;
  bool emptied = false;
  if (!remove(w, root, key, emptied))
    return false;
  if (emptied) {
    root = fmt::kNoPage;
    return true;
  }
  collapse(w, root);
  return true;
}

std::size_t erase_below(Writer& w, std::uint32_t& root,
                        std::string_view bound) {
  if (root == fmt::kNoPage)
    return 0;
  bool emptied = false;
  const std::size_t n = remove_below(w, root, bound, emptied, 0);
  if (emptied) {
    root = fmt::kNoPage;
    return n;
  }
  collapse(w, root);
  return n;
}

void destroy(Writer& w, std::uint32_t root) {
  std::vector<std::uint32_t> all;
  pages_of(w.pages(), root, [&](std::uint32_t pg) { all.push_back(pg); });
  for (std::uint32_t pg : all)
    w.free(pg);
}

} // namespace klite::btree
