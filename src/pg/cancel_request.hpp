// Sending PostgreSQL's CancelRequest without blocking a thread, bounded in time.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

typedef struct pg_cancel PGcancel;  // libpq-fe.h

namespace matrx::orm::pg::detail {

/// Can send_cancel() reach the server for this connection? False when the running libpq
/// keeps its cancel key in a layout we do not know (see cancel_request.cpp): the caller
/// then discards the connection instead of cancelling.
bool can_send_cancel(const PGcancel* cancel, int backend_pid) noexcept;

/// Asks the server to cancel whatever backend `backend_pid` runs, on a socket of its own
/// driven by `executor`: connect, send the 16-byte CancelRequest, wait for the server to close
/// the socket (its acknowledgement), all within `timeout`. Takes ownership of `cancel`
/// (PQgetCancel). `done` runs on the executor with "" on success, or with the reason the
/// request could not be delivered. Nothing blocks, so nothing can hang process exit; if the
/// io_context is destroyed first, `done` never runs.
void send_cancel(boost::asio::any_io_executor executor, PGcancel* cancel, int backend_pid,
                 std::chrono::milliseconds timeout, std::function<void(std::string failure)> done);

}  // namespace matrx::orm::pg::detail
