#include "tools/inspect_cli.h"

#include "engine/format.h"
#include "engine/inspect.h"
#include "engine/text.h"

#include <klite/error.h>

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace klite::inspect {

namespace {

constexpr const char* kUsage =
    R"(usage: klite-inspect FILE COMMAND [ARGS] [--json]

Reads a klite file without changing it (opened read-only; safe while a writer
has it open, see docs/INSPECT.md) and without trusting the engine: every
structure is decoded from the raw bytes.

commands:
  header          the file header: page size, the meta page in use and why,
                  page count, roots
  meta            both meta pages, field by field, with each commit's range
                  list and whether it completed, and which one is current
  streams         the catalog: one line per stream
  stream NAME     one stream's descriptor, decoded
  page N          the decoded fields of page N for its type, then a hex dump
  btree NAME      the key index of stream NAME level by level, with fences
                  and fill; "btree catalog" shows the catalog, "btree N" the
                  tree rooted at page N, "btree index:NAME" the key index of
                  a stream even if it is called catalog
  freelist        the free pages and the transactions that freed them
  analyze         space use, like sqlite3_analyzer: per stream pages,
                  payload, overhead, fill, index size, expired records
                  still on disk, TTLs, retention; free and reusable pages;
                  bytes on disk per payload byte
  check           the full integrity check; prints every problem with its
                  page number
  dump NAME       every record of stream NAME as JSON lines (below)

options:
  --json          print JSON instead of text (dump always prints JSON lines)
  -h, --help      this help

dump output, one JSON object per line, in key order:
  {"key":1,"ts":"2026-11-25T10:00:00.000000Z","value":"text"}
  {"key":2,"ts":"2026-11-25T10:00:00.001500Z","value":"AP8=","encoding":"base64"}
  {"key":3,"ts":"...","value":"ok","headers":[{"name":"t","value":"x"}]}
  {"key":4,"ts":"...","expires":"2026-11-25T10:01:00.001500Z","value":"x"}
  Every record from the stream's first key on (expired ones are not). ts
  is the append time in UTC with microseconds; expires, only for a record
  with a TTL, is when it runs out (ts + TTL). dump does not know the time,
  so records whose TTL has run out, which reads no longer return, are
  shown too. value is the payload as a
  JSON string when it is valid UTF-8, otherwise base64 (RFC 4648, padded)
  with "encoding":"base64". headers appears only when the record has
  headers, in append order; a header whose name or value is not valid UTF-8
  has both in base64 and "encoding":"base64". Records whose checksum fails
  are left out and reported on stderr.

exit status:
  0  done (check: the file is clean; warnings do not count)
  1  problems found: check found damage, or another command met damage
     while reading (problems go to stderr)
  2  the file cannot be opened (missing, unreadable, not a klite file,
     unsupported version), or bad usage
)";

// ---------------------------------------------------------------------------
// Text helpers

std::string num(std::uint64_t v) { return std::to_string(v); }

std::string pct(double part, double whole) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f%%", whole > 0 ? 100.0 * part / whole : 0.0);
  return b;
}

std::string ratio(double a, double b) {
  if (b <= 0)
    return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", a / b);
  return buf;
}

std::string hex32(std::uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08" PRIx32, v);
  return b;
}

std::string crc_pair(std::uint32_t stored, std::uint32_t computed) {
  return hex32(stored) + " (computed " + hex32(computed) + ")";
}

// One overlay entry in a line: the stream and its descriptor's key fields.
std::string overlay_entry_line(const OverlayEntry& e) {
  const Descriptor& d = e.d;
  return text::quote(e.name) + " at offset " + num(e.offset) + ": id " +
         num(d.id) + ", first key " + num(d.first_key) + ", next key " +
         num(d.next_key) + ", " + num(d.bytes) + " payload bytes, " +
         num(d.data_pages) + " data pages, head " + num(d.head) + ", tail " +
         num(d.tail) + ", tail offset " + num(d.tail_offset) + ", index root " +
         num(d.index_root);
}

// Where a stream's current descriptor is, for stream NAME and analyze.
std::string descriptor_place(const Stream& s) {
  return s.overlaid ? "the overlay of meta page " + num(s.desc_page) +
                          " (offset " + num(s.overlay_offset) +
                          "), replacing catalog page " + num(s.leaf) + "'s"
                    : "catalog page " + num(s.leaf);
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width)
    s.append(width - s.size(), ' ');
  return s;
}

std::string rpad(std::string s, std::size_t width) {
  if (s.size() < width)
    s.insert(0, width - s.size(), ' ');
  return s;
}

// A small streaming JSON writer; pretty-printed with two-space indents.
class Json {
public:
  explicit Json(std::ostream& out) : out_(out) {}

  Json& begin_object() { return open('{'); }
  Json& end_object() { return close('}'); }
  Json& begin_array() { return open('['); }
  Json& end_array() { return close(']'); }
  Json& key(std::string_view k) {
    separate();
    out_ << text::json_string(k) << ": ";
    after_key_ = true;
    return *this;
  }
  Json& str(std::string_view s) { return raw(text::json_string(s)); }
  Json& number(std::uint64_t v) { return raw(num(v)); }
  Json& real(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.6g", v);
    return raw(b);
  }
  Json& boolean(bool v) { return raw(v ? "true" : "false"); }
  // A number already rendered as decimal digits.
  Json& raw_number(std::string_view digits) { return raw(digits); }
  Json& null() { return raw("null"); }
  Json& field(std::string_view k, std::string_view v) { return key(k).str(v); }
  Json& field(std::string_view k, const char* v) { return key(k).str(v); }
  Json& field(std::string_view k, std::uint64_t v) { return key(k).number(v); }
  Json& field(std::string_view k, std::uint32_t v) { return key(k).number(v); }
  Json& field(std::string_view k, int v) {
    return key(k).raw(std::to_string(v));
  }
  Json& field(std::string_view k, bool v) { return key(k).boolean(v); }
  void finish() { out_ << '\n'; }

private:
  Json& raw(std::string_view s) {
    separate();
    out_ << s;
    return *this;
  }
  Json& open(char c) {
    separate();
    out_ << c;
    first_.push_back(true);
    return *this;
  }
  Json& close(char c) {
    bool empty = first_.back();
    first_.pop_back();
    if (!empty)
      newline();
    out_ << c;
    return *this;
  }
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (first_.empty())
      return;
    if (!first_.back())
      out_ << ',';
    first_.back() = false;
    newline();
  }
  void newline() {
    out_ << '\n';
    for (std::size_t i = 0; i < first_.size(); ++i)
      out_ << "  ";
  }

  std::ostream& out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

