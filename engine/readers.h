// The shared reader table (issue 8; docs/ARCHITECTURE.md section 6): the
// companion file FILE-lock, mapped by every open of the file in every
// process, holds one slot per open with the oldest snapshot its read
// transactions use, so that a writer anywhere reuses no page one of them
// can still reach (pager.h, invariant 3).
//
// Layout (4096 bytes, little-endian, all zero when new):
//   0   8  magic "klitelk1", written by the first open
//   64 32n slots, n = 126:
//        0 8 owner: 0 free, else (process start time << 22) | pid
//        8 8 snapshot txn id this open's oldest reader uses (0: none)
//       16 16 reserved, 0
// Fields are read and written with atomic operations on the shared
// mapping. A slot whose owner process is gone (its pid no longer runs, or
// runs a later process) is cleared by whoever finds it.
#pragma once

#include "engine/os.h"

#include <cstdint>
#include <memory>

namespace boost::interprocess {
class file_mapping;
class mapped_region;
} // namespace boost::interprocess

namespace klite {

class ReaderTable {
public:
  static constexpr std::size_t kSize = 4096;
  static constexpr std::size_t kSlots = (kSize - 64) / 32;

  // Maps `lock_file` (grown to kSize zero bytes if shorter) and claims a
  // slot. Throws Busy if live opens hold every slot, IO if the file cannot
  // be grown or mapped.
  explicit ReaderTable(os::File& lock_file);
  ~ReaderTable(); // frees the slot
  ReaderTable(const ReaderTable&) = delete;
  ReaderTable& operator=(const ReaderTable&) = delete;

  // Publishes `txn` (0: none) as the oldest snapshot this open reads.
  void publish(std::uint64_t txn) noexcept;
  // The oldest snapshot another live open publishes, if it is below
  // `below`; otherwise `below`. Clears the slots of dead processes it meets.
  std::uint64_t oldest(std::uint64_t below) const;
  // How many other live opens there are (each maps the file). Clears the
  // slots of dead processes it meets.
  std::size_t others() const;

private:
  // Whether slot s belongs to a live open; frees it if its process died.
  bool live(std::size_t s) const;
  std::unique_ptr<boost::interprocess::file_mapping> file_;
  std::unique_ptr<boost::interprocess::mapped_region> region_;
  std::uint8_t* base_ = nullptr;
  std::uint64_t owner_ = 0; // this process's token
  std::size_t slot_ = 0;
};

} // namespace klite
