// File: tests/support/fixtures.h
//
// Reading test inputs: a whole file as bytes, and the real SSE streams in the shared fixtures
// folder beside the checkout (TD_FIXTURES_DIR; CI has it, a bare clone may not, so callers skip
// when the list is empty).
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace td::testing {

// The file's bytes; empty when it cannot be read.
inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline std::filesystem::path SseFixtureDir() {
  return std::filesystem::path(TD_FIXTURES_DIR) / "sse";
}

// Every *.sse file in SseFixtureDir(), sorted; empty when the folder is absent.
inline std::vector<std::filesystem::path> SseFixtureFiles() {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  if (!std::filesystem::is_directory(SseFixtureDir(), ec)) return files;
  for (const auto& entry : std::filesystem::directory_iterator(SseFixtureDir(), ec)) {
    if (entry.path().extension() == ".sse") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace td::testing
