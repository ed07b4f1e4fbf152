// File: bench/agent_traffic.h
//
// Deterministic, realistic LLM agent traffic for the benches: prose from a fixed word list, a
// coding agent's system prompt and tool schemas, tool output, and Anthropic SSE events. The same
// seed gives the same bytes on every platform. Header-only; used by compression_bench and
// cassette_load_bench.
#pragma once

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>

#include "cassette/json_mapping.h"

namespace td::bench::traffic {

using td::cassette::Json;

// Deterministic pseudo-random numbers (a 64-bit LCG; the same on every platform).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint32_t Next() {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(state_ >> 33);
  }
  size_t Below(size_t n) { return Next() % n; }

 private:
  std::uint64_t state_;
};

inline constexpr const char* kWords[] = {
    "the",        "a",         "file",       "function",    "test",       "before",  "after",
    "always",     "never",     "user",       "request",     "response",   "change",  "code",
    "repository", "branch",    "commit",     "error",       "when",       "should",  "must",
    "use",        "tool",      "call",       "result",      "output",     "input",   "path",
    "directory",  "search",    "pattern",    "line",        "number",     "read",    "write",
    "edit",       "run",       "command",    "shell",       "check",      "verify",  "explain",
    "concise",    "answer",    "question",   "task",        "step",       "plan",    "context",
    "project",    "module",    "import",     "build",       "compile",    "warning", "style",
    "format",     "existing",  "convention", "library",     "dependency", "version", "config",
    "option",     "value",     "string",     "list",        "object",     "field",   "type",
    "schema",     "parameter", "default",    "required",    "optional",   "return",  "status",
    "message",    "important", "prefer",     "avoid",       "only",       "all",     "each",
    "every",      "instead",   "other",      "same",        "new",        "old",     "first",
    "last",       "next",      "then",       "if",          "and",        "or",      "not",
    "with",       "without",   "from",       "into",        "for",        "to",      "of",
    "in",         "on",        "by",         "is",          "are",        "be",      "it",
    "this",       "that",      "you",        "your",        "they",       "we",      "can",
    "may",        "do",        "does",       "make",        "keep",       "add",     "remove",
    "update",     "create",    "delete",     "find",        "open",       "close",   "save",
    "load",       "parse",     "serialize",  "stream",      "event",      "timeout", "retry",
    "network",    "cache",     "memory",     "performance", "security",   "secret",  "key",
    "token",      "log"};

inline std::string Sentence(Rng& rng) {
  std::string out;
  const size_t n = 8 + rng.Below(14);
  for (size_t i = 0; i < n; ++i) {
    std::string word = kWords[rng.Below(sizeof kWords / sizeof kWords[0])];
    if (i == 0) word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
    if (i > 0) out += ' ';
    out += word;
    if (i + 1 < n && rng.Below(9) == 0) out += ',';
  }
  out += '.';
  return out;
}

inline std::string Paragraph(Rng& rng, size_t sentences) {
  std::string out;
  for (size_t i = 0; i < sentences; ++i) {
    if (i > 0) out += ' ';
    out += Sentence(rng);
  }
  return out;
}

// A coding agent's system prompt: headed sections of bullets and prose, about `target` bytes.
inline std::string SystemPrompt(size_t target) {
  Rng rng(1);
  const char* sections[] = {
      "Identity",     "Tone and style",  "Proactiveness", "Following conventions",
      "Code style",   "Task management", "Doing tasks",   "Tool usage policy",
      "Git workflow", "Security",        "Environment"};
  std::string out =
      "You are an interactive command line agent that helps users with software engineering "
      "tasks. Use the instructions below and the tools available to you to assist the user.\n";
  size_t s = 0;
  while (out.size() < target) {
    out += "\n# ";
    out += sections[s++ % (sizeof sections / sizeof sections[0])];
    out += "\n";
    out += Paragraph(rng, 3 + rng.Below(3));
    out += "\n";
    const size_t bullets = 4 + rng.Below(5);
    for (size_t b = 0; b < bullets; ++b) out += "- " + Paragraph(rng, 1 + rng.Below(2)) + "\n";
  }
  out += "\nToday's date is 2026-11-21. Working directory: /home/dev/project.\n";
  return out;
}

inline Json Tools() {
  Rng rng(2);
  const char* names[] = {"read_file", "write_file", "edit_file", "list_directory", "glob",
                         "grep",      "run_shell",  "web_fetch", "web_search",     "todo_write",
                         "ask_user",  "git_status", "git_diff",  "run_tests",      "notebook_edit"};
  const char* params[] = {"path",    "pattern", "content", "old_string", "new_string",
                          "command", "timeout", "limit",   "offset",     "url",
                          "query",   "todos",   "glob",    "recursive",  "description"};
  Json tools = Json::array();
  for (const char* name : names) {
    Json properties = Json::object();
    Json required = Json::array();
    const size_t n = 2 + rng.Below(4);
    for (size_t p = 0; p < n; ++p) {
      const std::string param = params[rng.Below(sizeof params / sizeof params[0])];
      Json prop = Json::object();
      const size_t kind = rng.Below(4);
      prop["type"] = kind == 0 ? "integer" : kind == 1 ? "boolean" : "string";
      prop["description"] = Sentence(rng);
      properties[param] = std::move(prop);
      if (rng.Below(2) == 0) required.push_back(param);
    }
    Json schema = Json::object();
    schema["type"] = "object";
    schema["properties"] = std::move(properties);
    schema["required"] = std::move(required);
    schema["additionalProperties"] = false;
    schema["$schema"] = "http://json-schema.org/draft-07/schema#";
    Json tool = Json::object();
    tool["name"] = name;
    tool["description"] = Paragraph(rng, 1 + rng.Below(3));
    tool["input_schema"] = std::move(schema);
    tools.push_back(std::move(tool));
  }
  return tools;
}

// Tool output: a source file with a few hundred lines of plausible code, new each turn.
inline std::string ToolOutput(Rng& rng) {
  std::string out;
  const size_t lines = 12 + rng.Below(30);
  for (size_t i = 0; i < lines; ++i) {
    out += std::to_string(i + 1) + "\t";
    switch (rng.Below(5)) {
      case 0:
        out += "// " + Sentence(rng);
        break;
      case 1:
        out += "  if (" + std::string(kWords[rng.Below(40)]) + "_ == nullptr) return;";
        break;
      case 2:
        out += "  auto " + std::string(kWords[rng.Below(60)]) + " = Load(\"" +
               std::string(kWords[rng.Below(60)]) + "\", " + std::to_string(rng.Below(1000)) + ");";
        break;
      case 3:
        out += "}";
        break;
      default:
        out += "  " + std::string(kWords[rng.Below(80)]) + "->" +
               std::string(kWords[rng.Below(80)]) + "(" + std::to_string(rng.Below(100)) + ");";
    }
    out += "\n";
  }
  return out;
}

inline std::string SseEvent(const std::string& type, const Json& data) {
  return "event: " + type + "\ndata: " + data.dump() + "\n\n";
}

}  // namespace td::bench::traffic
