// Its own translation unit: <linux/tcp.h> has the tcp_info fields this needs, and clashes with
// glibc's older <netinet/tcp.h>, which Asio's headers include.
#include "socket_counters.hpp"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>

namespace matrx::orm::pg::detail {

std::uint64_t tcp_bytes_received(int fd) noexcept {
  tcp_info info{};
  socklen_t length = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0 ||
      length < offsetof(tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received)
    return 0;
  return info.tcpi_bytes_received;
}

}  // namespace matrx::orm::pg::detail
