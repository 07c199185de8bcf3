// klite shell: where the interactive loop gets its input. LineEditor is
// libedit on a terminal (emacs keys, persistent history); tests feed a
// LineSource of their own.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace klite::shell {

class LineSource {
public:
  enum class Status {
    Line,      // `line` holds one line, without its '\n'
    Cancelled, // the user pressed Ctrl-C: drop what was typed so far
    End,       // Ctrl-D on an empty line, or the end of the input
  };
  virtual ~LineSource() = default;
  virtual Status read(std::string_view prompt, std::string& line) = 0;
  // Called for every line the shell ran, for history recall.
  virtual void remember(std::string_view) {}
};

// libedit on stdin/stdout. Ctrl-C while editing cancels the input (the
// terminal's ISIG is off only while a line is edited, so Ctrl-C during a
// running statement still raises SIGINT). History holds the last
// kHistorySize lines and is saved after every line, so a killed shell
// loses none; an unreadable or unwritable history file is ignored.
class LineEditor final : public LineSource {
public:
  static constexpr int kHistorySize = 1000;

  // `history_path` empty: no history file.
  LineEditor(const char* program, std::string history_path);
  ~LineEditor() override;
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  Status read(std::string_view prompt, std::string& line) override;
  void remember(std::string_view line) override;

  // $KLITE_HISTORY if set (empty: no history), else $HOME/.klite_history,
  // else none.
  static std::string default_history_path();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace klite::shell
