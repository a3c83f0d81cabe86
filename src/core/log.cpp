#include "matrx/orm/log.hpp"

#include <cstdio>
#include <memory>
#include <mutex>

namespace matrx::orm {

namespace {
std::mutex g_mutex;
std::shared_ptr<const LogHandler> g_handler = std::make_shared<const LogHandler>(
    [](LogLevel level, std::string_view message) {
      if (level < LogLevel::warning) return;
      std::fprintf(stderr, "matrx-orm %s: %.*s\n", to_string(level), static_cast<int>(message.size()),
                   message.data());
    });
}  // namespace

void set_log_handler(LogHandler handler) {
  auto h = std::make_shared<const LogHandler>(std::move(handler));
  std::lock_guard lock(g_mutex);
  g_handler = std::move(h);
}

void log(LogLevel level, std::string_view message) {
  std::shared_ptr<const LogHandler> h;
  {
    std::lock_guard lock(g_mutex);
    h = g_handler;
  }
  if (h && *h) (*h)(level, message);
}

const char* to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::notice: return "notice";
    case LogLevel::warning: return "warning";
    case LogLevel::error: return "error";
  }
  return "?";
}

}  // namespace matrx::orm
