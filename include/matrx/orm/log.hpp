// Logging hook. The library never prints by itself except through this hook; the default
// handler writes warnings and errors to stderr. Messages never contain passwords.
#pragma once

#include <functional>
#include <string_view>

namespace matrx::orm {

enum class LogLevel { debug, info, notice, warning, error };

using LogHandler = std::function<void(LogLevel, std::string_view message)>;

/// Replaces the handler (thread-safe). An empty handler silences the library. The handler
/// runs on the thread that produced the message and holds none of the library's locks, so
/// it may call back into the library (even into the connection that raised a notice).
void set_log_handler(LogHandler handler);
/// Sends a message to the current handler.
void log(LogLevel level, std::string_view message);
const char* to_string(LogLevel level) noexcept;

}  // namespace matrx::orm