void problems_json(Json& j, const std::vector<Problem>& ps) {
  j.key("problems").begin_array();
  for (const Problem& p : ps)
    j.begin_object()
        .field("page", p.page)
        .field("severity", p.warning ? "warning" : "error")
        .field("message", p.message)
        .end_object();
  j.end_array();
}

std::string problem_line(const Problem& p) {
  return std::string(p.warning ? "warning: " : "") + "page " + num(p.page) +
         ": " + p.message;
}

// Prints problems met while reading to err; the exit code they imply.
int report_problems(const std::vector<Problem>& ps, std::ostream& err) {
  bool errors = false;
  for (const Problem& p : ps) {
    err << problem_line(p) << '\n';
    errors |= !p.warning;
  }
  return errors ? kExitProblems : kExitOk;
}

// How many snapshots check and analyze try while a writer keeps moving.
constexpr int kCheckAttempts = 5;

bool parse_u32(std::string_view s, std::uint32_t& v) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && ptr == s.data() + s.size() && !s.empty();
}

struct Cli {
  const File& f;
  bool json;
  std::ostream& out;
  std::ostream& err;

  int need_snapshot() {
    err << "klite-inspect: " << f.path() << ": " << f.choice() << '\n';
    return kExitCannot;
  }

  // --- header ---------------------------------------------------------------
  int header() {
    const std::uint64_t ps = f.page_size();
    if (json) {
      Json j(out);
      j.begin_object()
          .field("file", f.path())
          .field("file_size", f.file_size())
          .field("page_size", f.page_size())
          .field("file_pages", f.file_pages());
      j.key("current_meta");
      if (f.has_snapshot())
        j.number(static_cast<std::uint64_t>(f.current()));
      else
        j.null();
      j.field("choice", f.choice());
      if (f.has_snapshot()) {
        const MetaSlot& m = f.meta(f.current());
        j.field("format_version", m.version)
            .field("txn_id", f.txn_id())
            .field("page_count", f.page_count())
            .field("catalog_root", f.catalog_root())
            .field("free_root", f.free_root())
            .field("next_stream_id", f.next_stream_id())
            .field("overlay_size", m.overlay_size)
            .field("overlay_entries",
                   static_cast<std::uint64_t>(m.overlay.size()));
      }
      problems_json(j, f.meta_problems());
      j.end_object().finish();
      return report_code();
    }
    auto line = [&](const char* k, const std::string& v) {
      out << pad(k, 17) << v << '\n';
    };
    line("file", f.path());
    line("file size",
         num(f.file_size()) + " bytes" +
             (ps ? " (" + num(f.file_pages()) + " pages of " + num(ps) + ")"
                 : ""));
    if (!f.has_snapshot()) {
      line("meta in use", "none: " + f.choice());
      for (const Problem& p : f.meta_problems())
        out << problem_line(p) << '\n';
      return kExitProblems;
    }
    const MetaSlot& m = f.meta(f.current());
    line("magic", "ok (\"klite\\0\\r\\n\")");
    line("format version", num(m.version));
    line("page size", num(ps));
    line("meta in use", f.choice());
    line("txn id", num(f.txn_id()));
    line("page count", num(f.page_count()) + " (" +
                           num(std::uint64_t{f.page_count()} * ps) + " bytes)");
    line("catalog root", num(f.catalog_root()));
    line("free-list root", num(f.free_root()));
    line("next stream id", num(f.next_stream_id()));
    line("overlay", m.overlay_size == 0
                        ? "none"
                        : num(m.overlay.size()) +
                              (m.overlay.size() == 1 ? " descriptor ("
                                                     : " descriptors (") +
                              num(m.overlay_size) + " bytes)");
    if (f.file_pages() >= f.page_count())
      line("preallocated",
           num(f.file_pages() - f.page_count()) + " pages past the page count");
    for (const Problem& p : f.meta_problems())
      out << problem_line(p) << '\n';
    return report_code();
  }

  int report_code() {
    for (const Problem& p : f.meta_problems())
      if (!p.warning)
        return kExitProblems;
    return kExitOk;
  }

