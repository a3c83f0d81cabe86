// orm::sync(): run an awaitable to completion from ordinary (non-async) code.
//
// The operation runs on a process-wide background io_context (one thread, started on first
// use), so pools created by sync calls stay valid from call to call. Calling sync() from a
// thread that is running any io_context would block that context — possibly on itself —
// so it throws StateError instead of deadlocking.
#pragma once

#include <future>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

namespace matrx::orm {

namespace detail {
boost::asio::any_io_executor sync_executor();
/// Throws StateError when the calling thread is inside io_context::run() (or similar).
void check_not_in_io_thread(const char* what);
}  // namespace detail

template <class T>
T sync(boost::asio::awaitable<T> operation) {
  detail::check_not_in_io_thread("orm::sync()");
  auto future = boost::asio::co_spawn(detail::sync_executor(), std::move(operation), boost::asio::use_future);
  return future.get();
}

}  // namespace matrx::orm
