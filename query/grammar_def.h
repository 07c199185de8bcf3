// The grammar of the klite query language (docs/QUERY.md has it in EBNF).
// Included by query/parser.cpp only, which instantiates it once.
//
// Sections: lexical parsers, rule IDs, rules, grammar, BOOST_SPIRIT_DEFINE.
// Error handling is the script rule's (query/error_handler.h); positions
// come from the lexical parsers and from the statement rule's on_success.
//
// Expectation points (`>`) are placed after the word that decides the
// statement form, so an error names the first token that cannot continue
// it: "GET 1 FORM s" fails at FORM with "expected FROM".
#pragma once

#include "query/ast.h"
#include "query/ast_adapted.h"
#include "query/error_handler.h"
#include "query/grammar.h"
#include "query/tokens.h"

#include <boost/spirit/home/x3.hpp>

#include <type_traits>

namespace klite::query::grammar {

// --- lexical parsers --------------------------------------------------------

constexpr keyword_parser kw_add("ADD");
constexpr keyword_parser kw_after("AFTER");
constexpr keyword_parser kw_alter("ALTER");
constexpr keyword_parser kw_before("BEFORE");
constexpr keyword_parser kw_begin("BEGIN");
constexpr keyword_parser kw_commit("COMMIT");
constexpr keyword_parser kw_create("CREATE");
constexpr keyword_parser kw_drop("DROP");
constexpr keyword_parser kw_expire("EXPIRE");
constexpr keyword_parser kw_explain("EXPLAIN");
constexpr keyword_parser kw_first("FIRST");
constexpr keyword_parser kw_from("FROM");
constexpr keyword_parser kw_get("GET");
constexpr keyword_parser kw_info("INFO");
constexpr keyword_parser kw_last("LAST");
constexpr keyword_parser kw_older("OLDER");
constexpr keyword_parser kw_rollback("ROLLBACK");
constexpr keyword_parser kw_set("SET");
constexpr keyword_parser kw_show("SHOW");
constexpr keyword_parser kw_stream("STREAM");
constexpr keyword_parser kw_streams("STREAMS");
constexpr keyword_parser kw_than("THAN");
constexpr keyword_parser kw_time("TIME");
constexpr keyword_parser kw_to("TO");
constexpr keyword_parser kw_with("WITH");
// Option names: case-insensitive like keywords, but not reserved, so they
// stay usable as stream names.
constexpr keyword_parser kw_max_age("MAX_AGE");
constexpr keyword_parser kw_max_bytes("MAX_BYTES");
constexpr keyword_parser kw_max_records("MAX_RECORDS");
// Not reserved either: TTL stands only after a stream name and VACUUM only
// where a statement starts, so neither can be read as a name.
constexpr keyword_parser kw_ttl("TTL");
constexpr keyword_parser kw_vacuum("VACUUM");

constexpr punct_parser comma(',');
constexpr punct_parser semicolon(';');
constexpr punct_parser lparen('(');
constexpr punct_parser rparen(')');
constexpr punct_parser equals('=');
constexpr end_parser end_of_input{};

constexpr number_parser number{};
constexpr param_parser param{};
constexpr literal_parser<true> value_literal{};   // string or blob
constexpr literal_parser<false> string_literal{}; // string only
constexpr ident_parser ident{};
constexpr amount_parser<Measure::Duration, false> duration{};
constexpr amount_parser<Measure::Duration, true> age_limit_word{};
constexpr amount_parser<Measure::Size, true> size_limit_word{};
constexpr amount_parser<Measure::Count, true> count_limit_word{};
constexpr nested_gen nested{};

// --- rule IDs ---------------------------------------------------------------

// The whole script; its on_error turns every failure into Error(Syntax).
struct script_class : error_handler {};

// Records the source range of each top-level statement (Script::texts).
struct top_statement_class {
  template <typename Attribute, typename Context>
  void on_success(iterator_type const& first, iterator_type const& last,
                  Attribute&, Context const& context) const {
    state(context).statements.emplace_back(first, last);
  }
};

// Sets the statement node's position to its first token (the GET of a GET
// statement, whose form-specific rule starts after the GET).
struct statement_class {
  template <typename Context>
  void on_success(iterator_type const& first, iterator_type const&,
                  ast::Statement& statement, Context const& context) const {
    ast::Pos pos = state(context).pos(first);
    boost::apply_visitor(
        [&](auto& node) {
          using T = std::decay_t<decltype(node)>;
          if constexpr (std::is_base_of_v<ast::Node, T>)
            node.pos = pos;
          else // forward_ast<Explain>
            node.get().pos = pos;
        },
        statement);
  }
};

// Sets a retention option's position to its name.
struct option_class {
  template <typename Context>
  void on_success(iterator_type const& first, iterator_type const&,
                  ast::RetentionOption& option, Context const& context) const {
    option.pos = state(context).pos(first);
  }
};

// --- rules ------------------------------------------------------------------

// The names are what a syntax error says was expected.
const x3::rule<struct top_statement_class, ast::Statement> top_statement =
    "a statement";
const x3::rule<struct statement_class, ast::Statement> statement =
    "a statement";
const x3::rule<struct add_class, ast::Add> add = "ADD";
const x3::rule<struct values_class, std::vector<ast::Value>> values =
    "a value (a string, a blob or a parameter)";
const x3::rule<struct value_class, ast::Value> value =
    "a value (a string, a blob or a parameter)";
const x3::rule<struct get_class, ast::Statement> get_body =
    "a key, a count, FIRST or LAST";
const x3::rule<struct get_keys_class, ast::GetKeys> get_keys = "GET";
const x3::rule<struct keys_class, std::vector<ast::Integer>> keys = "a key";
const x3::rule<struct key_class, ast::Integer> key = "a key";
const x3::rule<struct after_key_class, ast::Integer> after_key =
    "a key or TIME";
const x3::rule<struct count_class, ast::Integer> count = "a count";
const x3::rule<struct get_after_class, ast::GetRange> get_after = "GET";
const x3::rule<struct get_before_class, ast::GetRange> get_before = "GET";
const x3::rule<struct get_end_class, ast::GetEnd> get_end = "GET";
const x3::rule<struct get_time_class, ast::GetAfterTime> get_time = "GET";
const x3::rule<struct time_class, ast::Value> time_value =
    "a time (a string such as '2026-11-25T10:00:00Z', or a parameter)";
const x3::rule<struct create_class, ast::CreateStream> create = "CREATE";
const x3::rule<struct alter_class, ast::AlterStream> alter = "ALTER";
const x3::rule<struct options_class, std::vector<ast::RetentionOption>>
    options = "'('";
const x3::rule<struct option_class, ast::RetentionOption> option =
    "an option (max_age, max_bytes or max_records)";
const x3::rule<struct options_end_class> options_end = "',' or ')'";
const x3::rule<struct age_limit_class, ast::Amount> age_limit =
    expected_amount(Measure::Duration, true);
const x3::rule<struct size_limit_class, ast::Amount> size_limit =
    expected_amount(Measure::Size, true);
const x3::rule<struct count_limit_class, ast::Amount> count_limit =
    expected_amount(Measure::Count, true);
const x3::rule<struct drop_class, ast::DropStream> drop = "DROP";
const x3::rule<struct info_class, ast::Info> info = "INFO";
const x3::rule<struct expire_class, ast::Expire> expire = "EXPIRE";
const x3::rule<struct expire_how_class, ast::Expire> expire_how =
    "BEFORE or OLDER THAN";
const x3::rule<struct age_class, ast::Amount> age =
    expected_amount(Measure::Duration, false);
const x3::rule<struct explain_class, ast::Explain> explain = "EXPLAIN";
const script_type script_rule = "a script";

// --- grammar ----------------------------------------------------------------

// Semantic actions for the nodes that are not Fusion-adapted.
constexpr auto set_stream = [](auto& ctx) {
  x3::_val(ctx).stream = std::move(x3::_attr(ctx));
};
constexpr auto set_before = [](auto& ctx) {
  x3::_val(ctx).before = std::move(x3::_attr(ctx));
};
constexpr auto set_older_than = [](auto& ctx) {
  x3::_val(ctx).older_than = std::move(x3::_attr(ctx));
};
constexpr auto set_how = [](auto& ctx) {
  x3::_val(ctx).before = std::move(x3::_attr(ctx).before);
  x3::_val(ctx).older_than = std::move(x3::_attr(ctx).older_than);
};
constexpr auto set_statement = [](auto& ctx) {
  x3::_val(ctx).statement = std::move(x3::_attr(ctx));
};

// script = statement { ";" statement } [ ";" ] end
const auto script_rule_def = x3::eps > top_statement >
                             *((semicolon >> !end_of_input) > top_statement) >
                             -semicolon > end_of_input;

const auto top_statement_def = statement;

const auto statement_def =
    add | (kw_get > get_body) | create | alter | drop |
    (kw_show > kw_streams > x3::attr(ast::ShowStreams{})) | info |
    (kw_begin >> x3::attr(ast::Begin{})) |
    (kw_commit >> x3::attr(ast::Commit{})) |
    (kw_rollback >> x3::attr(ast::Rollback{})) |
    (kw_vacuum >> x3::attr(ast::Vacuum{})) | expire | explain;

// ADD value { "," value } TO name [TTL duration]
const auto add_def = kw_add > values > kw_to > ident > -(kw_ttl > age);
const auto values_def = value > *(comma > value);
const auto value_def = value_literal | param;

// GET FIRST|LAST n / n AFTER TIME t / n AFTER k / n BEFORE k / k {, k}
// ... FROM name. The forms share their first number, so they are tried in
// turn and commit (`>`) once the word after it decides.
const auto get_body_def =
    get_end | get_time | get_after | get_before | get_keys;
const auto get_end_def =
    ((kw_first >> x3::attr(false)) | (kw_last >> x3::attr(true))) > count >
    kw_from > ident;
const auto get_time_def =
    (count >> kw_after >> kw_time) > time_value > kw_from > ident;
const auto get_after_def =
    (count >> kw_after >> x3::attr(ast::Direction::After)) > after_key >
    kw_from > ident;
const auto get_before_def =
    (count >> kw_before >> x3::attr(ast::Direction::Before)) > key > kw_from >
    ident;
const auto get_keys_def = keys > kw_from > ident;
const auto keys_def = key > *(comma > key);
const auto key_def = number | param;
const auto after_key_def = number | param;
const auto count_def = number | param;
const auto time_value_def = string_literal | param;

// CREATE STREAM name [WITH options] / DROP STREAM name / INFO name
const auto create_def = kw_create > kw_stream > ident > -(kw_with > options);
const auto drop_def = kw_drop > kw_stream > ident[set_stream];
const auto info_def = kw_info > ident[set_stream];

// ALTER STREAM name SET options
const auto alter_def = kw_alter > kw_stream > ident > kw_set > options;

// "(" option { "," option } ")", each option `name = value`. The name
// decides what its value may be. A repeated option is the compiler's to
// reject, as key 0 is.
const auto options_def = lparen > option > *(comma > option) > options_end;
const auto options_end_def = rparen;
const auto option_def =
    ((kw_max_age >> x3::attr(ast::Limit::MaxAge)) > equals > age_limit) |
    ((kw_max_bytes >> x3::attr(ast::Limit::MaxBytes)) > equals > size_limit) |
    ((kw_max_records >> x3::attr(ast::Limit::MaxRecords)) > equals >
     count_limit);
const auto age_limit_def = age_limit_word | string_literal | param;
const auto size_limit_def = size_limit_word | string_literal | param;
const auto count_limit_def = count_limit_word | string_literal | param;

// EXPIRE name BEFORE k / EXPIRE name OLDER THAN duration
const auto expire_def = kw_expire > ident[set_stream] > expire_how[set_how];
const auto expire_how_def =
    (kw_before > key[set_before]) | (kw_older > kw_than > age[set_older_than]);
const auto age_def = duration | string_literal | param;

// EXPLAIN statement
const auto explain_def = kw_explain > nested[statement][set_statement];

BOOST_SPIRIT_DEFINE(script_rule, top_statement, statement, add, values, value,
                    get_body, get_keys, keys, key, after_key, count, get_after,
                    get_before, get_end, get_time, time_value, create, alter,
                    options, options_end, option, age_limit, size_limit,
                    count_limit, drop, info, expire, expire_how, age, explain)

} // namespace klite::query::grammar
