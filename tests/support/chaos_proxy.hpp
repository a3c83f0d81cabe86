// A TCP proxy on 127.0.0.1 in front of the test server, for the faults a real network has:
// silence (pause), resets, a connection cut after N bytes, added latency. It runs on a thread
// and io_context of its own, so a test whose io_context is stuck never stops it.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace test {

class ChaosProxy {
 public:
  /// Listens on a free port of 127.0.0.1 and forwards to target_host:target_port.
  ChaosProxy(std::string target_host, unsigned short target_port);
  /// Forwards to the test server's TCP port (PGPORT).
  ChaosProxy();
  ~ChaosProxy();
  ChaosProxy(const ChaosProxy&) = delete;
  ChaosProxy& operator=(const ChaosProxy&) = delete;

  unsigned short port() const;
  /// libpq conninfo for the test server's database and user, through the proxy.
  std::string conninfo() const;

  /// The network goes silent: nothing more is forwarded either way, and new connections
  /// are accepted but never reach the server (a black hole). Bytes are held, not lost.
  void pause();
  /// Forwards what was held, and everything after it.
  void resume();
  /// Ends every open connection with a TCP reset (both sides).
  void reset_all();
  /// Every connection opened from now on is reset once it has forwarded more than `bytes`
  /// (both directions counted); the bytes up to the limit are forwarded.
  void cut_after(std::size_t bytes);
  /// Holds every chunk this long before forwarding it.
  void delay(std::chrono::milliseconds latency);
  /// Connections accepted so far (cancel requests included: each is a connection).
  std::size_t connections_accepted() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace test
