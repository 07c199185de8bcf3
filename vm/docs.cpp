// docs/VM.md, generated: the prose below, a worked example compiled by the
// real compiler, and the opcode reference from KLITE_OPCODES. The test
// "VM: docs/VM.md matches the opcode table" compares the file with this, and
// `cmake --build build --target vm-docs` rewrites it.
#include "vm/compiler.h"
#include "vm/opcodes.h"
#include "vm/program.h"

namespace klite::vm {

namespace {

// GET 3 BEFORE 10 FROM payments, as the parser would hand it over.
Program example() {
  namespace ast = query::ast;
  ast::GetRange g;
  g.pos = {1, 1};
  ast::Number count;
  count.pos = {1, 5};
  count.value = 3;
  g.count = count;
  g.direction = ast::Direction::Before;
  ast::Number key;
  key.pos = {1, 14};
  key.value = 10;
  g.key = key;
  g.stream.pos = {1, 22};
  g.stream.name = "payments";
  return compile(ast::Statement(g), "GET 3 BEFORE 10 FROM payments");
}

constexpr const char* kIntro = R"(# The klite VM

<!-- Generated from vm/opcodes.h and vm/docs.cpp; do not edit. Rebuild with
     `cmake --build build --target vm-docs`. -->

Every statement of the query language (docs/QUERY.md) is compiled to a
*program*: a flat vector of instructions `{opcode, p1, p2, p3, p4}` with
jumps, in the manner of SQLite's VDBE. `Engine::prepare` compiles once; each
run of the statement interprets the same program again with the parameters
bound at that time. `EXPLAIN <statement>` returns the program instead of
running it, one row per instruction (`addr, opcode, p1, p2, p3, p4,
comment`), and `Statement::explain()` prints the same table.

## The machine

- **Registers** `r[1]`, `r[2]`, ... each hold a null, an unsigned 64-bit
  integer, or bytes. Bytes are views: of a literal inside the program, or of
  a bound parameter (the statement's copy, or the caller's bytes bound with
  `Keep::Borrow`), so loading them copies nothing.
- **Cursor slots** `cursor[0]`, `cursor[1]`, ... each hold a cursor of the
  native API (`klite::Cursor`, positioned by key, by time, at either end, and
  moved one record at a time) or, for `SHOW STREAMS` and `INFO`, stream
  descriptions.
- **The transaction.** `Begin` gives a statement its transaction. Outside
  `BEGIN ... COMMIT` a statement owns one: a read transaction for reads, which
  it holds until it is done or reset, and the write transaction for writes,
  which its `Commit` commits before the first row (so `ADD` returns keys that
  are already committed). When the statement fails, or is reset before its
  `Commit`, that write transaction is rolled back. Inside `BEGIN ... COMMIT`
  every statement of the session, reads included, runs in its open write
  transaction, and `Commit 0` leaves it open. A session is a thread's: an
  `exec()` script's statements run in the caller's, a prepared statement
  in that of the thread that starts it (`vm/session.h`).
- **Rows.** `Emit`, `EmitInfo` and `ResultRow` yield one row and suspend the
  program: `Statement::step()` (or `Result::next()`) returns, and the next
  call resumes at the following instruction. Nothing is buffered, so
  `GET 1000000 AFTER 0` holds one record at a time.
- **Errors** end the program. Each instruction keeps the source position of
  the statement part it came from, so a run-time error names the place, e.g.
  `line 1, col 13: no such stream: payments`.

Rows always come in ascending key order. `GET n BEFORE k` and `GET LAST n`
therefore position on the last record they return, step back over the
others with `ScanPrev`, and then emit forwards with `ScanNext`.

## A worked example

`EXPLAIN GET 3 BEFORE 10 FROM payments`:

```
)";

} // namespace

std::string render_docs() {
  std::string out = kIntro;
  out += format(example());
  out += "```\n\n";
  out += wrap("Addresses 0-1 load the literals; 2-3 begin a read transaction "
              "(or join an open BEGIN) and open a cursor; 4 positions it on "
              "key 9, the last below 10; 5-11 step back over up to two more "
              "records, counting them in r[3] (8 starts again at the first "
              "record if the stream has fewer); 12-14 emit them forwards, in "
              "ascending key order; 15 releases the transaction.");
  out += "\n\n## Opcodes\n\n";
  out += opcode_reference();
  return out;
}

} // namespace klite::vm
