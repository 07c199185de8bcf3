// The one main() of klite-tests. Every other file under tests/ holds test
// cases only; CMake picks them up by glob, and CTest runs each TEST_CASE as
// its own test (doctest_discover_tests), by passing its name as a filter.
//
// So TEST_CASE names must be unique (CTest would run every case with that
// name under each entry), must not contain ';' (CMake splits the name, and
// the halves match nothing and "pass"), and should avoid '*' and '?'
// (doctest wildcards). Commas, colons and brackets are fine.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