  // --- meta -----------------------------------------------------------------
  int meta() {
    if (json) {
      Json j(out);
      j.begin_object().key("meta_pages").begin_array();
      for (int s = 0; s < 2; ++s) {
        const MetaSlot& m = f.meta(s);
        j.begin_object()
            .field("slot", m.slot)
            .field("offset", m.offset)
            .field("found", m.found)
            .field("valid", m.valid)
            .field("status", m.status);
        if (m.found) {
          j.field("magic", m.magic)
              .field("format_version", m.version)
              .field("page_size", m.page_size)
              .field("txn_id", m.txn_id)
              .field("page_count", m.page_count)
              .field("catalog_root", m.catalog_root)
              .field("free_root", m.free_root)
              .field("next_stream_id", m.next_stream_id)
              .field("stored_crc", m.stored_crc)
              .field("computed_crc", m.computed_crc)
              .field("range_count", m.range_count)
              .field("range_list_crc", m.range_list_crc);
          if (m.list_read)
            j.field("computed_range_list_crc", m.computed_range_list_crc);
          if (!m.ranges.empty()) {
            j.key("ranges").begin_array();
            for (const CommitRange& r : m.ranges) {
              j.begin_object()
                  .field("offset", r.offset)
                  .field("length", r.length)
                  .field("page", r.offset / m.page_size)
                  .field("page_offset", r.offset % m.page_size)
                  .field("stored_crc", r.stored_crc);
              if (r.read)
                j.field("computed_crc", r.computed_crc);
              j.field("ok", r.ok).field("status", r.status).end_object();
            }
            j.end_array();
          }
          j.field("overlay_size", m.overlay_size)
              .field("overlay_crc", m.overlay_crc)
              .field("overlay_offset", m.overlay_offset);
          if (m.overlay_read)
            j.field("computed_overlay_crc", m.computed_overlay_crc);
          if (m.valid)
            j.field("overlay_ok", m.overlay_ok)
                .field("overlay_status", m.overlay_status);
          if (m.overlay_read) {
            j.key("overlay").begin_array();
            for (const OverlayEntry& e : m.overlay) {
              j.begin_object().field("offset", e.offset).field("name", e.name);
              descriptor_fields_json(j, e.d);
              j.end_object();
            }
            j.end_array();
          }
          if (!m.overlay_malformed.empty())
            j.field("overlay_malformed", m.overlay_malformed);
          if (m.valid) {
            j.field("complete", m.complete);
            if (!m.complete)
              j.field("incomplete", m.incomplete);
          }
        }
        j.end_object();
      }
      j.end_array();
      j.key("current");
      if (f.has_snapshot())
        j.number(static_cast<std::uint64_t>(f.current()));
      else
        j.null();
      j.field("choice", f.choice());
      problems_json(j, f.meta_problems());
      j.end_object().finish();
      return report_code();
    }
    for (int s = 0; s < 2; ++s) {
      const MetaSlot& m = f.meta(s);
      out << "meta page " << s << " (offset " << m.offset << "): " << m.status
          << (f.current() == s ? ", current" : "") << '\n';
      if (!m.found)
        continue;
      auto line = [&](const std::string& k, const std::string& v) {
        out << "  " << pad(k, 16) << v << '\n';
      };
      line("magic", m.magic ? "ok" : "BAD");
      line("format version", num(m.version));
      line("page size", num(m.page_size));
      line("txn id", num(m.txn_id));
      line("page count", num(m.page_count));
      line("catalog root", num(m.catalog_root));
      line("free-list root", num(m.free_root));
      line("next stream id", num(m.next_stream_id));
      line("crc", crc_pair(m.stored_crc, m.computed_crc));
      line("range count", num(m.range_count));
      if (m.range_count > 0)
        line("range list crc",
             m.list_read ? crc_pair(m.range_list_crc, m.computed_range_list_crc)
                         : hex32(m.range_list_crc));
      for (std::size_t i = 0; i < m.ranges.size(); ++i) {
        const CommitRange& r = m.ranges[i];
        line("range " + num(i),
             "offset " + num(r.offset) + " (page " +
                 num(r.offset / m.page_size) + " + " +
                 num(r.offset % m.page_size) + "), " + num(r.length) +
                 " bytes" +
                 (r.ok ? ", crc " + hex32(r.stored_crc) + ": ok"
                       : ": " + r.status));
      }
      if (m.version >= 4) {
        std::string overlay = "none";
        if (m.overlay_size != 0) {
          overlay =
              num(m.overlay_size) + " bytes at offset " +
              num(m.overlay_offset) + ", crc " +
              (m.overlay_read ? crc_pair(m.overlay_crc, m.computed_overlay_crc)
                              : hex32(m.overlay_crc));
          if (m.overlay_read)
            overlay += ", " + num(m.overlay.size()) +
                       (m.overlay.size() == 1 ? " entry" : " entries");
          if (m.valid)
            overlay += ": " + m.overlay_status;
        } else if (m.valid && !m.overlay_ok) {
          overlay += ": " + m.overlay_status;
        }
        line("overlay", overlay);
      }
      for (std::size_t i = 0; i < m.overlay.size(); ++i)
        line("overlay " + num(i), overlay_entry_line(m.overlay[i]));
      if (!m.overlay_malformed.empty())
        line("overlay", "malformed: " + m.overlay_malformed);
      if (m.valid)
        line("commit",
             m.complete ? "complete" : "did not complete: " + m.incomplete);
    }
    out << f.choice() << '\n';
    for (const Problem& p : f.meta_problems())
      out << problem_line(p) << '\n';
    return report_code();
  }

  // --- streams --------------------------------------------------------------
  static void descriptor_json(Json& j, const Stream& s) {
    j.field("name", s.name)
        .field("catalog_page", s.leaf)
        .field("overlay", s.overlaid)
        .field("descriptor_page", s.desc_page);
    if (s.overlaid)
      j.field("overlay_offset", s.overlay_offset);
    descriptor_fields_json(j, s.d);
  }

  // Every field of descriptor d, and the record count.
  static void descriptor_fields_json(Json& j, const Descriptor& d) {
    j.field("id", d.id)
        .field("records",
               d.next_key >= d.first_key ? d.next_key - d.first_key : 0)
        .field("first_key", d.first_key)
        .field("next_key", d.next_key)
        .field("payload_bytes", d.bytes)
        .field("data_pages", d.data_pages)
        .field("head", d.head)
        .field("tail", d.tail)
        .field("tail_offset", d.tail_offset)
        .field("index_root", d.index_root)
        .field("first_ts", text::format_iso8601(d.first_ts))
        .field("last_ts", text::format_iso8601(d.last_ts))
        .field("created", text::format_iso8601(d.created))
        .field("max_age_us", d.max_age)
        .field("max_bytes", d.max_bytes)
        .field("max_records", d.max_records)
        .field("flags", d.flags)
        .field("has_ttl", (d.flags & format::desc::kHasTtl) != 0);
  }

  // The retention lines of stream NAME and analyze, "none" for no limit.
  static std::vector<std::pair<std::string, std::string>>
  retention_lines(const Descriptor& d) {
    return {
        {"retention max age", d.max_age ? num(d.max_age) + " us (" +
                                              text::describe_duration(d.max_age) + ")"
                                        : "none"},
        {"retention max bytes",
         d.max_bytes
             ? num(d.max_bytes) + " (" + text::describe_bytes(d.max_bytes) + ")"
             : "none"},
        {"retention max records", d.max_records ? num(d.max_records) : "none"}};
  }

