// Tables generated from KLITE_OPCODES (vm/opcodes.h).
#include "vm/opcodes.h"

#include <array>

namespace klite::vm {

namespace {

struct OpcodeInfo {
  std::string_view name;
  std::string_view operands;
  bool jumps;
  std::string_view synopsis;
  std::string_view doc;
  std::string_view see_also;
};

constexpr std::array<OpcodeInfo, kOpcodeCount> kInfo = {{
#define KLITE_OPCODE_INFO(name, operands, jumps, synopsis, doc, see)           \
  {#name, operands, jumps, synopsis, doc, see},
    KLITE_OPCODES(KLITE_OPCODE_INFO)
#undef KLITE_OPCODE_INFO
}};

const OpcodeInfo& info(Opcode op) noexcept {
  return kInfo[static_cast<std::size_t>(op)];
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos;
       at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

} // namespace

std::string wrap(std::string_view text, std::size_t width) {
  std::string out;
  std::size_t line = 0;
  while (!text.empty()) {
    std::size_t sp = text.find(' ');
    std::string_view word = text.substr(0, sp);
    text =
        sp == std::string_view::npos ? std::string_view() : text.substr(sp + 1);
    if (word.empty())
      continue;
    if (line > 0 && line + 1 + word.size() > width) {
      out += '\n';
      line = 0;
    } else if (line > 0) {
      out += ' ';
      ++line;
    }
    out += word;
    line += word.size();
  }
  return out;
}

std::string_view name(Opcode op) noexcept { return info(op).name; }
std::string_view operands(Opcode op) noexcept { return info(op).operands; }
std::string_view synopsis(Opcode op) noexcept { return info(op).synopsis; }
bool jumps(Opcode op) noexcept { return info(op).jumps; }

std::string describe(Opcode op, std::uint64_t p1, std::uint64_t p2,
                     std::uint64_t p3, std::string_view p4) {
  std::string s(info(op).synopsis);
  // A register range first, so its arithmetic is done rather than shown.
  if (s.find("P1..P1+P2-1") != std::string::npos) {
    std::string range = std::to_string(p1);
    if (p2 != 1)
      range += ".." + std::to_string(p1 + p2 - 1);
    replace_all(s, "P1..P1+P2-1", range);
  }
  replace_all(s, "P1", std::to_string(p1));
  replace_all(s, "P2", std::to_string(p2));
  replace_all(s, "P3", std::to_string(p3));
  replace_all(s, "P4", p4);
  return s;
}

std::string opcode_reference() {
  std::string out;
  out += "| opcode | operands | synopsis |\n";
  out += "|---|---|---|\n";
  for (const OpcodeInfo& i : kInfo) {
    out += "| [`";
    out += i.name;
    out += "`](#";
    for (char c : i.name)
      out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    out += ") | ";
    out += i.operands.empty() ? "-" : i.operands;
    out += " | `";
    out += i.synopsis;
    out += "` |\n";
  }
  for (const OpcodeInfo& i : kInfo) {
    out += "\n### ";
    out += i.name;
    out += "\n\n`Opcode: ";
    out += i.name;
    if (!i.operands.empty()) {
      out += ' ';
      out += i.operands;
    }
    out += "`\n\nSynopsis: `";
    out += i.synopsis;
    out += "`\n\n";
    std::string doc(i.doc);
    if (i.jumps)
      doc += " P2 is a jump target.";
    out += wrap(doc);
    out += "\n";
    if (!i.see_also.empty()) {
      out += "\nSee also: ";
      out += i.see_also;
      out += ".\n";
    }
  }
  return out;
}

} // namespace klite::vm
