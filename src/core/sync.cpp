#include "matrx/orm/sync.hpp"

#include <thread>

#include <boost/asio/detail/thread_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "matrx/orm/errors.hpp"

namespace matrx::orm::detail {

namespace {
struct Runtime {
  boost::asio::io_context io{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
};
}  // namespace

boost::asio::any_io_executor sync_executor() {
  // Leaked on purpose: pools bound to it may still be referenced during static destruction.
  static Runtime* runtime = new Runtime;
  return runtime->io.get_executor();
}

void check_not_in_io_thread(const char* what) {
  // Asio pushes a thread_info on this call stack for every thread inside run()/poll().
  if (boost::asio::detail::thread_context::top_of_thread_call_stack() != nullptr)
    throw StateError(std::string(what) + " was called from a thread that is running an io_context; "
                     "co_await the operation instead (blocking here could deadlock)",
                     ErrorContext{.operation = "sync"});
}

}  // namespace matrx::orm::detail
