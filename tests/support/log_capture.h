// File: tests/support/log_capture.h
//
// LogCapture: while it lives, every log line (TD_LOG, access records, notices), from any thread,
// goes to it instead of stderr, at the level and format it was given. Its destructor puts
// stderr, the previous level and the previous format back, also when an assertion failed
// half-way through the test, so no test leaves the global sink pointing at a dead object.
//
//   testing::LogCapture log(LogLevel::kDebug);
//   ... exercise the code ...
//   EXPECT_TRUE(log.Contains("result=recorded"));
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cassette/base/log.h"
#include "tests/support/wait.h"

namespace td::testing {

class LogCapture {
 public:
  struct Line {
    LogLevel level;
    std::string text;
  };

  explicit LogCapture(LogLevel level = LogLevel::kInfo, LogFormat format = LogFormat::kText)
      : previous_level_(GetLogLevel()) {
    SetLogLevel(level);
    SetLogFormat(format);
    SetLogSink(&LogCapture::Sink, this);
  }
  ~LogCapture() {
    SetLogSink(nullptr, nullptr);  // waits for a line being written: none arrives after this
    SetLogLevel(previous_level_);
    SetLogFormat(LogFormat::kText);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // Every line so far (a copy).
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::lock_guard<std::mutex> lock(notifier_.mutex());
    for (const Line& l : lines_) out.push_back(l.text);
    return out;
  }
  // The lines logged at `level`.
  std::vector<std::string> lines(LogLevel level) const {
    std::vector<std::string> out;
    std::lock_guard<std::mutex> lock(notifier_.mutex());
    for (const Line& l : lines_) {
      if (l.level == level) out.push_back(l.text);
    }
    return out;
  }
  // How many lines contain `needle`.
  size_t Count(std::string_view needle) const {
    size_t n = 0;
    for (const std::string& l : lines()) n += l.find(needle) != std::string::npos ? 1 : 0;
    return n;
  }
  bool Contains(std::string_view needle) const { return Count(needle) > 0; }
  // Every line, one per line, for failure messages.
  std::string Text() const {
    std::string out;
    for (const std::string& l : lines()) out += l + "\n";
    return out;
  }
  // Waits until a line contains `needle`.
  [[nodiscard]] ::testing::AssertionResult WaitFor(
      std::string_view needle, std::chrono::milliseconds timeout = kWaitTimeout) {
    const std::string wanted(needle);
    return notifier_.WaitFor(
        [&] {
          for (const Line& l : lines_) {
            if (l.text.find(wanted) != std::string::npos) return true;
          }
          return false;
        },
        "a log line containing \"" + wanted + "\"", timeout);
  }

 private:
  static void Sink(LogLevel level, std::string_view line, void* arg) {
    auto* self = static_cast<LogCapture*>(arg);
    self->notifier_.Update([&] { self->lines_.push_back(Line{level, std::string(line)}); });
  }

  LogLevel previous_level_;
  mutable Notifier notifier_;  // guards lines_
  std::vector<Line> lines_;
};

}  // namespace td::testing
