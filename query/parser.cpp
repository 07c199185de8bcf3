// The query parser (query/parser.h): the one translation unit that compiles
// the X3 grammar (query/grammar_def.h), and the passes after it: statement
// texts and parameter numbering.
#include "query/parser.h"

#include "query/grammar.h"
#include "query/grammar_def.h"

#include <klite/error.h>

#include <map>
#include <string>

namespace klite::query {

namespace grammar {
BOOST_SPIRIT_INSTANTIATE(script_type, iterator_type, context_type)
script_type const& script() { return script_rule; }
} // namespace grammar

namespace {

// Numbers the parameters of a script in source order (the AST's fields
// are in source order): each `?` takes the next index; a `:name` takes the
// next index where it first appears, and later uses of the name share it.
class ParamNumbering {
public:
  void operator()(ast::Param& p) {
    if (p.name.empty()) {
      p.index = ++last_;
      return;
    }
    auto [it, fresh] = named_.try_emplace(p.name, last_ + 1);
    if (fresh)
      ++last_;
    p.index = it->second;
  }
  void operator()(ast::Number&) {}
  void operator()(ast::Duration&) {}
  void operator()(ast::Bytes&) {}
  void operator()(ast::Integer& v) { boost::apply_visitor(*this, v); }
  void operator()(ast::Value& v) { boost::apply_visitor(*this, v); }
  void operator()(ast::Amount& v) { boost::apply_visitor(*this, v); }
  void operator()(std::vector<ast::RetentionOption>& options) {
    for (auto& o : options)
      (*this)(o.value);
  }

  void operator()(ast::Add& s) {
    for (auto& v : s.values)
      (*this)(v);
    if (s.ttl)
      (*this)(*s.ttl);
  }
  void operator()(ast::GetKeys& s) {
    for (auto& k : s.keys)
      (*this)(k);
  }
  void operator()(ast::GetRange& s) {
    (*this)(s.count);
    (*this)(s.key);
  }
  void operator()(ast::GetEnd& s) { (*this)(s.count); }
  void operator()(ast::GetAfterTime& s) {
    (*this)(s.count);
    (*this)(s.time);
  }
  void operator()(ast::CreateStream& s) { (*this)(s.options); }
  void operator()(ast::AlterStream& s) { (*this)(s.options); }
  void operator()(ast::Expire& s) {
    if (s.before)
      (*this)(*s.before);
    if (s.older_than)
      (*this)(*s.older_than);
  }
  void operator()(ast::Explain& s) { (*this)(s.statement); }
  void operator()(ast::Statement& s) { boost::apply_visitor(*this, s); }
  template <typename T> void operator()(boost::spirit::x3::forward_ast<T>& f) {
    (*this)(f.get());
  }
  // Statements without parameters.
  template <typename T> void operator()(T&) {}

private:
  std::uint32_t last_ = 0;
  std::map<std::string, std::uint32_t, std::less<>> named_;
};

std::string trimmed(const char* first, const char* last) {
  while (first != last && grammar::skipper_parser::is_space(*first))
    ++first;
  while (last != first && grammar::skipper_parser::is_space(last[-1]))
    --last;
  return std::string(first, last);
}

} // namespace

ast::Script parse(std::string_view text) {
  namespace x3 = boost::spirit::x3;
  if (text.data() == nullptr)
    text = std::string_view("", 0);
  grammar::ParseState state(text);
  ast::Script script;
  const char* first = state.begin;
  bool ok = x3::phrase_parse(
      first, state.end, x3::with<grammar::state_tag>(state)[grammar::script()],
      grammar::skipper_type{}, script.statements);
  if (!ok || first != state.end) // not reached: the script rule throws
    grammar::throw_syntax(state,
                          grammar::skipper_parser::skip(first, state.end),
                          "expected a statement", 0);

  script.texts.reserve(state.statements.size());
  for (auto [begin, end] : state.statements)
    script.texts.push_back(trimmed(begin, end));

  ParamNumbering numbering;
  for (auto& statement : script.statements)
    numbering(statement);
  return script;
}

} // namespace klite::query
