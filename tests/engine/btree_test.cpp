// The copy-on-write B+tree against a std::map model, with small pages so
// trees get deep and every split and removal path runs.
#include "test_util.h"

#include "engine/btree.h"
#include "engine/coding.h"
#include "engine/format.h"
#include "engine/pager.h"

#include <map>
#include <set>

namespace {

using klite::Pager;
using klite::Pages;
using klite::Writer;
namespace btree = klite::btree;

std::string be_key(std::uint64_t k) {
  std::string s(8, '\0');
  klite::coding::put_u64_be(reinterpret_cast<std::uint8_t*>(s.data()), k);
  return s;
}

// One write transaction on `pager` that runs fn on the tree kept in the
// catalog root slot of the meta page.
void write_tree(Pager& pager, const std::function<void(Writer&, std::uint32_t&)>& fn) {
  Pages base = pager.acquire();
  pager.release(base);
  Writer w(base);
  fn(w, w.meta().catalog_root);
  w.commit();
}

std::map<std::string, std::string> read_all(const Pages& pages) {
  std::map<std::string, std::string> out;
  btree::scan(pages, pages.meta().catalog_root, {}, [&](const btree::Entry& e) {
    out.emplace(e.key, e.value);
    return true;
  });
  return out;
}

} // namespace

TEST_CASE("B+tree: against a model") {
  klite::test::TempDir dir;
  klite::Options options;
  options.page_size = 1024;
  options.durability = klite::Durability::Off;
  Pager pager(dir.file(), options);
  std::map<std::string, std::string> model;
  klite::test::Rng rng(7);

  SUBCASE("random puts, replaces and erases over many commits") {
    for (int commit = 0; commit < 40; ++commit) {
      CAPTURE(commit);
      write_tree(pager, [&](Writer& w, std::uint32_t& root) {
        for (int i = 0; i < 300; ++i) {
          std::string key = "k" + std::to_string(rng.range(0, 3000));
          if (rng.range(0, 3) == 0) {
            bool had = model.erase(key) == 1;
            CHECK(btree::erase(w, root, key) == had);
          } else {
            std::string value(static_cast<std::size_t>(rng.range(0, 200)),
                              static_cast<char>('a' + commit % 26));
            model[key] = value;
            btree::put(w, root, key, value);
          }
        }
      });
      Pages snap = pager.acquire();
      CHECK(read_all(snap) == model);
      for (int probe = 0; probe < 50; ++probe) {
        std::string key = "k" + std::to_string(rng.range(0, 3000));
        auto got = btree::get(snap, snap.meta().catalog_root, key);
        auto it = model.find(key);
        REQUIRE(got.has_value() == (it != model.end()));
        if (got)
          CHECK(got->value == it->second);
        // floor: the largest key <= probe
        auto f = btree::floor(snap, snap.meta().catalog_root, key);
        auto up = model.upper_bound(key);
        if (up == model.begin()) {
          CHECK_FALSE(f.has_value());
        } else {
          --up;
          REQUIRE(f.has_value());
          CHECK(f->key == up->first);
        }
      }
      pager.release(snap);
    }
  }

  SUBCASE("8-byte keys, spread unevenly: get and floor find every key") {
    // 8-byte keys take an interpolation search; clustered keys, huge gaps
    // and keys of other lengths in the same nodes must not fool it.
    std::vector<std::string> keys;
    for (std::uint64_t k = 1; k <= 3000; ++k) // a dense run
      keys.push_back(be_key(k));
    for (std::uint64_t k = 0; k < 500; ++k) // sparse, growing gaps
      keys.push_back(be_key(10000 + k * k * k * 1000));
    for (std::uint64_t k = 0; k < 200; ++k) // near the top of the range
      keys.push_back(be_key(~std::uint64_t{0} - k * 7));
    for (int k = 0; k < 300; ++k) // other lengths, interleaved by memcmp
      keys.push_back(be_key(rng.range(0, 4000)).substr(0, 1 + k % 12) +
                     std::string(k % 3, 'x'));
    write_tree(pager, [&](Writer& w, std::uint32_t& root) {
      for (const std::string& k : keys) {
        btree::put(w, root, k, "v" + k);
        model[k] = "v" + k;
      }
    });
    Pages snap = pager.acquire();
    CHECK(read_all(snap) == model);
    std::vector<std::string> probes = keys;
    for (int i = 0; i < 3000; ++i) {
      probes.push_back(be_key(rng.range(0, 1) == 0 ? rng.range(0, 20000)
                                                   : rng.next()));
    }
    probes.push_back(be_key(0));
    probes.push_back(be_key(~std::uint64_t{0}));
    for (const std::string& key : probes) {
      CAPTURE(key.size());
      auto got = btree::get(snap, snap.meta().catalog_root, key);
      CHECK(got.has_value() == (model.count(key) == 1));
      auto f = btree::floor(snap, snap.meta().catalog_root, key);
      auto up = model.upper_bound(key);
      if (up == model.begin()) {
        CHECK_FALSE(f.has_value());
      } else {
        --up;
        REQUIRE(f.has_value());
        CHECK(f->key == up->first);
      }
    }
    pager.release(snap);
  }

  SUBCASE("appending keys in order fills leaves and keeps every key") {
    write_tree(pager, [&](Writer& w, std::uint32_t& root) {
      for (std::uint64_t k = 1; k <= 20000; ++k) {
        btree::put(w, root, be_key(k), "v");
        model[be_key(k)] = "v";
      }
    });
    Pages snap = pager.acquire();
    CHECK(read_all(snap) == model);
    std::size_t pages = 0;
    btree::pages_of(snap, snap.meta().catalog_root, [&](std::uint32_t) { ++pages; });
    // A leaf cell is 1 + 8 + 1 + 1 bytes plus a 2-byte slot: about 76 per
    // 1 KiB leaf when full. Splitting at the right edge keeps leaves full, so
    // the tree needs barely more than 20000 / 76 leaves (a 50/50 split would
    // need about twice as many).
    CHECK(pages < 20000 / 76 * 11 / 10 + 10);
    pager.release(snap);
  }

  SUBCASE("erasing everything frees every page and empties the root") {
    std::set<std::uint32_t> used;
    write_tree(pager, [&](Writer& w, std::uint32_t& root) {
      for (std::uint64_t k = 1; k <= 5000; ++k)
        btree::put(w, root, be_key(k * 7919 % 5003), std::string(20, 'x'));
    });
    write_tree(pager, [&](Writer& w, std::uint32_t& root) {
      for (std::uint64_t k = 1; k <= 5000; ++k)
        CHECK(btree::erase(w, root, be_key(k * 7919 % 5003)));
      CHECK(root == klite::format::kNoPage);
      CHECK_FALSE(btree::erase(w, root, be_key(1)));
    });
    Pages snap = pager.acquire();
    CHECK(snap.meta().catalog_root == klite::format::kNoPage);
    CHECK(read_all(snap).empty());
    pager.release(snap);
  }

  SUBCASE("erase_below drops exactly the keys below its bound") {
    // A deep tree of 8-byte keys put in random order (so nodes split in
    // the middle too), with holes; then bounds that grow, as expiry's do,
    // some exactly on a key, some between keys, one below them all.
    std::vector<std::uint64_t> order;
    for (std::uint64_t k = 1; k <= 6000; ++k)
      if (k % 7 != 3)
        order.push_back(k * 3);
    for (std::size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[static_cast<std::size_t>(rng.range(0, i - 1))]);
    write_tree(pager, [&](Writer& w, std::uint32_t& root) {
      for (std::uint64_t k : order) {
        btree::put(w, root, be_key(k), std::string(k % 5, 'v'));
        model[be_key(k)] = std::string(k % 5, 'v');
      }
    });
    std::size_t pages_before = 0;
    {
      Pages snap = pager.acquire();
      btree::pages_of(snap, snap.meta().catalog_root, [&](std::uint32_t) { ++pages_before; });
      pager.release(snap);
    }
    std::uint64_t bound = 1;
    for (int round = 0; round < 40; ++round) {
      CAPTURE(bound);
      std::size_t expected = 0;
      while (!model.empty() && model.begin()->first < be_key(bound)) {
        model.erase(model.begin());
        ++expected;
      }
      write_tree(pager, [&](Writer& w, std::uint32_t& root) {
        CHECK(btree::erase_below(w, root, be_key(bound)) == expected);
        CHECK(btree::erase_below(w, root, be_key(bound)) == 0);
      });
      Pages snap = pager.acquire();
      CHECK(read_all(snap) == model);
      if (!model.empty()) // the first key left is found, the one before not
        CHECK(btree::floor(snap, snap.meta().catalog_root, be_key(bound))
                  .has_value() == (model.begin()->first == be_key(bound)));
      std::size_t pages = 0;
      btree::pages_of(snap, snap.meta().catalog_root, [&](std::uint32_t) { ++pages; });
      CHECK(pages <= pages_before);
      pages_before = pages;
      pager.release(snap);
      bound += round % 3 == 0 ? 3 : static_cast<std::uint64_t>(rng.range(1, 900));
    }
    write_tree(pager, [&](Writer& w, std::uint32_t& root) {
      CHECK(btree::erase_below(w, root, be_key(~std::uint64_t{0})) == model.size());
      CHECK(root == klite::format::kNoPage);
      CHECK(btree::erase_below(w, root, be_key(5)) == 0);
    });
  }

  SUBCASE("scan starts at the first key >= from and stops when asked") {
    write_tree(pager, [&](Writer& w, std::uint32_t& root) {
      for (std::uint64_t k = 10; k <= 5000; k += 10)
        btree::put(w, root, be_key(k), "v");
    });
    Pages snap = pager.acquire();
    std::vector<std::uint64_t> seen;
    btree::scan(snap, snap.meta().catalog_root, be_key(2345), [&](const btree::Entry& e) {
      seen.push_back(klite::coding::get_u64_be(reinterpret_cast<const std::uint8_t*>(e.key.data())));
      return seen.size() < 3;
    });
    CHECK(seen == std::vector<std::uint64_t>{2350, 2360, 2370});
    pager.release(snap);
  }
}
