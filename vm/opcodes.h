// The VM's instruction set, declared once.
//
// KLITE_OPCODES is the only list of opcodes. The enum (vm::Opcode), the names
// EXPLAIN prints (vm::name), the default EXPLAIN comment (the synopsis, with
// P1/P2/P3 replaced by the operands) and docs/VM.md (vm::render_docs) are all
// generated from it, so the documentation cannot drift from the code. Each
// entry follows SQLite's vdbe.c template:
//
//   X(Name, "P1 P2 P3 P4", jumps, "synopsis", "paragraph", "see also")
//
// `jumps` says that P2 is a jump target (the code generator resolves labels
// there). Registers are r[1], r[2], ... and hold a null, an unsigned 64-bit
// integer or bytes (a view of the program's literal or of a bound value).
// A slot (cursor[N]) holds an open cursor or a stream listing.
//
// The interpreter's cases are in vm/vm.cpp, in the same order as here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// clang-format off
#define KLITE_OPCODES(X)                                                      \
  X(Halt, "", false,                                                          \
    "end of program",                                                         \
    "Ends the program: the statement is done, and step() returns false now "  \
    "and until reset(). Every cursor is closed, and whatever the statement "  \
    "still holds of its own transaction is let go (a read is released; a "    \
    "write that no Commit committed is rolled back). The interpreter does "   \
    "the same when an error or reset() stops the program early.",             \
    "Commit")                                                                 \
  X(Goto, "P2", true,                                                         \
    "goto P2",                                                                \
    "Jumps unconditionally to the instruction at address P2.",                \
    "")                                                                       \
  X(Integer, "P1 P2", false,                                                  \
    "r[P2]=P1",                                                               \
    "Writes the unsigned 64-bit integer P1 into register P2. Literal keys, "  \
    "counts and times (as microseconds since the Unix epoch, converted from " \
    "ISO-8601 by the compiler) are loaded this way.",                         \
    "Bytes, Param")                                                           \
  X(Bytes, "P2 P4", false,                                                    \
    "r[P2]=P4",                                                               \
    "Writes the bytes of the literal P4 into register P2. The register "      \
    "holds a view of the program's copy, so nothing is copied when the "      \
    "statement runs again.",                                                  \
    "Integer, Param")                                                         \
  X(Param, "P1 P2 P3 P4", false,                                              \
    "r[P2]=parameter P1",                                                     \
    "Writes the value bound to parameter P1 (1-based; P4 is its name, or ? "  \
    "followed by its index) into register P2, checked and converted for its " \
    "use, P3: 0 a key (an integer >= 1), 1 the key of AFTER (an integer, 0 "  \
    "allowed), 2 a count (an integer >= 1), 3 a value to append (bytes), 4 "  \
    "a time (bytes in ISO-8601, or an integer of microseconds since the "     \
    "Unix epoch; the register gets the integer), 5 a duration (an integer "   \
    "of microseconds, or bytes such as 7d), 6 a max_age (a duration, or "     \
    "none), 7 a max_bytes (an integer, or bytes such as 1GiB or none), 8 a "  \
    "max_records (an integer, or bytes such as 1000 or none), 9 a TTL (a "   \
    "duration of at least 1 and at most 2^61 microseconds); a duration is "  \
    "at most 2^63 - 1 microseconds, and none is 0. Any other value fails "    \
    "the statement with InvalidArgument naming the parameter and its "        \
    "position. "                                                              \
    "Bytes are a view of the bound copy, which lives until the next bind "   \
    "of that parameter, or with Keep::Borrow of the caller's bytes, which "   \
    "the caller keeps valid until then.",                                    \
    "Integer, Bytes")                                                         \
  X(AddImm, "P1 P2", false,                                                   \
    "r[P1]+=P2",                                                              \
    "Adds P2 to the integer in register P1.",                                 \
    "DecrJumpZero")                                                           \
  X(DecrJumpZero, "P1 P2", true,                                              \
    "if (--r[P1])==0 goto P2",                                                \
    "The counter of every loop. Register P1 must hold an integer greater "    \
    "than zero: it is decremented, and if it is zero then the program jumps " \
    "to P2; otherwise it falls through. A GET that has emitted as many rows " \
    "as its count asked for leaves its loop this way.",                       \
    "AddImm")                                                                 \
  X(Begin, "P1 P2", false,                                                    \
    "begin (write=P1, explicit=P2)",                                          \
    "Starts a transaction. With P2 = 0 it is the statement's own: if the "    \
    "statement's session (its thread's: vm/session.h) has a BEGIN open, "     \
    "the statement joins that write transaction, and otherwise it begins a "  \
    "read transaction (P1 = 0) or the write transaction (P1 = 1) that it "    \
    "owns until Commit. With P2 = 1 it is the BEGIN statement: it opens "     \
    "the session's transaction, which later statements of the session "       \
    "join until COMMIT or ROLLBACK. Fails with Misuse if one is already "     \
    "open, Busy if another writer (another thread's BEGIN included) holds "   \
    "the write lock, and ReadOnly on a read-only engine (also for P1 = 1 "    \
    "with P2 = 0).",                                                          \
    "Commit, Rollback")                                                       \
  X(Commit, "P1", false,                                                      \
    "commit (explicit=P1)",                                                   \
    "With P1 = 0, ends the statement's own transaction: a write is "          \
    "committed (durable per Options::durability when Commit returns) and a "  \
    "read is released; a statement that joined a BEGIN leaves it open. "      \
    "With P1 = 1 it is the COMMIT statement: it commits the transaction "     \
    "that BEGIN opened in the statement's session, and fails with Misuse "    \
    "if there is none. Either way the transaction is over afterwards, even "  \
    "if the commit failed.",                                                  \
    "Begin, Rollback")                                                        \
  X(Rollback, "", false,                                                      \
    "rollback",                                                               \
    "The ROLLBACK statement: discards every change made since BEGIN and "     \
    "ends the transaction of the statement's session. Fails with Misuse if "  \
    "none is open. (A statement's own write transaction is rolled back by "   \
    "the interpreter when the statement fails or is reset before its "        \
    "Commit.)",                                                               \
    "Begin, Commit")                                                          \
  X(Open, "P1 P4", false,                                                     \
    "cursor[P1]=stream P4",                                                   \
    "Resolves stream P4 through the catalog of the statement's transaction "  \
    "and opens cursor P1 on it, not positioned yet. Fails with "              \
    "NoSuchStream if the stream does not exist.",                             \
    "Seek, First, Last")                                                      \
  X(Seek, "P1 P2 P3", true,                                                   \
    "cursor[P1] to key r[P3], else goto P2",                                  \
    "Positions cursor P1 on the record whose key is the integer in register " \
    "P3. If there is no such record (never appended, or expired) the cursor " \
    "is left invalid and the program jumps to P2. One B+tree descent.",       \
    "SeekAfter, SeekBefore")                                                  \
  X(SeekAfter, "P1 P2 P3", true,                                              \
    "cursor[P1] to first key > r[P3], else goto P2",                          \
    "Positions cursor P1 on the first record whose key is greater than the "  \
    "integer in register P3 (0 means the first record). If there is none "    \
    "the cursor is left invalid and the program jumps to P2.",                \
    "Seek, SeekBefore, ScanNext")                                             \
  X(SeekBefore, "P1 P2 P3", true,                                             \
    "cursor[P1] to last key < r[P3], else goto P2",                           \
    "Positions cursor P1 on the last record whose key is less than the "      \
    "integer in register P3. If there is none the cursor is left invalid "    \
    "and the program jumps to P2.",                                           \
    "Seek, SeekAfter, ScanPrev")                                              \
  X(SeekTime, "P1 P2 P3", true,                                               \
    "cursor[P1] to first timestamp >= r[P3], else goto P2",                   \
    "Positions cursor P1 on the first record whose timestamp (microseconds "  \
    "since the Unix epoch) is at least the integer in register P3. "          \
    "Timestamps never decrease along a stream, so this is a binary search "   \
    "over keys, never a scan. If every record is older the cursor is left "   \
    "invalid and the program jumps to P2.",                                   \
    "SeekAfter")                                                              \
  X(First, "P1 P2", true,                                                     \
    "cursor[P1] to first record, else goto P2",                               \
    "Positions cursor P1 on the stream's first live record. If the stream "   \
    "is empty the cursor is left invalid and the program jumps to P2.",       \
    "Last, ScanNext")                                                         \
  X(Last, "P1 P2", true,                                                      \
    "cursor[P1] to last record, else goto P2",                                \
    "Positions cursor P1 on the stream's last record. If the stream is "      \
    "empty the cursor is left invalid and the program jumps to P2.",          \
    "First, ScanPrev")                                                        \
  X(ScanNext, "P1 P2", true,                                                  \
    "cursor[P1] forward, if a record goto P2",                                \
    "Moves cursor P1 to the next record in key order. If there is one the "   \
    "program jumps to P2 (the top of the loop); at the end of the stream "    \
    "the cursor becomes invalid and the program falls through.",              \
    "ScanPrev, Emit")                                                         \
  X(ScanPrev, "P1 P2", true,                                                  \
    "cursor[P1] back, if a record goto P2",                                   \
    "Moves cursor P1 to the previous record in key order. If there is one "   \
    "the program jumps to P2; before the first record the cursor becomes "    \
    "invalid and the program falls through. GET ... BEFORE and GET LAST use " \
    "it to step back over the records they will then emit forwards, so "      \
    "rows come in ascending key order without being buffered.",               \
    "ScanNext, First")                                                        \
  X(Emit, "P1", false,                                                        \
    "output row of cursor[P1]",                                               \
    "Yields the record under cursor P1 as a row (key, ts, value): "    \
    "step() returns true, and the next step() resumes at the next "           \
    "instruction. The value is a view of the record, valid until that next "  \
    "step(). The cursor must be valid.",                                      \
    "ResultRow, EmitInfo")                                                    \
  X(ResultRow, "P1 P2", false,                                                \
    "output row r[P1..P1+P2-1]",                                              \
    "Yields registers P1 through P1+P2-1 as a row: step() returns true, and " \
    "the next step() resumes at the next instruction. ADD returns its new "   \
    "keys this way, EXPIRE its count and VACUUM the bytes it freed.",       \
    "Emit")                                                                   \
  X(Append, "P1 P2 P3 P4", false,                                             \
    "append r[P1..P1+P2-1] to P4 with TTL r[P3], r[P1]=first key",            \
    "Appends the P2 values in registers P1 through P1+P2-1 to stream P4, in " \
    "that order, in the statement's write transaction, and puts the key of "  \
    "the first record (the others follow it densely) in register P1. "        \
    "Register P3 holds the records' TTL in microseconds; P3 = 0 means none "  \
    "(they never expire). "                                                   \
    "All or nothing: a value over the size limit fails with TooBig before "   \
    "any is appended. A missing stream is created, unless the engine was "    \
    "opened with auto_create_streams off (then NoSuchStream).",               \
    "Begin, ResultRow")                                                       \
  X(CreateStream, "P4", false,                                                \
    "create stream P4",                                                       \
    "Creates the empty stream P4 in the statement's write transaction. "      \
    "Fails with StreamExists if it exists. CREATE STREAM ... WITH follows "   \
    "it with SetRetention.",                                                  \
    "DropStream, SetRetention")                                               \
  X(DropStream, "P4", false,                                                  \
    "drop stream P4",                                                         \
    "Removes stream P4 and all its records in the statement's write "         \
    "transaction. Fails with NoSuchStream if it does not exist.",             \
    "CreateStream")                                                           \
  X(SetRetention, "P1 P2 P3 P4", false,                                       \
    "retention of P4: max_age=r[P1] max_bytes=r[P2] max_records=r[P3]",       \
    "Changes the retention of stream P4 in the statement's write "            \
    "transaction: max_age (microseconds) becomes the integer in register "    \
    "P1, max_bytes that in P2 and max_records that in P3, 0 meaning no "      \
    "limit. An operand of 0 names no register: that limit keeps the value "   \
    "the transaction sees, so ALTER STREAM changes only what it names. The "  \
    "engine enforces the limits when the transaction commits (expiring the "  \
    "oldest records until all hold). Fails with NoSuchStream if the stream "  \
    "does not exist.",                                                        \
    "CreateStream, ExpireBefore")                                             \
  X(ExpireBefore, "P1 P2 P4", false,                                          \
    "expire P4 before key r[P1], r[P2]=records expired",                      \
    "Expires the records of stream P4 whose keys are below the integer in "   \
    "register P1, in the statement's write transaction, and writes how "      \
    "many were live into register P2. Keys are never reused: the stream's "   \
    "first key advances. Fails with NoSuchStream if the stream does not "     \
    "exist.",                                                                 \
    "ExpireOlder, SetRetention")                                              \
  X(ExpireOlder, "P1 P2 P4", false,                                           \
    "expire P4 older than r[P1] us, r[P2]=records expired",                   \
    "Expires the records of stream P4 whose timestamps are older than the "   \
    "engine clock's now minus the integer in register P1 (microseconds), "    \
    "in the statement's write transaction, and writes how many were live "    \
    "into register P2. Fails with NoSuchStream if the stream does not "       \
    "exist.",                                                                 \
    "ExpireBefore")                                                           \
  X(Vacuum, "P1", false,                                                      \
    "vacuum, r[P1]=bytes freed",                                              \
    "Runs Engine::vacuum(): moves the live pages down to the start of the "   \
    "file and gives the free space after them back to the OS, in write "      \
    "transactions of its own, and writes how many bytes the file shrank by "  \
    "into register P1 (0 while another open of the file, or an older read "   \
    "transaction of this engine, could still map the space). Fails with "     \
    "Misuse inside BEGIN ... COMMIT, and ReadOnly on a read-only engine.",    \
    "")                                                                       \
  X(ListStreams, "P1 P2", true,                                               \
    "cursor[P1]=all streams, if none goto P2",                                \
    "Loads the description of every stream, in name (byte) order, into slot " \
    "P1 and positions it on the first. If there are no streams the program "  \
    "jumps to P2.",                                                           \
    "NextStream, EmitInfo")                                                   \
  X(NextStream, "P1 P2", true,                                                \
    "cursor[P1] forward, if a stream goto P2",                                \
    "Moves slot P1 to the next stream of its listing; if there is one the "   \
    "program jumps to P2, else it falls through.",                            \
    "ListStreams")                                                            \
  X(Info, "P1 P4", false,                                                     \
    "cursor[P1]=info of stream P4",                                           \
    "Loads the description of stream P4 into slot P1. Fails with "            \
    "NoSuchStream if the stream does not exist.",                             \
    "EmitInfo")                                                               \
  X(EmitInfo, "P1", false,                                                    \
    "output row of stream in cursor[P1]",                                     \
    "Yields the stream under slot P1 as a row (name, records, bytes, "        \
    "first_key, last_key, first_timestamp, last_timestamp, created, "         \
    "max_age, max_bytes, max_records); the first/last columns are null for "  \
    "an empty stream, and a retention limit of 0 is none. The next step() "   \
    "resumes at the next instruction.",                                       \
    "ListStreams, Info")
