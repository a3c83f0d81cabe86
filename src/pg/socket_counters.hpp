// What the kernel counts on a connection's socket.
#pragma once

#include <cstdint>

namespace matrx::orm::pg::detail {

/// Bytes the kernel has received on a TCP socket since it opened (TCP_INFO's
/// tcpi_bytes_received, read or not); 0 for other sockets or when unavailable.
std::uint64_t tcp_bytes_received(int fd) noexcept;

}  // namespace matrx::orm::pg::detail
