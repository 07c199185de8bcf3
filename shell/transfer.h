// klite shell: the engines behind `.import FILE STREAM` and
// `.export STREAM FILE`, which move a stream to and from a text file with
// one record value per line.
//
// The line format, the same both ways:
//  - a file is split at each "\n" byte; the bytes between two of them are
//    one record's value, except that a "\r" right before a "\n" is dropped
//    (so CRLF files import as their text);
//  - a last line without "\n" is still a record, and a file ending in "\n"
//    has no empty record after it;
//  - an empty line is a record with an empty value; an empty file holds no
//    records;
//  - bytes are not interpreted: values need not be UTF-8.
// So every value without a "\n" that does not end in "\r" round-trips
// (export, then import into another stream, gives the same values). Export
// refuses the others rather than write a file import would read differently.
#pragma once

#include <klite/engine.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace klite::shell {

struct ImportOptions {
  // A batch is one write transaction, committed (one sync under
  // Durability::Full) once it holds batch_bytes of payload or batch_lines
  // lines, whichever comes first. 32 MiB makes the sync cost negligible
  // (a few dozen syncs per GiB) while the transaction's dirty pages, which
  // the engine holds in memory until commit, stay around 40 MiB; the line
  // cap bounds the per-record overhead when lines are short or empty.
  // REQUIRES: both > 0. Tests use small values to get many batches.
  std::size_t batch_bytes = std::size_t{32} << 20;
  std::size_t batch_lines = std::size_t{1} << 20;
  // When this turns true (a shell's Ctrl-C), the import stops before its
  // next read of the file with Error(Interrupted), like any other error.
  const std::atomic<bool>* stop = nullptr;
};

struct ImportResult {
  std::uint64_t records = 0;   // lines imported, one record each
  std::uint64_t first_key = 0; // key of line 1; 0 when records == 0
  std::uint64_t last_key = 0;  // key of the last line; 0 when records == 0
};

// Appends one record per line of the file at `path` (see the line format
// above) to `stream`, in order, in batches of `options`; the file is read
// through a buffer and never held whole. The stream is created if missing
// (and the engine's auto_create_streams is on), even when the file is
// empty. `path` may be a pipe or device, e.g. /dev/stdin.
//
// Errors (klite::Error):
//  - NotFound if there is no file at `path`, IO if it cannot be opened or
//    read; the message names the path and the OS's reason;
//  - Busy if a write transaction is already open on `engine` (an open
//    BEGIN, say);
//  - InvalidArgument for a bad stream name, NoSuchStream if the stream is
//    missing and auto-create is off;
//  - TooBig for a line whose value is over kMaxValueSize, naming the line
//    number and its size;
//  - Interrupted once options.stop is set, naming the lines read;
//  - any error of the engine's commit (IO, ...).
// Batches commit as they go, so an error leaves the batches before it
// committed and nothing of the batch it happened in. The message ends by
// saying exactly what that is, e.g.
//   data.txt: line 1234567: value of 70000000 bytes is over the 64 MiB
//   limit; lines 1..1048576 were imported into "s" as keys 1..1048576
// or "...; nothing was imported".
ImportResult import_lines(Engine& engine, const std::string& path,
                          std::string_view stream,
                          const ImportOptions& options = {});

// Writes the value of every record of `stream`, from first to last key, to
// the file at `path`, each followed by "\n"; returns the number of records.
// All of it comes from one snapshot (one read transaction), so concurrent
// appends are either wholly in the file or not at all.
//
// The file is written as a temporary file in the same directory, synced,
// then renamed over `path`, so on any error `path` is left as it was and no
// partial file remains. A symbolic link at `path` is followed (the file it
// names is replaced). If `path` exists and is not a regular file (a pipe, a
// terminal, /dev/stdout) the values are written to it directly, and an
// error can leave part of them written there.
//
// Errors (klite::Error):
//  - NoSuchStream if the stream does not exist (no file is written);
//  - InvalidArgument for a value holding a "\n" byte or ending in "\r",
//    which one value per line cannot carry; the message names the key,
//    e.g. record 17 of stream "s" holds a newline byte; ...;
//  - InvalidArgument if `path` is the engine's own file (replacing it
//    would lose the database);
//  - IO if the file cannot be created, written or renamed, naming `path`
//    and the OS's reason.
std::uint64_t export_lines(Engine& engine, std::string_view stream,
                           const std::string& path);

} // namespace klite::shell