// clang-format on

namespace klite::vm {

enum class Opcode : std::uint8_t {
#define KLITE_OPCODE_ENUM(name, operands, jumps, synopsis, doc, see) name,
  KLITE_OPCODES(KLITE_OPCODE_ENUM)
#undef KLITE_OPCODE_ENUM
};

inline constexpr std::size_t kOpcodeCount = 0
#define KLITE_OPCODE_COUNT(name, operands, jumps, synopsis, doc, see) +1
    KLITE_OPCODES(KLITE_OPCODE_COUNT)
#undef KLITE_OPCODE_COUNT
    ;

// The opcode's name as EXPLAIN prints it ("SeekBefore").
std::string_view name(Opcode op) noexcept;
// "P1 P2 P3": the operands the opcode uses.
std::string_view operands(Opcode op) noexcept;
// The one-line synopsis, with P1, P2, P3 standing for the operands.
std::string_view synopsis(Opcode op) noexcept;
// True if P2 is a jump target.
bool jumps(Opcode op) noexcept;

// The synopsis with "P1", "P2", "P3" and "P4" replaced by the operands
// ("r[P2]=P1" -> "r[3]=10"): EXPLAIN's comment for an instruction.
std::string describe(Opcode op, std::uint64_t p1, std::uint64_t p2,
                     std::uint64_t p3, std::string_view p4);

// `text` with its words re-flowed into lines of at most `width` columns (a
// longer word gets a line of its own).
std::string wrap(std::string_view text, std::size_t width = 76);

// The opcode part of docs/VM.md: a summary table, then every opcode's
// entry (Opcode:, Synopsis:, its paragraph, See also:).
std::string opcode_reference();

// The whole text of docs/VM.md (vm/docs.cpp): an introduction with a worked
// example, then opcode_reference().
std::string render_docs();

} // namespace klite::vm