  int streams_cmd() {
    if (!f.has_snapshot())
      return need_snapshot();
    std::vector<Problem> problems;
    std::vector<Stream> ss = streams(f, &problems);
    if (json) {
      Json j(out);
      j.begin_object().key("streams").begin_array();
      for (const Stream& s : ss) {
        j.begin_object();
        descriptor_json(j, s);
        j.end_object();
      }
      j.end_array();
      problems_json(j, problems);
      j.end_object().finish();
      return report_problems(problems, err);
    }
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"name", "id", "records", "first", "next", "bytes", "pages",
                    "head", "tail", "tail off", "index", "descriptor"});
    std::size_t overlaid = 0;
    for (const Stream& s : ss) {
      const Descriptor& d = s.d;
      overlaid += s.overlaid;
      rows.push_back(
          {s.name, num(d.id),
           num(d.next_key >= d.first_key ? d.next_key - d.first_key : 0),
           num(d.first_key), num(d.next_key), num(d.bytes), num(d.data_pages),
           num(d.head), num(d.tail), num(d.tail_offset), num(d.index_root),
           s.overlaid ? "meta " + num(s.desc_page) + " overlay"
                      : "page " + num(s.leaf)});
    }
    print_table(rows);
    out << ss.size() << (ss.size() == 1 ? " stream" : " streams");
    if (overlaid)
      out << ", " << overlaid
          << (overlaid == 1 ? " descriptor" : " descriptors")
          << " from the overlay of meta page " << f.current();
    out << '\n';
    return report_problems(problems, err);
  }

  void print_table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> w(rows[0].size(), 0);
    for (const auto& r : rows)
      for (std::size_t i = 0; i < r.size(); ++i)
        w[i] = std::max(w[i], r[i].size());
    for (const auto& r : rows) {
      std::string line;
      for (std::size_t i = 0; i < r.size(); ++i) {
        if (i > 0)
          line += "  ";
        line += i == 0 ? pad(r[i], w[i]) : rpad(r[i], w[i]);
      }
      while (!line.empty() && line.back() == ' ')
        line.pop_back();
      out << line << '\n';
    }
  }

  // Finds stream `name`; prints the error and returns nullopt if missing.
  std::optional<Stream> find_stream(std::string_view name,
                                    std::vector<Problem>& problems) {
    for (Stream& s : streams(f, &problems))
      if (s.name == name)
        return std::move(s);
    err << "klite-inspect: no stream \"" << name << "\" in " << f.path()
        << '\n';
    return std::nullopt;
  }

  int stream_cmd(std::string_view name) {
    if (!f.has_snapshot())
      return need_snapshot();
    std::vector<Problem> problems;
    auto s = find_stream(name, problems);
    if (!s)
      return report_problems(problems, err) == kExitOk ? kExitCannot
                                                       : kExitProblems;
    if (json) {
      Json j(out);
      j.begin_object();
      descriptor_json(j, *s);
      j.field("descriptor_bytes", static_cast<std::uint64_t>(s->value_size));
      j.end_object().finish();
      return report_problems(problems, err);
    }
    const Descriptor& d = s->d;
    auto line = [&](const std::string& k, const std::string& v) {
      out << pad(k, 22) << v << '\n';
    };
    auto time = [](std::uint64_t t) {
      return num(t) + " (" + text::format_iso8601(t) + ")";
    };
    line("stream", "\"" + s->name + "\"");
    line("catalog page", num(s->leaf));
    line("descriptor bytes", num(s->value_size));
    line("descriptor in", descriptor_place(*s));
    line("id", num(d.id));
    line("records",
         num(d.next_key >= d.first_key ? d.next_key - d.first_key : 0));
    line("first key", num(d.first_key));
    line("next key", num(d.next_key));
    line("payload bytes", num(d.bytes));
    line("data pages", num(d.data_pages));
    line("head page", num(d.head));
    line("tail page", num(d.tail));
    line("tail offset", num(d.tail_offset));
    line("key index root", num(d.index_root));
    line("first timestamp", time(d.first_ts));
    line("last timestamp", time(d.last_ts));
    line("created", time(d.created));
    for (const auto& [k, v] : retention_lines(d))
      line(k, v);
    line("flags", num(d.flags) + " (" + describe_stream_flags(d.flags) + ")");
    return report_problems(problems, err);
  }

  // --- page -----------------------------------------------------------------
  static std::string hexdump_line(const std::uint8_t* p, std::size_t off,
                                  std::size_t n) {
    char b[32];
    std::snprintf(b, sizeof b, "%08zx ", off);
    std::string line = b;
    for (std::size_t i = 0; i < 16; ++i) {
      if (i == 8)
        line += ' ';
      if (i < n) {
        std::snprintf(b, sizeof b, " %02x", p[i]);
        line += b;
      } else {
        line += "   ";
      }
    }
    line += "  |";
    for (std::size_t i = 0; i < n; ++i)
      line += p[i] >= 0x20 && p[i] < 0x7f ? static_cast<char>(p[i]) : '.';
    return line + "|";
  }

  int page_cmd(std::string_view arg) {
    std::uint32_t pgno;
    if (!parse_u32(arg, pgno)) {
      err << "klite-inspect: bad page number \"" << arg << "\"\n";
      return kExitCannot;
    }
    PageDump d;
    try {
      d = dump_page(f, pgno);
    } catch (const Error& e) {
      err << "klite-inspect: " << e.what() << '\n';
      return kExitCannot;
    }
    if (json) {
      Json j(out);
      j.begin_object()
          .field("page", d.pgno)
          .field("kind", d.kind)
          .field("beyond_page_count", d.beyond_page_count);
      auto fields = [&](const std::vector<Field>& fs) {
        j.begin_array();
        for (const Field& x : fs) {
          j.begin_object()
              .field("offset", x.offset)
              .field("size", x.size)
              .field("name", x.name);
          j.key("value");
          if (x.number)
            j.raw_number(x.value);
          else
            j.str(x.value);
          j.end_object();
        }
        j.end_array();
      };
      j.key("header");
      fields(d.header);
      j.key("items").begin_array();
      for (const Item& it : d.items) {
        j.begin_object().field("title", it.title).key("fields");
        fields(it.fields);
        j.end_object();
      }
      j.end_array();
      j.key("notes").begin_array();
      for (const std::string& n : d.notes)
        j.str(n);
      j.end_array();
      std::string hex;
      static constexpr char digits[] = "0123456789abcdef";
      for (std::uint8_t b : d.bytes) {
        hex += digits[b >> 4];
        hex += digits[b & 15];
      }
      j.field("hex", hex).end_object().finish();
      return kExitOk;
    }
    out << "page " << d.pgno << ": " << d.kind << " (file offset "
        << std::uint64_t{d.pgno} * f.page_size() << ")\n";
    auto fields = [&](const std::vector<Field>& fs) {
      for (const Field& x : fs) {
        if (x.size)
          out << "  " << rpad(num(x.offset), 5) << " " << rpad(num(x.size), 4)
              << "  ";
        else
          out << "  " << pad("", 12);
        out << pad(x.name, 24) << x.value << '\n';
      }
    };
    out << "  offset size  field\n";
    fields(d.header);
    for (const Item& it : d.items) {
      out << it.title << ":\n";
      fields(it.fields);
    }
    for (const std::string& n : d.notes)
      out << "note: " << n << '\n';
    out << "hex:\n";
    const std::uint8_t* p = d.bytes.data();
    bool starred = false;
    for (std::size_t off = 0; off < d.bytes.size(); off += 16) {
      std::size_t n = std::min<std::size_t>(16, d.bytes.size() - off);
      if (off > 0 && off + 16 < d.bytes.size() && n == 16 &&
          std::equal(p + off, p + off + 16, p + off - 16)) {
        if (!starred)
          out << "*\n";
        starred = true;
        continue;
      }
      starred = false;
      out << hexdump_line(p + off, off, n) << '\n';
    }
    return kExitOk;
  }

  // --- btree ----------------------------------------------------------------
  int btree_cmd(std::string_view arg) {
    if (!f.has_snapshot())
      return need_snapshot();
    std::uint32_t root = 0;
    KeyKind kind = KeyKind::Index;
    std::string title;
    std::vector<Problem> problems;
    if (arg == "catalog") {
      root = f.catalog_root();
      kind = KeyKind::Catalog;
      title = "the catalog";
    } else if (parse_u32(arg, root)) {
      title = "the tree rooted at page " + num(root);
      kind = KeyKind::Catalog;
      if (root >= 2 && root < f.file_pages()) {
        PageDump d = dump_page(f, root); // guess the kind from its cells
        if (d.kind.find("key index") != std::string::npos)
          kind = KeyKind::Index;
      }
    } else {
      if (arg.substr(0, 6) == "index:")
        arg.remove_prefix(6);
      auto s = find_stream(arg, problems);
      if (!s)
        return report_problems(problems, err) == kExitOk ? kExitCannot
                                                         : kExitProblems;
      root = s->d.index_root;
      title = "the key index of stream \"" + s->name + "\"";
    }
    TreeView v = tree(f, root, kind);
    problems.insert(problems.end(), v.problems.begin(), v.problems.end());
    std::uint64_t pages = 0;
    for (const auto& level : v.levels)
      pages += level.size();
    const double room = f.page_size() ? f.page_size() : 1;
    if (json) {
      Json j(out);
      j.begin_object()
          .field("tree", title)
          .field("root", root)
          .field("depth", static_cast<std::uint64_t>(v.levels.size()))
          .field("pages", pages)
          .field("entries", v.entries)
          .key("levels")
          .begin_array();
      for (const auto& level : v.levels) {
        j.begin_array();
        for (const TreeNode& n : level) {
          j.begin_object()
              .field("page", n.pgno)
              .field("type", n.leaf ? "leaf" : "branch")
              .field("cells", n.count)
              .field("used_bytes", n.used_bytes)
              .key("fill")
              .real(n.used_bytes / room)
              .field("txn_id", n.txn_id);
          auto opt = [&](const char* k, const std::optional<std::string>& s) {
            j.key(k);
            if (s)
              j.str(describe_key(*s, kind));
            else
              j.null();
          };
          opt("lower_fence", n.lo);
          opt("upper_fence", n.hi);
          opt("first_key", n.first);
          opt("last_key", n.last);
          if (!n.leaf) {
            j.key("children").begin_array();
            for (std::uint32_t c : n.children)
              j.number(c);
            j.end_array();
          }
          j.end_object();
        }
        j.end_array();
      }
      j.end_array();
      problems_json(j, problems);
      j.end_object().finish();
      return report_problems(problems, err);
    }
    out << title << ": root page " << root << ", " << v.levels.size()
        << (v.levels.size() == 1 ? " level, " : " levels, ") << pages
        << (pages == 1 ? " page, " : " pages, ") << v.entries << " entries\n";
    for (std::size_t l = 0; l < v.levels.size(); ++l) {
      const auto& level = v.levels[l];
      std::uint64_t used = 0;
      for (const TreeNode& n : level)
        used += n.used_bytes;
      out << "level " << l << ": " << level.size()
          << (level.size() == 1 ? " page" : " pages") << ", fill "
          << pct(static_cast<double>(used), room * level.size()) << '\n';
      for (const TreeNode& n : level) {
        auto k = [&](const std::optional<std::string>& s, const char* none) {
          return s ? describe_key(*s, kind) : std::string(none);
        };
        out << "  page " << n.pgno << "  " << (n.leaf ? "leaf  " : "branch")
            << "  " << n.count << (n.count == 1 ? " cell " : " cells")
            << "  fill " << pct(n.used_bytes, room) << "  keys "
            << k(n.first, "(none)") << ".." << k(n.last, "(none)")
            << "  fences [" << k(n.lo, "-inf") << ", " << k(n.hi, "+inf")
            << ")";
        if (!n.leaf) {
          out << "  children";
          for (std::size_t i = 0; i < n.children.size() && i < 16; ++i)
            out << ' ' << n.children[i];
          if (n.children.size() > 16)
            out << " ... (" << n.children.size() << ")";
        }
        out << '\n';
      }
    }
    return report_problems(problems, err);
  }

  // --- freelist -------------------------------------------------------------
  static std::string ranges(const std::vector<std::uint32_t>& pages) {
    std::vector<std::uint32_t> v = pages;
    std::sort(v.begin(), v.end());
    std::string s;
    for (std::size_t i = 0; i < v.size();) {
      std::size_t j = i;
      while (j + 1 < v.size() && v[j + 1] == v[j] + 1)
        ++j;
      if (!s.empty())
        s += ", ";
      s += num(v[i]);
      if (j > i)
        s += "-" + num(v[j]);
      i = j + 1;
    }
    return s;
  }

  int freelist_cmd() {
    if (!f.has_snapshot())
      return need_snapshot();
    FreeListView v = freelist(f);
    if (json) {
      Json j(out);
      j.begin_object()
          .field("root", f.free_root())
          .key("directory_pages")
          .begin_array();
      for (std::uint32_t p : v.dir_pages)
        j.number(p);
      j.end_array().key("entries").begin_array();
      for (const FreeEntry& e : v.entries) {
        j.begin_object()
            .field("directory_page", e.dir_page)
            .field("tag", e.tag)
            .field("chunk", e.chunk)
            .field("count", e.count)
            .field("used", e.used)
            .key("free_pages")
            .begin_array();
        for (std::uint32_t p : e.pages)
          j.number(p);
        j.end_array().end_object();
      }
      j.end_array()
          .field("free_pages", v.free_pages)
          .field("reusable_pages", v.reusable_pages);
      problems_json(j, v.problems);
      j.end_object().finish();
      return report_problems(v.problems, err);
    }
    out << "free list: root page " << f.free_root() << ", "
        << v.dir_pages.size() << " directory page"
        << (v.dir_pages.size() == 1 ? "" : "s");
    if (!v.dir_pages.empty())
      out << " (" << ranges(v.dir_pages) << ")";
    out << ", " << v.entries.size()
        << (v.entries.size() == 1 ? " entry, " : " entries, ") << v.free_pages
        << " free pages, " << v.reusable_pages
        << " reusable by the next commit (if no reader holds an older "
           "snapshot)\n";
    for (std::size_t i = 0; i < v.entries.size(); ++i) {
      const FreeEntry& e = v.entries[i];
      out << "entry " << i << " (directory page " << e.dir_page
          << "): freed by txn " << e.tag << ", chunk page " << e.chunk << ", "
          << e.count << " pages, " << e.used
          << " reused; free: " << (e.pages.empty() ? "none" : ranges(e.pages))
          << '\n';
    }
    return report_problems(v.problems, err);
  }

  // --- analyze --------------------------------------------------------------
  int analyze_cmd(const Report& r) {
    if (!f.has_snapshot())
      return need_snapshot();
    const double ps = f.page_size();
    const double in_pages = ps * f.page_count();
    const std::uint64_t preallocated =
        f.file_pages() > r.page_count ? f.file_pages() - r.page_count : 0;
    // Room a writer fills before the file grows: free and preallocated pages.
    const std::uint64_t free_bytes =
        (r.free_pages + preallocated) * std::uint64_t{r.page_size};
    if (json) {
      Json j(out);
      j.begin_object()
          .field("file_size", r.file_size)
          .field("page_size", r.page_size)
          .field("page_count", r.page_count)
          .field("preallocated_pages", preallocated)
          .field("payload_bytes", r.payload_bytes)
          .field("records", r.records)
          .key("disk_bytes_per_payload_byte");
      if (r.payload_bytes)
        j.real(static_cast<double>(r.file_size) / r.payload_bytes);
      else
        j.null();
      j.key("page_bytes_per_payload_byte");
      if (r.payload_bytes)
        j.real(in_pages / r.payload_bytes);
      else
        j.null();
      j.key("catalog")
          .begin_object()
          .field("pages", r.catalog.pages)
          .field("depth", r.catalog.depth)
          .field("entries", r.catalog.entries)
          .end_object();
      j.key("free_list")
          .begin_object()
          .field("directory_pages", r.freelist_dir_pages)
          .field("chunk_pages", r.freelist_chunk_pages)
          .field("free_pages", r.free_pages)
          .field("reusable_pages", r.reusable_pages)
          .end_object();
      j.field("free_bytes", free_bytes)
          .key("free_fraction")
          .real(r.file_size ? static_cast<double>(free_bytes) / r.file_size
                            : 0);
      j.field("unreachable_pages", r.unreachable_pages);
      j.key("streams").begin_array();
      for (const StreamStats& s : r.streams) {
        const double data = ps * s.data_pages;
        j.begin_object()
            .field("name", s.name)
            .field("id", s.descriptor.id)
            .field("overlay", s.overlaid)
            .field("records", s.records)
            .field("payload_bytes", s.payload_bytes)
            .field("header_bytes", s.header_bytes)
            .field("record_header_bytes", s.record_header_bytes)
            .field("data_pages", s.data_pages)
            .field("data_used_bytes", s.data_used_bytes)
            .field("overhead_bytes",
                   static_cast<std::uint64_t>(data) -
                       std::min<std::uint64_t>(static_cast<std::uint64_t>(data),
                                               s.payload_bytes))
            .key("fill")
            .real(s.data_pages ? s.data_used_bytes / (s.data_pages * (ps - 32))
                               : 0)
            .key("index")
            .begin_object()
            .field("pages", s.index.pages)
            .field("entries", s.index.entries)
            .field("depth", s.index.depth)
            .field("used_bytes", s.index.used_bytes)
            .end_object()
            .field("first_key", s.descriptor.first_key)
            .field("next_key", s.descriptor.next_key)
            .field("expired_records", s.expired_records)
            .field("expired_bytes", s.expired_bytes)
            .field("expired_pages", s.expired_pages)
            .field("has_ttl", (s.descriptor.flags & format::desc::kHasTtl) != 0)
            .field("ttl_records", s.ttl_records)
            .field("ttl_payload_bytes", s.ttl_payload_bytes);
        for (auto [k, t] : {std::pair{"ttl_first_expiry", s.ttl_first_expiry},
                            std::pair{"ttl_last_expiry", s.ttl_last_expiry}}) {
          j.key(k);
          if (t)
            j.str(text::format_iso8601(t));
          else
            j.null();
        }
        j.key("retention")
            .begin_object()
            .field("max_age_us", s.descriptor.max_age)
            .field("max_bytes", s.descriptor.max_bytes)
            .field("max_records", s.descriptor.max_records)
            .end_object()
            .end_object();
      }
      j.end_array();
      j.field("clean", r.clean()).field("errors", r.errors);
      j.end_object().finish();
      return r.clean() ? kExitOk : kExitProblems;
    }
    auto line = [&](const std::string& k, const std::string& v) {
      std::string dots = k + " ";
      if (dots.size() < 36)
        dots.append(36 - dots.size(), '.');
      out << dots << ' ' << v << '\n';
    };
    out << "*** file " << std::string(50, '*') << '\n';
    line("file size", num(r.file_size) + " bytes");
    line("page size", num(r.page_size));
    line("page count", num(r.page_count) + " (" +
                           num(static_cast<std::uint64_t>(in_pages)) +
                           " bytes)");
    if (preallocated)
      line("preallocated pages", num(preallocated) + " (past the page count)");
    line("streams", num(r.streams.size()));
    line("records", num(r.records));
    line("payload bytes", num(r.payload_bytes));
    line("file bytes per payload byte",
         ratio(static_cast<double>(r.file_size),
               static_cast<double>(r.payload_bytes)));
    line("page bytes per payload byte",
         ratio(in_pages, static_cast<double>(r.payload_bytes)));
    line("meta pages", "2");
    line("catalog pages", num(r.catalog.pages) + " (depth " +
                              num(r.catalog.depth) + ", fill " +
                              pct(static_cast<double>(r.catalog.used_bytes),
                                  ps * r.catalog.pages) +
                              ")");
    std::uint64_t data_pages = 0, index_pages = 0;
    for (const StreamStats& s : r.streams) {
      data_pages += s.data_pages;
      index_pages += s.index.pages;
    }
    line("data pages",
         num(data_pages) + " (" + pct(data_pages, r.page_count) + ")");
    line("key index pages",
         num(index_pages) + " (" + pct(index_pages, r.page_count) + ")");
    line("free-list pages", num(r.freelist_dir_pages + r.freelist_chunk_pages) +
                                " (" + num(r.freelist_dir_pages) +
                                " directory, " + num(r.freelist_chunk_pages) +
                                " chunk)");
    line("free pages",
         num(r.free_pages) + " (" + pct(r.free_pages, r.page_count) + ")");
    line("reusable free pages",
         num(r.reusable_pages) +
             " (by the next commit, if no reader holds an older snapshot)");
    line("free space in the file", num(free_bytes) + " bytes (" +
                                       pct(static_cast<double>(free_bytes),
                                           static_cast<double>(r.file_size)) +
                                       "): free and preallocated pages");
    if (r.unreachable_pages)
      line("unreachable pages", num(r.unreachable_pages));
    for (const StreamStats& s : r.streams) {
      out << "\n*** stream \"" << s.name << "\" (id " << s.descriptor.id << ") "
          << std::string(30, '*') << '\n';
      const double data = ps * s.data_pages;
      line("descriptor in", s.overlaid
                                ? "the overlay of meta page " + num(f.current())
                                : "the catalog tree");
      line("records", num(s.records));
      line("first live key", num(s.descriptor.first_key));
      line("expired records on disk",
           num(s.expired_records) + " (" + num(s.expired_bytes) + " bytes)");
      line("pages with no live record", num(s.expired_pages));
      line("records with a TTL", num(s.ttl_records) + " (" +
                                     num(s.ttl_payload_bytes) +
                                     " payload bytes)");
      if (s.ttl_records)
        line("TTLs run out", text::format_iso8601(s.ttl_first_expiry) + " .. " +
                                 text::format_iso8601(s.ttl_last_expiry));
      for (const auto& [k, v] : retention_lines(s.descriptor))
        line(k, v);
      line("payload bytes", num(s.payload_bytes));
      line("average payload",
           s.records ? ratio(s.payload_bytes, s.records) : "n/a");
      line("header block bytes", num(s.header_bytes));
      line("record header bytes", num(s.record_header_bytes));
      line("data pages", num(s.data_pages) + " (" +
                             num(static_cast<std::uint64_t>(data)) + " bytes)");
      const std::uint64_t overhead =
          static_cast<std::uint64_t>(data) -
          std::min<std::uint64_t>(static_cast<std::uint64_t>(data),
                                  s.payload_bytes);
      line("overhead bytes",
           num(overhead) + " (" + pct(overhead, data) + "): page headers " +
               num(32 * s.data_pages) + ", record headers " +
               num(s.record_header_bytes) + ", header blocks " +
               num(s.header_bytes) + ", expired " + num(s.expired_bytes) +
               ", unused " +
               num(static_cast<std::uint64_t>(data) -
                   std::min<std::uint64_t>(static_cast<std::uint64_t>(data),
                                           32 * s.data_pages +
                                               s.data_used_bytes)));
      line("fill factor", pct(s.data_used_bytes, s.data_pages * (ps - 32)));
      line("key index pages",
           num(s.index.pages) + " (depth " + num(s.index.depth) + ", fill " +
               pct(s.index.used_bytes, ps * s.index.pages) + ")");
      line("key index entries", num(s.index.entries));
      line("bytes per payload byte",
           ratio(data + ps * s.index.pages, s.payload_bytes));
    }
    if (!r.clean())
      err << "klite-inspect: " << r.errors
          << " problems found; the figures cover what could be read (run "
             "check)\n";
    return r.clean() ? kExitOk : kExitProblems;
  }

  // --- check ----------------------------------------------------------------
  int check_cmd(const Report& r) {
    if (json) {
      Json j(out);
      j.begin_object()
          .field("clean", r.clean())
          .field("errors", r.errors)
          .field("warnings", r.warnings)
          .field("problems_not_listed", r.problems_dropped)
          .field("pages", r.page_count)
          .field("streams", static_cast<std::uint64_t>(r.streams.size()))
          .field("records", r.records);
      problems_json(j, r.problems);
      j.end_object().finish();
      return r.clean() ? kExitOk : kExitProblems;
    }
    for (const Problem& p : r.problems)
      out << problem_line(p) << '\n';
    if (r.problems_dropped)
      out << "... and " << r.problems_dropped << " more problems\n";
    if (r.clean())
      out << "ok: " << r.page_count << " pages, " << r.streams.size()
          << (r.streams.size() == 1 ? " stream, " : " streams, ") << r.records
          << " records checked"
          << (r.warnings ? ", " + num(r.warnings) + " warnings" : "") << '\n';
    else
      out << r.errors << (r.errors == 1 ? " error" : " errors")
          << (r.warnings ? ", " + num(r.warnings) + " warnings" : "") << '\n';
    return r.clean() ? kExitOk : kExitProblems;
  }

  // --- dump -----------------------------------------------------------------
  int dump_cmd(std::string_view name) {
    if (!f.has_snapshot())
      return need_snapshot();
    std::vector<Problem> problems;
    std::string line;
    auto put_string = [&](std::string_view key, std::string_view v) {
      line += ",\"";
      line += key;
      line += "\":";
      line += text::json_string(v);
    };
    try {
      problems = dump(f, name, [&](const DumpRecord& r) {
        line = "{\"key\":" + num(r.key) + ",\"ts\":\"" +
               text::format_iso8601(r.timestamp) + "\"";
        if (r.expires)
          line += ",\"expires\":\"" + text::format_iso8601(r.expires) + "\"";
        if (text::is_valid_utf8(r.value)) {
          put_string("value", r.value);
        } else {
          put_string("value", text::base64(r.value));
          line += ",\"encoding\":\"base64\"";
        }
        if (!r.headers.empty()) {
          line += ",\"headers\":[";
          bool first = true;
          for (auto [hn, hv] : r.headers) {
            line += first ? "{" : ",{";
            first = false;
            const bool utf8 =
                text::is_valid_utf8(hn) && text::is_valid_utf8(hv);
            line +=
                "\"name\":" + text::json_string(utf8 ? hn : text::base64(hn));
            line +=
                ",\"value\":" + text::json_string(utf8 ? hv : text::base64(hv));
            if (!utf8)
              line += ",\"encoding\":\"base64\"";
            line += "}";
          }
          line += "]";
        }
        line += "}\n";
        out << line;
      });
    } catch (const Error& e) {
      err << "klite-inspect: " << e.what() << '\n';
      return e.code() == ErrorCode::NoSuchStream ? kExitCannot : kExitProblems;
    }
    return report_problems(problems, err);
  }
};

} // namespace

