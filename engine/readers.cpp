#include "engine/readers.h"

#include "engine/errors.h"

#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fcntl.h>

#include <unistd.h>

namespace klite {

namespace bip = boost::interprocess;

namespace {

constexpr std::uint64_t kMagic = 0x316b6c6574696c6bULL; // "klitelk1"
constexpr std::size_t kSlotsAt = 64, kSlotSize = 32;
constexpr std::uint64_t kPidBits = 22; // Linux pid_max is at most 2^22
constexpr std::uint64_t kPidMask = (std::uint64_t{1} << kPidBits) - 1;

static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free,
              "the reader table needs lock-free 64-bit atomics");

std::atomic_ref<std::uint64_t> word(std::uint8_t* base, std::size_t off) {
  return std::atomic_ref<std::uint64_t>(
      *reinterpret_cast<std::uint64_t*>(base + off));
}
std::size_t owner_at(std::size_t slot) { return kSlotsAt + slot * kSlotSize; }
std::size_t txn_at(std::size_t slot) { return owner_at(slot) + 8; }

// The start time of process `pid` (field 22 of /proc/PID/stat, in clock
// ticks since boot), or 0 if there is no such process (it may end while
// this reads: ESRCH) or no /proc.
std::uint64_t start_time(long pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  char buf[1024];
  ssize_t n;
  do {
    n = ::read(fd, buf, sizeof buf - 1);
  } while (n < 0 && errno == EINTR);
  ::close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  // Field 2 is the command name in parentheses, which may hold anything:
  // count fields from the last ')'.
  const char* p = std::strrchr(buf, ')');
  if (!p)
    return 0;
  for (int field = 2; field < 22 && *p; ++p)
    field += *p == ' ';
  return std::strtoull(p, nullptr, 10);
}

std::uint64_t own_token() {
  const long pid = ::getpid();
  return (start_time(pid) << kPidBits) | (static_cast<std::uint64_t>(pid) & kPidMask);
}

// Whether the process that took `owner` still runs. Without /proc (no
// start time for ourselves either) a reused pid counts as alive: the cost
// is pages kept from reuse, never pages reused too early.
bool alive(std::uint64_t owner) {
  const long pid = static_cast<long>(owner & kPidMask);
  if (const std::uint64_t t = start_time(pid))
    return t == owner >> kPidBits;
  if (owner >> kPidBits != 0) // we have /proc, and it has no such process
    return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

} // namespace

ReaderTable::ReaderTable(os::File& lock_file) : owner_(own_token()) {
  const std::string& path = lock_file.path();
  if (lock_file.size() < kSize)
    lock_file.allocate(kSize);
  try {
    file_ = std::make_unique<bip::file_mapping>(path.c_str(), bip::read_write);
    region_ = std::make_unique<bip::mapped_region>(*file_, bip::read_write, 0, kSize);
  } catch (const bip::interprocess_exception& e) {
    throw Error(ErrorCode::IO, path + ": map: " + e.what());
  }
  base_ = static_cast<std::uint8_t*>(region_->get_address());
  std::uint64_t magic = 0;
  if (!word(base_, 0).compare_exchange_strong(magic, kMagic) && magic != kMagic)
    throw Error(ErrorCode::IO, path + ": not a klite lock file");
  // A free slot, else one whose owner died.
  for (int pass = 0; pass < 2; ++pass)
    for (std::size_t s = 0; s < kSlots; ++s) {
      std::uint64_t owner = word(base_, owner_at(s)).load();
      if ((pass == 0 && owner != 0) || (pass == 1 && (owner == 0 || alive(owner))))
        continue;
      if (word(base_, owner_at(s)).compare_exchange_strong(owner, owner_)) {
        word(base_, txn_at(s)).store(0);
        slot_ = s;
        return;
      }
    }
  throw Error(ErrorCode::Busy, path + ": all " + std::to_string(kSlots) +
                                   " reader slots are taken by open files");
}

ReaderTable::~ReaderTable() {
  word(base_, txn_at(slot_)).store(0);
  word(base_, owner_at(slot_)).store(0);
}

void ReaderTable::publish(std::uint64_t txn) noexcept {
  word(base_, txn_at(slot_)).store(txn);
}

bool ReaderTable::live(std::size_t s) const {
  std::uint64_t owner = word(base_, owner_at(s)).load();
  if (owner == 0)
    return false;
  if (alive(owner))
    return true;
  // An open that died: take its slot for a moment (so that no one claims
  // it while its txn is reset), then free it.
  if (word(base_, owner_at(s)).compare_exchange_strong(owner, owner_)) {
    word(base_, txn_at(s)).store(0);
    word(base_, owner_at(s)).store(0);
  }
  return false;
}

std::uint64_t ReaderTable::oldest(std::uint64_t below) const {
  std::uint64_t oldest = below;
  for (std::size_t s = 0; s < kSlots; ++s) {
    if (s == slot_)
      continue;
    const std::uint64_t txn = word(base_, txn_at(s)).load();
    if (txn != 0 && txn < oldest && live(s))
      oldest = txn;
  }
  return oldest;
}

std::size_t ReaderTable::others() const {
  std::size_t n = 0;
  for (std::size_t s = 0; s < kSlots; ++s)
    n += s != slot_ && live(s);
  return n;
}

} // namespace klite
