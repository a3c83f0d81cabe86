// libpq 15 offers only PQcancel, which blocks its thread with no bound on connect or answer
// (issue 19: two silent network paths froze every later cancel and process exit). The
// request itself is a documented 16-byte message on a fresh connection (protocol "CancelRequest"),
// so it is sent here with Asio under a deadline. Its one private input, the backend's secret
// key, lives in libpq's PGcancel, whose layout (libpq-int.h) begins as CancelKeyPrefix below in
// libpq 15, 16 and 17; libpq-int.h itself cannot be included (it needs the server headers).
// The layout is trusted only if the pid found there equals PQbackendPID and the address is
// one libpq could have connected to; otherwise can_send_cancel() says no and the connection is
// discarded instead. libpq 17's PQcancelStart would replace all this; Debian 12 ships 15.
#include "cancel_request.hpp"
#include "deadline.hpp"

#include <libpq-fe.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

namespace asio = boost::asio;

namespace matrx::orm::pg::detail {
namespace {

struct SockAddr {  // libpq's own (nested: its padding after salen is part of the layout)
  sockaddr_storage addr;
  socklen_t salen;
};
struct CancelKeyPrefix {  // struct pg_cancel, libpq 15–17: SockAddr raddr; int be_pid; int be_key; …
  SockAddr raddr;
  int backend_pid;
  int secret_key;
};

struct CancelTarget {
  sockaddr_storage address;
  socklen_t address_length;
  std::uint32_t backend_pid;
  std::uint32_t secret_key;
};

std::optional<CancelTarget> read_target(const PGcancel* cancel, int backend_pid) noexcept {
  const int major = PQlibVersion() / 10000;
  if (!cancel || backend_pid <= 0 || major < 15 || major > 17) return std::nullopt;
  CancelKeyPrefix prefix;
  std::memcpy(&prefix, cancel, sizeof prefix);
  const auto family = prefix.raddr.addr.ss_family;
  if (prefix.backend_pid != backend_pid) return std::nullopt;
  if (family != AF_INET && family != AF_INET6 && family != AF_UNIX) return std::nullopt;
  if (prefix.raddr.salen == 0 || prefix.raddr.salen > sizeof prefix.raddr.addr) return std::nullopt;
  return CancelTarget{prefix.raddr.addr, prefix.raddr.salen, static_cast<std::uint32_t>(prefix.backend_pid),
                      static_cast<std::uint32_t>(prefix.secret_key)};
}

// Connect, send, then read until the server closes the socket: only then has it looked at the
// request (libpq's PQcancel waits the same way). Any end of the read counts as that answer.
asio::awaitable<void> deliver(asio::generic::stream_protocol::socket& socket, const CancelTarget& target) {
  const asio::generic::stream_protocol::endpoint endpoint(&target.address, target.address_length, 0);
  co_await socket.async_connect(endpoint, asio::use_awaitable);
  constexpr std::uint32_t cancel_request_code = (1234u << 16) | 5678u;
  const std::array<std::uint32_t, 4> message{htonl(16), htonl(cancel_request_code), htonl(target.backend_pid),
                                             htonl(target.secret_key)};
  co_await asio::async_write(socket, asio::buffer(message), asio::use_awaitable);
  std::array<char, 64> sink;
  boost::system::error_code ended;
  co_await socket.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ended));
}

// The deadline closes the socket, which ends whatever step is waiting (detail::Deadline: not
// `deliver || timer`).
asio::awaitable<std::string> deliver_within(CancelTarget target, std::chrono::milliseconds timeout) {
  const auto ex = co_await asio::this_coro::executor;
  asio::generic::stream_protocol::socket socket(ex);
  detail::Deadline deadline(ex, timeout, [&socket] {
    boost::system::error_code ignored;
    socket.close(ignored);
  });
  std::string failure;
  try {
    co_await deliver(socket, target);
  } catch (const boost::system::system_error& e) {
    failure = fmt::format("the cancel request failed: {}", e.code().message());
  }
  if (deadline.disarm()) failure = fmt::format("no answer to the cancel request within {} ms", timeout.count());
  co_return failure;
}

}  // namespace

bool can_send_cancel(const PGcancel* cancel, int backend_pid) noexcept {
  return read_target(cancel, backend_pid).has_value();
}

void send_cancel(asio::any_io_executor executor, PGcancel* cancel, int backend_pid, std::chrono::milliseconds timeout,
                 std::function<void(std::string failure)> done) {
  const std::unique_ptr<PGcancel, decltype(&PQfreeCancel)> owned(cancel, &PQfreeCancel);
  const auto target = read_target(cancel, backend_pid);
  if (!target) {
    asio::post(executor, [done = std::move(done)] { done("this libpq's cancel key cannot be read"); });
    return;
  }
  asio::co_spawn(executor, deliver_within(*target, timeout),
                 [done = std::move(done)](std::exception_ptr error, std::string failure) {
                   done(error ? std::string("the cancel request failed") : std::move(failure));
                 });
}

}  // namespace matrx::orm::pg::detail