int run_cli(const std::vector<std::string>& args, std::ostream& out,
            std::ostream& err) {
  bool json = false;
  std::vector<std::string> pos;
  for (const std::string& a : args) {
    if (a == "--json") {
      json = true;
    } else if (a == "-h" || a == "--help") {
      out << kUsage;
      return kExitOk;
    } else if (a.size() > 1 && a[0] == '-' && a[1] == '-') {
      err << "klite-inspect: unknown option " << a << "\n" << kUsage;
      return kExitCannot;
    } else {
      pos.push_back(a);
    }
  }
  if (pos.size() < 2) {
    err << kUsage;
    return kExitCannot;
  }
  const std::string& cmd = pos[1];
  struct Command {
    const char* name;
    std::size_t args;
  };
  static constexpr Command commands[] = {
      {"header", 0}, {"meta", 0},  {"streams", 0},  {"stream", 1},
      {"page", 1},   {"btree", 1}, {"freelist", 0}, {"analyze", 0},
      {"check", 0},  {"dump", 1}};
  const Command* c = nullptr;
  for (const Command& x : commands)
    if (cmd == x.name)
      c = &x;
  if (!c) {
    err << "klite-inspect: unknown command \"" << cmd << "\"\n" << kUsage;
    return kExitCannot;
  }
  if (pos.size() != 2 + c->args) {
    err << "klite-inspect: " << cmd << " takes "
        << (c->args ? "one argument" : "no arguments") << "\n";
    return kExitCannot;
  }
  try {
    if (cmd == "check" || cmd == "analyze") {
      // A writer that commits fast may reuse pages of the snapshot during
      // the check (Report::snapshot_moved): then check a newer snapshot.
      for (int attempt = 1;; ++attempt) {
        File f(pos[0]);
        Report r = check(f);
        if (r.clean() || !r.snapshot_moved || attempt == kCheckAttempts) {
          Cli cli{f, json, out, err};
          return cmd == "check" ? cli.check_cmd(r) : cli.analyze_cmd(r);
        }
      }
    }
    File f(pos[0]);
    Cli cli{f, json, out, err};
    if (cmd == "header")
      return cli.header();
    if (cmd == "meta")
      return cli.meta();
    if (cmd == "streams")
      return cli.streams_cmd();
    if (cmd == "stream")
      return cli.stream_cmd(pos[2]);
    if (cmd == "page")
      return cli.page_cmd(pos[2]);
    if (cmd == "btree")
      return cli.btree_cmd(pos[2]);
    if (cmd == "freelist")
      return cli.freelist_cmd();
    return cli.dump_cmd(pos[2]);
  } catch (const Error& e) {
    err << "klite-inspect: " << e.what() << '\n';
    return kExitCannot;
  } catch (const std::exception& e) {
    err << "klite-inspect: " << pos[0] << ": " << e.what() << '\n';
    return kExitCannot;
  }
}

} // namespace klite::inspect
