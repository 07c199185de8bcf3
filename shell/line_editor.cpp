#include "shell/line_editor.h"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include <histedit.h>

namespace klite::shell {

struct LineEditor::Impl {
  EditLine* el = nullptr;
  History* history = nullptr;
  std::string history_path;
  std::string prompt;
  bool cancelled = false;

  static Impl& of(EditLine* el) {
    void* self = nullptr;
    el_get(el, EL_CLIENTDATA, &self);
    return *static_cast<Impl*>(self);
  }
  static char* prompt_fn(EditLine* el) { return of(el).prompt.data(); }
  // Bound to Ctrl-C: ends the edit; read() then reports Cancelled.
  static unsigned char cancel_fn(EditLine* el, int) {
    of(el).cancelled = true;
    std::fputs("^C", stdout);
    return CC_NEWLINE;
  }
};

LineEditor::LineEditor(const char* program, std::string history_path)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.history_path = std::move(history_path);
  m.el = el_init(program, stdin, stdout, stderr);
  m.history = history_init();
  if (m.el == nullptr || m.history == nullptr) {
    if (m.el != nullptr)
      el_end(m.el);
    if (m.history != nullptr)
      history_end(m.history);
    throw std::runtime_error("cannot start line editing (libedit)");
  }
  HistEvent ev;
  history(m.history, &ev, H_SETSIZE, kHistorySize);
  history(m.history, &ev, H_SETUNIQUE, 1); // no consecutive duplicates
  if (!m.history_path.empty())
    history(m.history, &ev, H_LOAD, m.history_path.c_str());
  el_set(m.el, EL_CLIENTDATA, impl_.get());
  el_set(m.el, EL_EDITOR, "emacs");
  el_set(m.el, EL_PROMPT, &Impl::prompt_fn);
  el_set(m.el, EL_HIST, history, m.history);
  el_set(m.el, EL_SETTY, "-d", "-isig", nullptr);
  // The wide call keeps the static strings; the narrow el_set copies them
  // with wcsdup and never frees the copies (a libedit leak LSan reports).
  el_wset(m.el, EL_ADDFN, L"klite-cancel", L"cancel the input", &Impl::cancel_fn);
  el_set(m.el, EL_BIND, "^C", "klite-cancel", nullptr);
  el_source(m.el, nullptr); // the user's ~/.editrc, as other libedit programs do
}

LineEditor::~LineEditor() {
  el_end(impl_->el);
  history_end(impl_->history);
}

LineSource::Status LineEditor::read(std::string_view prompt, std::string& line) {
  Impl& m = *impl_;
  m.prompt.assign(prompt);
  m.cancelled = false;
  int count = 0;
  const char* text = el_gets(m.el, &count);
  if (m.cancelled) {
    std::fputs("\n", stdout);
    std::fflush(stdout);
    return Status::Cancelled;
  }
  if (text == nullptr || count <= 0) {
    std::fputs("\n", stdout);
    std::fflush(stdout);
    return Status::End;
  }
  line.assign(text, static_cast<std::size_t>(count));
  if (!line.empty() && line.back() == '\n')
    line.pop_back();
  return Status::Line;
}

void LineEditor::remember(std::string_view line) {
  Impl& m = *impl_;
  if (line.find_first_not_of(" \t\r") == std::string_view::npos)
    return;
  HistEvent ev;
  history(m.history, &ev, H_ENTER, std::string(line).c_str());
  if (!m.history_path.empty())
    history(m.history, &ev, H_SAVE, m.history_path.c_str());
}

std::string LineEditor::default_history_path() {
  if (const char* path = std::getenv("KLITE_HISTORY"))
    return path;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return std::string(home) + "/.klite_history";
  return {};
}

} // namespace klite::shell
